"""Written contributions: papers delegates send before (and during) a round table, per agenda
item, within a window the secretariat sets; the moderators publish them, ask for changes or
decline them, and the published ones are annexed to the minutes and the submission package.

Re-exported by forum/models/__init__.py; imports rooms.py, never the reverse.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from forum.models.rooms import AgendaItem, RoundTable, Seat, new_public_id

DEFAULT_WORD_LIMIT = 2000


class ContributionWindow(models.Model):
    """When contributions are taken, and how long they may be: for the whole round table
    (`agenda_item` empty) or for one item, which then overrides the round table's window."""

    room = models.ForeignKey(
        RoundTable, on_delete=models.CASCADE, related_name="contribution_windows"
    )
    agenda_item = models.ForeignKey(
        AgendaItem, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # None: open from the moment the window is set.
    opens_at = models.DateTimeField(null=True, blank=True)
    closes_at = models.DateTimeField()
    word_limit = models.PositiveIntegerField(default=DEFAULT_WORD_LIMIT)

    class Meta:
        ordering = ["room", "agenda_item__position"]
        constraints = [
            models.UniqueConstraint(
                fields=["room", "agenda_item"], name="contribution_window_unique"
            ),
            models.UniqueConstraint(
                fields=["room"],
                condition=models.Q(agenda_item__isnull=True),
                name="contribution_window_room_unique",
            ),
        ]


class Contribution(models.Model):
    """A delegate's written contribution to one agenda item.

    Every contribution waits for the moderators (`held`); what names a participant is marked
    for them (`mentions`, with the place: the text, the summary, or the attachment's page).
    Asked for changes, its author edits it and sends it again (`revision` + 1)."""

    class Status(models.TextChoices):
        HELD = "held", _("Waiting for the moderators")
        CHANGES_REQUESTED = "changes_requested", _("Changes requested")
        PUBLISHED = "published", _("Published")
        DECLINED = "declined", _("Declined")

    class Attachment(models.TextChoices):
        NONE = "", _("None")
        PDF = "pdf", "PDF"
        DOCX = "docx", "DOCX"

    room = models.ForeignKey(RoundTable, on_delete=models.CASCADE, related_name="contributions")
    seat = models.ForeignKey(Seat, on_delete=models.PROTECT, related_name="contributions")
    agenda_item = models.ForeignKey(
        AgendaItem, on_delete=models.PROTECT, related_name="contributions"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.HELD)
    body_md = models.TextField()
    body_html = models.TextField()
    summary_md = models.TextField(blank=True)
    summary_html = models.TextField(blank=True)
    words = models.PositiveIntegerField(default=0)
    # The label it is published under, fixed when it was sent (as an intervention's).
    attribution = models.JSONField(default=dict)
    # The file as sent (at most 10 MiB), its kind, size and SHA-256; its text as extracted,
    # by place ([{"place": "page", "number": 2, "text": ...}]), for the leak check.
    attachment = models.BinaryField(null=True, blank=True)
    attachment_kind = models.CharField(
        max_length=8, choices=Attachment.choices, default=Attachment.NONE, blank=True
    )
    attachment_bytes = models.PositiveIntegerField(default=0)
    attachment_sha256 = models.CharField(max_length=64, blank=True)
    attachment_parts = models.JSONField(default=list)
    # What the leak guard found when it was last sent: [{"where", "number", "text", "excerpt"}].
    mentions = models.JSONField(default=list)
    # The moderators' words to the author (changes asked for, or why it was declined).
    note = models.TextField(blank=True)
    revision = models.PositiveIntegerField(default=1)
    public_id = models.CharField(max_length=16, default=new_public_id, editable=False, unique=True)
    submitted_at = models.DateTimeField(default=timezone.now)
    published_at = models.DateTimeField(null=True, blank=True)
    # Published without the attachment (it named someone and could not be redacted).
    attachment_withheld = models.BooleanField(default=False)
    decided_by = models.ForeignKey(
        Seat, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["room", "submitted_at", "pk"]
        indexes = [
            models.Index(fields=["room", "status"], name="contribution_room_status"),
        ]

    @property
    def has_attachment(self) -> bool:
        return bool(self.attachment_kind) and not self.attachment_withheld
