"""What a round table leaves behind: minutes versions, review comments, committees,
submissions with their status history and follow-up, and the webhook outbox.

Re-exported by forum/models/__init__.py; imports rooms.py, never the reverse.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from forum.models.rooms import AgendaItem, Recommendation, RoundTable, Seat, new_public_id


class MinutesVersion(models.Model):
    """One save of the minutes: the whole document as it stood, frozen.

    A version is never changed after it is saved (services only create them); adopting one
    only stamps it. `document` is the content the hash covers
    (forum.minutes.document.content_sha256).
    """

    room = models.ForeignKey(RoundTable, on_delete=models.CASCADE, related_name="minutes_versions")
    number = models.PositiveIntegerField()
    summaries = models.JSONField(default=dict)  # {agenda item public id: Markdown}
    document = models.JSONField()
    content_sha256 = models.CharField(max_length=64)
    note = models.CharField(max_length=500, blank=True)
    saved_by = models.ForeignKey(Seat, null=True, on_delete=models.PROTECT, related_name="+")
    saved_at = models.DateTimeField(default=timezone.now)
    review_opened_at = models.DateTimeField(null=True, blank=True)
    review_until = models.DateTimeField(null=True, blank=True)
    review_closed_at = models.DateTimeField(null=True, blank=True)
    adopted_at = models.DateTimeField(null=True, blank=True)
    adopted_by = models.ForeignKey(
        Seat, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The room's audit chain at adoption (its adoption entry included): that entry's seq and
    # MAC, printed in every export so that the committee holds a copy (verify_audit --head).
    audit_seq = models.PositiveBigIntegerField(null=True, blank=True)
    audit_head = models.CharField(max_length=64, blank=True)
    # Review comments not marked addressed when it was adopted (the chair confirmed them).
    open_comments = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["room", "number"]
        constraints = [
            models.UniqueConstraint(fields=["room", "number"], name="minutes_version_unique"),
        ]

    @property
    def in_review(self) -> bool:
        """Circulated, not ended, and not past its end date (a review ends by itself then)."""
        return (
            self.review_opened_at is not None
            and self.review_closed_at is None
            and (self.review_until is None or self.review_until > timezone.now())
        )

    @property
    def status(self) -> str:
        if self.adopted_at:
            return "adopted"
        return "in_review" if self.in_review else "draft"

    def __str__(self) -> str:
        return f"{self.room.slug} minutes v{self.number} ({self.status})"


class MinutesComment(models.Model):
    """A review comment on a version, attributed by the room's policy like an intervention."""

    version = models.ForeignKey(MinutesVersion, on_delete=models.CASCADE, related_name="comments")
    seat = models.ForeignKey(Seat, on_delete=models.PROTECT, related_name="+")
    agenda_item = models.ForeignKey(
        AgendaItem, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    body_md = models.TextField()
    body_html = models.TextField()
    attribution = models.JSONField(default=dict)
    public_id = models.CharField(max_length=16, default=new_public_id, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    # The rapporteur's answer: addressed (True), not addressed (False), or none yet (None).
    # Adopting a version with comments not marked addressed needs the chair's confirmation.
    addressed = models.BooleanField(null=True, blank=True)

    class Meta:
        ordering = ["version", "created_at", "pk"]


class Committee(models.Model):
    """A RIGO body that receives submissions: the secretariat's registry."""

    name = models.CharField(max_length=300)
    rigo = models.CharField(
        "RIGO", max_length=200, help_text="The organization the committee belongs to."
    )
    working_languages = models.CharField(
        max_length=200, blank=True, help_text="Comma-separated language codes, e.g. en, fr, es, pt."
    )
    address = models.TextField(
        blank=True, help_text="The committee secretariat's postal or e-mail address."
    )
    webhook_url = models.URLField(
        blank=True,
        validators=[URLValidator(schemes=["https", "http"])],
        help_text="Optional: submissions are announced here by a signed POST (docs/webhooks.md).",
    )
    webhook_secret = models.CharField(
        max_length=200,
        blank=True,
        help_text="Shared secret for the HMAC-SHA256 signature of webhook POSTs.",
    )
    accepts = models.TextField(blank=True, help_text="Notes on what the committee accepts and how.")
    public_id = models.CharField(max_length=16, default=new_public_id, editable=False, unique=True)

    class Meta:
        ordering = ["rigo", "name"]
        constraints = [
            models.UniqueConstraint(fields=["rigo", "name"], name="committee_unique_name")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.rigo})"

    def clean(self) -> None:
        # An unsigned announcement could be forged by anyone who knows the URL.
        if self.webhook_url and not self.webhook_secret.strip():
            raise ValidationError(
                {"webhook_secret": "A webhook needs a shared secret to sign its POSTs."}
            )

    @property
    def languages(self) -> list[str]:
        return [code.strip() for code in self.working_languages.split(",") if code.strip()]


class Submission(models.Model):
    """Adopted minutes plus chosen recommendations, addressed to a committee."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Submitted")
        RECEIVED = "received", _("Received")
        UNDER_CONSIDERATION = "under_consideration", _("Under consideration")
        ENDORSED = "endorsed", _("Endorsed")
        NOTED = "noted", _("Noted")
        DECLINED = "declined", _("Declined")

    room = models.ForeignKey(RoundTable, on_delete=models.PROTECT, related_name="submissions")
    version = models.ForeignKey(
        MinutesVersion, on_delete=models.PROTECT, related_name="submissions"
    )
    committee = models.ForeignKey(Committee, on_delete=models.PROTECT, related_name="submissions")
    recommendations = models.ManyToManyField(
        Recommendation, through="FollowUp", related_name="submissions"
    )
    cover_letter = models.TextField()
    status = models.CharField(max_length=30, choices=Status.choices, default=Status.DRAFT)
    # Built once, when submitted: the bytes the manifest's hashes describe.
    package = models.BinaryField(null=True, blank=True, editable=False)
    package_sha256 = models.CharField(max_length=64, blank=True)
    manifest = models.JSONField(null=True, blank=True)
    public_id = models.CharField(max_length=16, default=new_public_id, editable=False, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.room.slug} to {self.committee.name} ({self.status})"


class SubmissionStep(models.Model):
    """One entry of a submission's status history."""

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="steps")
    status = models.CharField(max_length=30, choices=Submission.Status.choices)
    date = models.DateField()
    note = models.TextField(blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["submission", "recorded_at", "pk"]


class FollowUp(models.Model):
    """What became of one recommendation of one submission."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        IN_PROGRESS = "in_progress", _("In progress")
        IMPLEMENTED = "implemented", _("Implemented")
        NOT_PURSUED = "not_pursued", _("Not pursued")

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="follow_ups")
    recommendation = models.ForeignKey(
        Recommendation, on_delete=models.PROTECT, related_name="follow_ups"
    )
    # The recommendation as the adopted minutes state it (the live one may be edited later).
    text_md = models.TextField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    reference = models.CharField(
        max_length=300, blank=True, help_text="The committee's mandate or decision reference."
    )
    owner = models.CharField(max_length=300, blank=True)
    due_date = models.DateField(null=True, blank=True)
    public_id = models.CharField(max_length=16, default=new_public_id, editable=False, unique=True)

    class Meta:
        ordering = ["submission", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["submission", "recommendation"], name="follow_up_once"),
        ]


class FollowUpUpdate(models.Model):
    follow_up = models.ForeignKey(FollowUp, on_delete=models.CASCADE, related_name="updates")
    date = models.DateField()
    note = models.TextField()
    changes = models.JSONField(default=dict)  # {field: [before, after]}
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["follow_up", "recorded_at", "pk"]


class WebhookDelivery(models.Model):
    """The outbox: one signed POST to a committee's endpoint, retried with backoff."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        DELIVERED = "delivered", _("Delivered")
        FAILED = "failed", _("Failed")  # gave up after the last attempt

    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="deliveries")
    url = models.URLField()
    event = models.CharField(max_length=60)
    payload = models.JSONField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["next_attempt_at", "pk"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="webhook_due")]


class DeliveryAttempt(models.Model):
    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log"
    )
    number = models.PositiveIntegerField()
    at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["delivery", "number"]


class HeldText(models.Model):
    """A review comment or a note that names a participant or an organization of the room:
    held for the rapporteur and the chair, who publish it (redacted) or decline it.

    Its author is told only that it waits; its readers see nothing of it until it is
    published. The original stays here for the audit, as an intervention's does.
    """

    class Kind(models.TextChoices):
        COMMENT = "comment", _("Review comment")
        VERSION_NOTE = "version_note", _("Note of a version of the minutes")
        STEP_NOTE = "step_note", _("Note of a submission's step")
        FOLLOW_UP_NOTE = "follow_up_note", _("Note of a follow-up update")

    class Status(models.TextChoices):
        HELD = "held", _("Held")
        PUBLISHED = "published", _("Published")
        DECLINED = "declined", _("Declined")

    room = models.ForeignKey(RoundTable, on_delete=models.CASCADE, related_name="held_texts")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.HELD)
    text_md = models.TextField()
    # Who wrote it: a seat holder, or the secretariat (a staff account) for submission notes.
    seat = models.ForeignKey(
        Seat, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The label a held comment will be published under, fixed when it was written.
    attribution = models.JSONField(default=dict)
    # Where it goes once published: the version (a comment on it, or its note), the agenda
    # item a comment is about, the submission step or the follow-up update it is the note of.
    version = models.ForeignKey(
        MinutesVersion, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    agenda_item = models.ForeignKey(
        AgendaItem, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    step = models.ForeignKey(
        SubmissionStep, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    update = models.ForeignKey(
        FollowUpUpdate, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    comment = models.ForeignKey(
        MinutesComment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    public_id = models.CharField(max_length=16, default=new_public_id, editable=False, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        Seat, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["room", "created_at", "pk"]
        indexes = [models.Index(fields=["seat", "created_at"], name="held_text_seat_time")]


class NameStatement(models.Model):
    """Someone who runs the room stated that words the leak guard takes for a participant are
    not one (a common word that is also a surname: "the harbour", Dana Harbour). Texts they
    published with that statement would otherwise make every export of the minutes refuse
    (the export's leak check reads the same words): the check skips a match of these words
    while the statement stands. Withdrawn, they are a match again. `words` is the match as
    the guard folds it (letters and digits, casefolded), never a whole identity."""

    room = models.ForeignKey(RoundTable, on_delete=models.CASCADE, related_name="name_statements")
    words = models.CharField(max_length=200)
    shown = models.CharField(max_length=200)  # the words as they were written, for the page
    field = models.CharField(max_length=40, blank=True)
    target = models.CharField(max_length=64, blank=True)
    reason = models.TextField()
    stated_by = models.ForeignKey(
        Seat, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    stated_at = models.DateTimeField(default=timezone.now)
    withdrawn_by = models.ForeignKey(
        Seat, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    public_id = models.CharField(max_length=16, default=new_public_id, editable=False, unique=True)

    class Meta:
        ordering = ["room", "stated_at", "pk"]
