"""E-mail: an outbox, sent with retries (the shape of forum/services/delivery.py).

`queue_mail` stores a message in the caller's transaction, so it exists exactly when the
change that causes it does; `send_due` (run by `manage.py send_mail`) sends what is due. Every
outgoing message of a Chatham House room goes through the leak guard first: one that would
carry another participant's name, e-mail or organization is stored as held, never sent.

Each attempt is claim, commit, send, record: the claim counts the attempt, logs it as
interrupted and moves `next_attempt_at` a lease ahead in one short transaction (taking the row
with SKIP LOCKED where the database can, so two senders never take the same message); the SMTP
exchange happens outside any transaction; a second short transaction marks the message sent or
schedules the retry. A server that refuses for now (4xx, or no answer) delays the message; a
permanent refusal of the recipient (5xx) fails it at once: a bounce. The only way a message goes
out twice is a sender killed between the server's acceptance and the record: it carries the
same Message-ID both times, which mail programs use to drop the copy.
"""

from __future__ import annotations

import logging
import re
import smtplib
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.charset import QP, Charset
from email.mime.base import MIMEBase
from email.mime.text import MIMEText
from email.utils import make_msgid

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import connection, transaction
from django.utils import timezone

from forum.models import MailAttempt, OutboxMessage, RoundTable, Seat
from moderation.guard import mentions_of_others, place

logger = logging.getLogger("forum.mail")

# The wait after failed attempt n before attempt n + 1, as for webhooks: about 44.6 hours from
# the first attempt to the last.
BACKOFF = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=6),
    timedelta(hours=12),
    timedelta(hours=24),
)
MAX_ATTEMPTS = len(BACKOFF) + 1  # 8
LEASE = timedelta(minutes=5)
INTERRUPTED = "interrupted: the sender stopped before recording an outcome"
ERROR_EXCERPT = 300


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str  # "text/calendar; method=REQUEST"
    content: str


def queue_mail(
    *,
    kind: str,
    recipient: str,
    language: str,
    subject: str,
    text: str,
    html: str = "",
    room: RoundTable | None = None,
    seat: Seat | None = None,
    attachments: tuple[Attachment, ...] = (),
    machine: tuple[str, ...] = (),
) -> OutboxMessage:
    """Queue one message in the caller's transaction; it is sent once that commits.

    In a Chatham House room the whole message (subject, both parts, attachments) is read by
    the leak guard first; a message naming a participant other than its recipient is stored
    as held, with the place named for the secretariat, and never sent. `machine` lists values
    the product made (a join link, a calendar UID) that the guard skips: read as words, a
    random token now and then spells a surname."""
    message = OutboxMessage(
        room=room,
        seat=seat,
        kind=kind,
        recipient=recipient,
        language=language,
        subject=" ".join(subject.split())[:300],
        text=text,
        html=html,
        attachments=[a.__dict__ for a in attachments],
        message_id=make_msgid(domain=_domain()),
    )
    if room is not None and room.is_chatham_house:
        whole = _guarded_text(message.subject, text, html, attachments, machine)
        found = mentions_of_others(room, whole, seat)
        if found:
            message.status = OutboxMessage.Status.HELD
            # For the secretariat's outbox page (staff read every name anyway), not for logs.
            message.status_reason = (
                f"held by the leak guard: it names another participant at "
                f"{place(whole, found[0])}; not sent"
            )
            logger.warning(
                "mail held: room %s, %s to seat %s names another participant",
                room.slug,
                kind,
                seat.public_id if seat else "-",
            )
    message.save()
    return message


def _guarded_text(subject, text, html, attachments, machine) -> str:
    # A calendar file folds its lines at 75 octets ("\r\n "): unfolded, a link is whole again.
    parts = [subject, text, html, *(a.content.replace("\r\n ", "") for a in attachments)]
    whole = "\n".join(parts)
    for value in sorted(filter(None, machine), key=len, reverse=True):
        whole = whole.replace(value, " " * len(value))
    return whole


def _domain() -> str:
    address = settings.DEFAULT_FROM_EMAIL.rsplit("<", 1)[-1].rstrip(">")
    return address.rpartition("@")[2] or "localhost"


def email_of(message: OutboxMessage) -> EmailMultiAlternatives:
    """The message as it goes out (and as the outbox page's .eml download shows it)."""
    email = EmailMultiAlternatives(
        subject=message.subject,
        body=message.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[message.recipient],
        headers={
            "Message-ID": message.message_id,
            "Content-Language": message.language,
            # RFC 3834: no vacation replies to a machine's message.
            "Auto-Submitted": "auto-generated",
        },
    )
    if message.html:
        email.attach_alternative(message.html, "text/html")
    for item in message.attachments:
        email.attach(_part(item))
    return email


def _part(item: dict) -> MIMEBase:
    main, _, params = item["content_type"].partition(";")
    subtype = main.strip().split("/", 1)[1]
    # Quoted-printable: a calendar file stays readable in the .eml and the outbox download.
    charset = Charset("utf-8")
    charset.body_encoding = QP
    part = MIMEText(item["content"], subtype, charset)
    for param in filter(None, (p.strip() for p in params.split(";"))):
        name, _, value = param.partition("=")
        part.set_param(name.strip(), value.strip())
    part.add_header("Content-Disposition", "attachment", filename=item["filename"])
    return part


# A join link in a message: the token is the key to a seat, which the database otherwise keeps
# only as a hash. It stays while the message may still go out, and is forgotten once it has.
JOIN_TOKEN = re.compile(r"/join/[A-Za-z0-9_-]{16,}/")
FORGOTTEN = "/join/(link-not-kept)/"


def forget_links(message: OutboxMessage) -> list[str]:
    """Replace the join links of a message that has gone out (or never will) by a
    placeholder; returns the fields changed. A calendar file is unfolded for it (a folded line
    may split the token) and kept so: it is the record, no longer a file to send."""
    changed = []
    for name in ("text", "html"):
        value = JOIN_TOKEN.sub(FORGOTTEN, getattr(message, name))
        if value != getattr(message, name):
            setattr(message, name, value)
            changed.append(name)
    attachments = [
        {**a, "content": JOIN_TOKEN.sub(FORGOTTEN, a["content"].replace("\r\n ", ""))}
        for a in message.attachments
    ]
    if attachments != message.attachments:
        message.attachments = attachments
        changed.append("attachments")
    return changed


# Sending ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    pk: int
    recipient: str
    attempt: int
    result: str  # "sent", "retry" or "failed"
    smtp_code: int | None
    error: str
    duration_ms: int
    next_attempt_at: datetime | None


@dataclass(frozen=True)
class _Answer:
    ok: bool
    smtp_code: int | None
    error: str
    duration_ms: int
    final: bool = False


def send_due(now: datetime | None = None, limit: int = 50) -> list[Outcome]:
    """Send up to `limit` queued messages that are due, one after the other, each at most once
    per call, over one connection to the mail server."""
    clock = (lambda: now) if now is not None else timezone.now
    outcomes: list[Outcome] = []
    seen: set[int] = set()
    backend = get_connection(fail_silently=False)
    try:
        if OutboxMessage.objects.filter(
            status=OutboxMessage.Status.QUEUED, next_attempt_at__lte=clock()
        ).exists():
            _open(backend)
        while len(outcomes) < limit:
            claim = _claim(clock(), seen)
            if claim is None:
                break
            seen.add(claim[0].pk)
            answer = _send(backend, claim[0])
            outcomes.append(_record(claim, answer, clock()))
    finally:
        try:
            backend.close()
        except Exception:  # a server that hung up already: nothing to close
            pass
    return outcomes


def _open(backend) -> None:
    """One connection for the pass; a server that does not answer now is met again by each
    message's own attempt, which records it."""
    try:
        backend.open()
    except Exception:
        backend.connection = None


def _due(now: datetime, seen: set[int]):
    rows = OutboxMessage.objects.filter(
        status=OutboxMessage.Status.QUEUED, next_attempt_at__lte=now
    ).exclude(pk__in=seen)
    if connection.features.has_select_for_update_skip_locked:
        # Two senders (cron overlapping a --loop) each take different rows. SQLite has no row
        # locks; there the IMMEDIATE transaction serialises claims instead.
        rows = rows.select_for_update(skip_locked=True)
    return rows.order_by("next_attempt_at", "pk")


def _claim(now: datetime, seen: set[int]) -> tuple[OutboxMessage, MailAttempt] | None:
    with transaction.atomic():
        while True:
            message = _due(now, seen).first()
            if message is None:
                return None
            if message.attempts < MAX_ATTEMPTS:
                break
            seen.add(message.pk)  # senders died mid-exchange on the last attempts
            message.status = OutboxMessage.Status.FAILED
            message.status_reason = "no more attempts"
            message.save(update_fields=["status", "status_reason"])
        message.attempts += 1
        message.next_attempt_at = now + LEASE
        message.save(update_fields=["attempts", "next_attempt_at"])
        attempt = MailAttempt.objects.create(
            message=message, number=message.attempts, at=now, error=INTERRUPTED
        )
    return message, attempt


def _send(backend, message: OutboxMessage) -> _Answer:
    """One SMTP exchange; every failure comes back as an answer, never as an exception."""
    started = time.monotonic()
    code, error, final = None, "", False
    try:
        email = email_of(message)
        email.connection = backend
        email.send(fail_silently=False)
    except smtplib.SMTPRecipientsRefused as exc:
        code, text = next(iter(exc.recipients.values()), (None, b""))
        error, final = _smtp_text(code, text), bool(code and code >= 500)
    except (smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as exc:
        code, error = exc.smtp_code, _smtp_text(exc.smtp_code, exc.smtp_error)
        # A refused sender is our configuration, not the recipient's address: retried.
        final = isinstance(exc, smtplib.SMTPDataError) and code >= 500
    except smtplib.SMTPResponseException as exc:
        code, error = exc.smtp_code, _smtp_text(exc.smtp_code, exc.smtp_error)
    except Exception as exc:  # no answer, a dropped line, a timeout: tried again later
        error = f"{type(exc).__name__}: {exc}".rstrip(": ")
    if error:
        # A dropped connection must not poison the next message of the pass.
        try:
            backend.close()
        except Exception:
            pass
    duration_ms = round((time.monotonic() - started) * 1000)
    return _Answer(not error, code, error[:ERROR_EXCERPT], duration_ms, final=final)


def _smtp_text(code, text) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"SMTP {code} {' '.join(str(text).split())}".strip()


def _record(claim, answer: _Answer, now: datetime) -> Outcome:
    message, attempt = claim
    number = attempt.number
    with transaction.atomic():
        locked = OutboxMessage.objects.select_for_update().get(pk=message.pk)
        result, fields = _next_state(locked, number, answer, now)
        MailAttempt.objects.filter(pk=attempt.pk).update(
            result=result,
            smtp_code=answer.smtp_code,
            error=answer.error,
            duration_ms=answer.duration_ms,
        )
        if fields:
            locked.save(update_fields=fields)
    logger.info(
        "mail %s (%s) attempt %d: %s (%s)", locked.pk, locked.kind, number, result, answer.error
    )
    return Outcome(
        pk=locked.pk,
        recipient=locked.recipient,
        attempt=number,
        result=result,
        smtp_code=answer.smtp_code,
        error=answer.error,
        duration_ms=answer.duration_ms,
        next_attempt_at=locked.next_attempt_at if result == "retry" else None,
    )


def _next_state(message: OutboxMessage, number: int, answer: _Answer, now: datetime):
    queued = message.status == OutboxMessage.Status.QUEUED
    if answer.ok:
        if queued:
            message.status, message.sent_at = OutboxMessage.Status.SENT, now
            return "sent", ["status", "sent_at", *forget_links(message)]
        return "sent", []
    final = answer.final or number >= MAX_ATTEMPTS
    result = "failed" if final else "retry"
    if not queued or message.attempts != number:
        return result, []  # another sender took the row over after our lease: its outcome stands
    if final:
        message.status, message.status_reason = OutboxMessage.Status.FAILED, answer.error
        return result, ["status", "status_reason", *forget_links(message)]
    message.next_attempt_at = now + BACKOFF[number - 1]
    return result, ["next_attempt_at"]
