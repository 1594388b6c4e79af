"""Webhook delivery of submissions to committees: an outbox, sent with retries.

Submitting a submission (forum.services.submissions.submission_advance) queues one
WebhookDelivery in the same transaction, with its JSON payload built there and then, so every
retry sends the same body. `deliver_due` (run by `manage.py deliver_submissions`) sends what is
due; it only ever sees committed rows, so nothing is announced before the submission exists.

Each attempt is claim, commit, send, record: the claim takes the row (skipping rows another
sender holds, where the database can), counts the attempt, logs it as interrupted and moves
`next_attempt_at` a lease ahead, all in one short transaction; the POST happens outside any
transaction; a second short transaction records the outcome. A sender that dies mid-POST
leaves the delivery pending, due again when the lease runs out. Delivery is therefore at least
once: receivers deduplicate by the `X-Roundtables-Delivery` header (the payload's "delivery").

The committee's signing secret is read at send time and goes into the signature only: never
into the payload, the attempt log or a log line. docs/webhooks.md is the receiver's side.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.db import connection, transaction
from django.utils import timezone

from forum.models import Committee, DeliveryAttempt, Submission, WebhookDelivery
from forum.services.packages import package_url

logger = logging.getLogger("forum.delivery")

EVENT_SUBMITTED = "submission.submitted"
USER_AGENT = "roundtables-webhooks/1"

# The wait after failed attempt n before attempt n + 1: about 44.6 hours from the first
# attempt to the last, so a receiver that is down over a weekend day still gets it.
# No jitter: deliveries are few, and a fixed schedule keeps the tests exact.
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

# How long a claimed delivery stays out of other senders' reach. Longer than any POST should
# take (urllib's timeout applies per socket operation, not to the whole exchange); it is also
# how soon a delivery whose sender died mid-POST is tried again.
LEASE = timedelta(minutes=5)

# Answer codes that end a delivery at once: the receiver says the endpoint is gone for good.
FINAL_CODES = frozenset({410})

INTERRUPTED = "interrupted: the sender stopped before recording an outcome"
RESPONSE_READ_LIMIT = 64 * 1024
ERROR_EXCERPT = 300


# Signing ------------------------------------------------------------------------------------


def canonical_body(payload: dict) -> bytes:
    """The exact bytes POSTed: compact JSON with sorted keys, UTF-8."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The `X-Roundtables-Signature` value: HMAC-SHA256 of "<timestamp>." + body."""
    mac = hmac.new(secret.encode(), f"{int(timestamp)}.".encode() + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def verify(
    secret: str,
    timestamp: int | str,
    body: bytes,
    header: str | None,
    *,
    max_age: int | None = None,
    now: float | None = None,
) -> bool:
    """True if `header` is the signature of `body` sent at `timestamp` (constant-time).

    With `max_age` (seconds), a timestamp further than that from `now` is refused too, so a
    captured request cannot be replayed later.
    """
    try:
        stamp = int(timestamp)
    except (TypeError, ValueError):
        return False
    if not header:
        return False
    if max_age is not None and abs((time.time() if now is None else now) - stamp) > max_age:
        return False
    expected = sign(secret, stamp, body).encode()
    return hmac.compare_digest(expected, header.strip().encode("utf-8", "replace"))


def request_headers(delivery: WebhookDelivery, secret: str, timestamp: int, body: bytes) -> dict:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Roundtables-Event": delivery.event,
        "X-Roundtables-Delivery": delivery_id(delivery),
        "X-Roundtables-Timestamp": str(timestamp),
        "X-Roundtables-Signature": sign(secret, timestamp, body),
    }


def delivery_id(delivery: WebhookDelivery) -> str:
    """The id a receiver deduplicates by: generated at enqueue time, carried in the payload."""
    return str(delivery.payload.get("delivery") or delivery.pk)


# Enqueueing ---------------------------------------------------------------------------------


def submission_payload(submission: Submission, *, delivery: str) -> dict:
    room, committee, version = submission.room, submission.committee, submission.version
    package = submission.package or b""
    return {
        "event": EVENT_SUBMITTED,
        "delivery": delivery,
        "submission": {
            "id": submission.public_id,
            "round_table": room.slug,
            "round_table_title": room.title,
            "committee": committee.name,
            "rigo": committee.rigo,
            "status": submission.status,
            "submitted_at": timezone.now().isoformat(timespec="seconds"),
        },
        "minutes": {"version": version.number, "content_sha256": version.content_sha256},
        "manifest": submission.manifest,
        "package": {
            "url": package_url(submission),
            "sha256": submission.package_sha256,
            "bytes": len(package),
        },
    }


def enqueue_submission_webhook(submission: Submission) -> WebhookDelivery | None:
    """Queue the announcement of a submitted submission; None if the committee has no webhook.

    Call it inside the transaction that submits: the row is sent only once that commits.
    """
    url = submission.committee.webhook_url
    if not url:
        return None
    payload = submission_payload(submission, delivery=str(uuid.uuid4()))
    return WebhookDelivery.objects.create(
        submission=submission, url=url, event=EVENT_SUBMITTED, payload=payload
    )


# Sending ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """One attempt, as `deliver_due` reports it."""

    pk: int
    delivery: str  # the X-Roundtables-Delivery id
    host: str
    attempt: int
    result: str  # "delivered", "retry" or "failed"
    status_code: int | None
    error: str
    duration_ms: int
    next_attempt_at: datetime | None


@dataclass(frozen=True)
class _Claim:
    delivery: WebhookDelivery
    attempt: DeliveryAttempt
    secret: str


@dataclass(frozen=True)
class _Answer:
    status_code: int | None
    error: str
    duration_ms: int
    final: bool = False

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def deliver_due(
    now: datetime | None = None, limit: int = 50, timeout: float = 10.0
) -> list[Outcome]:
    """Send up to `limit` pending deliveries that are due, one after the other.

    `now` fixes the clock (tests); by default each step reads the time. Each delivery is
    attempted at most once per call. A receiver that fails, hangs up or times out only
    reschedules its own delivery.
    """
    clock = (lambda: now) if now is not None else timezone.now
    outcomes: list[Outcome] = []
    seen: set[int] = set()
    while len(outcomes) < limit:
        claim = _claim(clock(), seen)
        if claim is None:
            break
        seen.add(claim.delivery.pk)
        answer = _send(claim, timeout)
        outcomes.append(_record(claim, answer, clock()))
    return outcomes


def _due(now: datetime, seen: set[int]):
    rows = WebhookDelivery.objects.filter(
        status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now
    ).exclude(pk__in=seen)
    if connection.features.has_select_for_update_skip_locked:
        # Two senders (cron overlapping a --loop) each take different rows. SQLite has no row
        # locks; there the IMMEDIATE transaction serialises claims instead.
        rows = rows.select_for_update(skip_locked=True)
    return rows.order_by("next_attempt_at", "pk")


def _claim(now: datetime, seen: set[int]) -> _Claim | None:
    """Take the next due delivery: count the attempt and lease the row, then commit."""
    with transaction.atomic():
        while True:
            delivery = _due(now, seen).first()
            if delivery is None:
                return None
            if delivery.attempts < MAX_ATTEMPTS:
                break
            # Only when senders died mid-POST on the last attempts: nothing left to try.
            seen.add(delivery.pk)
            delivery.status = WebhookDelivery.Status.FAILED
            delivery.save(update_fields=["status"])
            logger.warning("webhook delivery %s failed: attempts used up", delivery.pk)
        delivery.attempts += 1
        delivery.next_attempt_at = now + LEASE
        delivery.save(update_fields=["attempts", "next_attempt_at"])
        attempt = DeliveryAttempt.objects.create(
            delivery=delivery, number=delivery.attempts, at=now, error=INTERRUPTED
        )
        secret = (
            Committee.objects.filter(submissions__deliveries=delivery)
            .values_list("webhook_secret", flat=True)
            .first()
        )
    return _Claim(delivery=delivery, attempt=attempt, secret=secret or "")


def _send(claim: _Claim, timeout: float) -> _Answer:
    delivery = claim.delivery
    if not claim.secret:
        logger.warning(
            "webhook delivery %s: the committee has no webhook secret, the signature "
            "proves nothing",
            delivery.pk,
        )
    body = canonical_body(delivery.payload)
    # Signed at send time, so a receiver can refuse stale timestamps; the body never changes.
    timestamp = int(time.time())
    headers = request_headers(delivery, claim.secret, timestamp, body)
    return _post(delivery.url, headers, body, timeout)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A 3xx is an answer to record, not a new address to POST the submission to."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def _post(url: str, headers: dict, body: bytes, timeout: float) -> _Answer:
    """POST once; any failure comes back as an answer, never as an exception."""
    scheme = urlsplit(url).scheme.lower()
    if scheme not in ("http", "https"):
        return _Answer(
            None, f"unsupported URL scheme {scheme!r}: http or https only", 0, final=True
        )
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    opener = urllib.request.build_opener(_NoRedirect)
    started = time.monotonic()
    try:
        with opener.open(request, timeout=timeout) as response:
            response.read(RESPONSE_READ_LIMIT)
            code, error = response.status, ""
    except urllib.error.HTTPError as exc:
        code, error = exc.code, _http_error_text(exc)
    except urllib.error.URLError as exc:
        reason = exc.reason
        code = None
        error = (
            f"{type(reason).__name__}: {reason}"
            if isinstance(reason, BaseException)
            else str(reason)
        )
    except Exception as exc:  # the receiver's side of the wire: any failure is just an outcome
        code, error = None, f"{type(exc).__name__}: {exc}".rstrip(": ")
    duration_ms = round((time.monotonic() - started) * 1000)
    return _Answer(code, error, duration_ms, final=code in FINAL_CODES)


def _http_error_text(exc: urllib.error.HTTPError) -> str:
    text = f"HTTP {exc.code} {exc.reason}".rstrip()
    if 300 <= exc.code < 400:
        return f"{text}: redirect to {exc.headers.get('Location', '?')} not followed"
    try:
        excerpt = exc.read(ERROR_EXCERPT).decode("utf-8", "replace").strip()
    except Exception:
        excerpt = ""
    finally:
        exc.close()
    return f"{text}: {excerpt}" if excerpt else text


def _record(claim: _Claim, answer: _Answer, now: datetime) -> Outcome:
    """Write the attempt's outcome and what follows from it."""
    number = claim.attempt.number
    with transaction.atomic():
        DeliveryAttempt.objects.filter(pk=claim.attempt.pk).update(
            status_code=answer.status_code, error=answer.error, duration_ms=answer.duration_ms
        )
        delivery = WebhookDelivery.objects.select_for_update().get(pk=claim.delivery.pk)
        result, fields = _next_state(delivery, number, answer, now)
        if fields:
            delivery.save(update_fields=fields)
    outcome = Outcome(
        pk=delivery.pk,
        delivery=delivery_id(delivery),
        host=urlsplit(delivery.url).hostname or delivery.url,
        attempt=number,
        result=result,
        status_code=answer.status_code,
        error=answer.error,
        duration_ms=answer.duration_ms,
        next_attempt_at=delivery.next_attempt_at if result == "retry" else None,
    )
    logger.info(
        "webhook delivery %s to %s attempt %d: %s (%s)",
        outcome.delivery,
        outcome.host,
        number,
        result,
        answer.status_code or answer.error,
    )
    return outcome


def _next_state(
    delivery: WebhookDelivery, number: int, answer: _Answer, now: datetime
) -> tuple[str, list[str]]:
    """The result of attempt `number` and the fields it changes on the (locked) row."""
    pending = delivery.status == WebhookDelivery.Status.PENDING
    if answer.ok:
        if pending:
            delivery.status = WebhookDelivery.Status.DELIVERED
            delivery.delivered_at = now
            return "delivered", ["status", "delivered_at"]
        return "delivered", []
    final = answer.final or number >= MAX_ATTEMPTS
    result = "failed" if final else "retry"
    if not pending or delivery.attempts != number:
        # Our lease ran out mid-POST and another sender took the row over: its outcome stands.
        return result, []
    if final:
        delivery.status = WebhookDelivery.Status.FAILED
        return result, ["status"]
    delivery.next_attempt_at = now + BACKOFF[number - 1]
    return result, ["next_attempt_at"]
