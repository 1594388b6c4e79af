"""The e-mail outbox: every message the product sends, queued in the transaction of the change
that causes it and sent by `manage.py send_mail` (forum/services/mail.py)."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from forum.models.rooms import RoundTable, Seat


class OutboxMessage(models.Model):
    class Kind(models.TextChoices):
        INVITATION = "invitation", _("Invitation")
        UPDATE = "update", _("New date or place")
        CANCELLATION = "cancellation", _("Cancellation")
        REVIEW_OPENED = "review_opened", _("Review opened")
        MINUTES_ADOPTED = "minutes_adopted", _("Minutes adopted")
        SUBMISSION_STEP = "submission_step", _("Submission step")
        FOLLOW_UP = "follow_up", _("Follow-up update")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")  # refused for good, or out of attempts: a bounce
        HELD = "held", _("Held")  # the leak guard found another participant's identity

    room = models.ForeignKey(
        RoundTable, null=True, blank=True, on_delete=models.CASCADE, related_name="outbox"
    )
    seat = models.ForeignKey(
        Seat, null=True, blank=True, on_delete=models.SET_NULL, related_name="outbox"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    recipient = models.EmailField(max_length=254)
    subject = models.CharField(max_length=300)
    text = models.TextField()
    html = models.TextField(blank=True)
    # [{"filename", "content_type", "content"}]: text attachments (the .ics), stored as sent.
    attachments = models.JSONField(default=list, blank=True)
    language = models.CharField(max_length=8)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    # Why a message is held or failed, for the secretariat (never a participant's identity).
    status_reason = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    message_id = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="outbox_due")]


class MailAttempt(models.Model):
    class Result(models.TextChoices):
        SENT = "sent", _("Sent")
        RETRY = "retry", _("Refused for now: tried again later")
        FAILED = "failed", _("Refused for good")
        INTERRUPTED = "interrupted", _("Interrupted")

    message = models.ForeignKey(OutboxMessage, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    at = models.DateTimeField(default=timezone.now)
    result = models.CharField(max_length=12, choices=Result.choices, default=Result.INTERRUPTED)
    smtp_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["message", "number"]
