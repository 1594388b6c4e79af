"""Webhook delivery of submissions (forum/services/delivery.py), against a real HTTP receiver."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
import socket
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connections
from django.test import Client
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from forum.management.commands import deliver_submissions as command_module
from forum.models import (
    Committee,
    DeliveryAttempt,
    MinutesVersion,
    Submission,
    User,
    WebhookDelivery,
)
from forum.services import delivery
from forum.services.delivery import (
    BACKOFF,
    INTERRUPTED,
    LEASE,
    MAX_ATTEMPTS,
    canonical_body,
    deliver_due,
    enqueue_submission_webhook,
    sign,
    verify,
)
from tests.support.services import require

pytestmark = pytest.mark.django_db

SECRET = "s3cret-of-the-committee-7f1c"
PACKAGE = b"zip bytes"
QUICK = 0.5  # seconds: the HTTP timeout in tests that expect a hang


# The receiver ---------------------------------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A committee's endpoint on 127.0.0.1: records every request, fails on demand."""

    url: str = ""
    requests: list[Received] = field(default_factory=list)
    fail_times: int = 0  # answer 500 to this many requests, then 200
    mode: str = "ok"  # ok, slow (0.1 s), gone (410), redirect (302), hang, close
    release: threading.Event = field(default_factory=threading.Event)

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length)
        self.requests.append(Received(handler.path, dict(handler.headers.items()), body))
        if self.mode == "hang":
            self.release.wait(5)
            return
        if self.mode == "slow":
            self.release.wait(0.1)
        if self.mode == "close":
            handler.close_connection = True  # hang up without a status line
            return
        if self.fail_times > 0:
            self.fail_times -= 1
            self.reply(handler, 500, b"database on fire")
        elif self.mode == "gone":
            self.reply(handler, 410, b"this endpoint was retired")
        elif self.mode == "redirect":
            self.reply(handler, 302, b"", location=f"{self.url}elsewhere")
        else:
            self.reply(handler, 200, b'{"ok": true}')

    @staticmethod
    def reply(handler, status: int, body: bytes, location: str = "") -> None:
        handler.send_response(status)
        if location:
            handler.send_header("Location", location)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)


@pytest.fixture
def receiver():
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            state.answer(self)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/roundtables/"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield state
    state.release.set()
    server.shutdown()
    server.server_close()
    thread.join(5)


def closed_port_url() -> str:
    # Bind, note the port, close: nothing listens there for the test's short life.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"


# Data -------------------------------------------------------------------------------------------


@pytest.fixture
def staff() -> User:
    return User.objects.create(username="sam", email="sam@example.org", is_staff=True)


def committee(url: str = "", name: str = "Forum Regional Security Committee") -> Committee:
    return Committee.objects.create(
        name=name, rigo="Pacific Islands Forum", webhook_url=url, webhook_secret=SECRET
    )


def submission(cast, staff, to: Committee) -> Submission:
    version, _ = MinutesVersion.objects.get_or_create(
        room=cast.room,
        number=1,
        defaults={"document": {}, "content_sha256": "0" * 64, "adopted_at": timezone.now()},
    )
    return Submission.objects.create(
        room=cast.room,
        version=version,
        committee=to,
        cover_letter="Dear committee,",
        status=Submission.Status.SUBMITTED,
        package=PACKAGE,
        package_sha256=hashlib.sha256(PACKAGE).hexdigest(),
        manifest={"files": [{"name": "minutes.pdf", "sha256": "1" * 64}]},
        created_by=staff,
    )


def queued(
    cast, staff, url: str, name: str = "Forum Regional Security Committee"
) -> WebhookDelivery:
    return enqueue_submission_webhook(submission(cast, staff, committee(url, name)))


def attempts(item: WebhookDelivery) -> list[DeliveryAttempt]:
    return list(item.attempt_log.order_by("number"))


# Enqueueing -------------------------------------------------------------------------------------


def test_a_committee_without_webhook_gets_no_delivery(cast, staff):
    assert enqueue_submission_webhook(submission(cast, staff, committee(url=""))) is None
    assert WebhookDelivery.objects.count() == 0


def test_the_payload_is_built_at_enqueue_time(cast, staff, receiver):
    item = queued(cast, staff, receiver.url)
    sub = item.submission
    payload = item.payload
    assert item.status == "pending" and item.attempts == 0 and item.url == receiver.url
    assert item.event == payload["event"] == "submission.submitted"
    assert payload["delivery"] and isinstance(payload["delivery"], str)
    assert payload["submission"] | {"submitted_at": None} == {
        "id": sub.public_id,
        "round_table": "test-room",
        "round_table_title": "Test round table",
        "committee": "Forum Regional Security Committee",
        "rigo": "Pacific Islands Forum",
        "status": "submitted",
        "submitted_at": None,
    }
    assert datetime.fromisoformat(payload["submission"]["submitted_at"]).tzinfo
    assert payload["minutes"] == {"version": 1, "content_sha256": "0" * 64}
    assert payload["manifest"] == sub.manifest
    assert payload["package"]["sha256"] == hashlib.sha256(PACKAGE).hexdigest()
    assert payload["package"]["bytes"] == len(PACKAGE)
    assert payload["package"]["url"].startswith(settings.BASE_URL)
    assert SECRET not in json.dumps(payload)


def test_two_deliveries_have_different_ids(cast, staff, receiver):
    one = queued(cast, staff, receiver.url)
    two = queued(cast, staff, receiver.url, name="ECOWAS Early Warning Directorate")
    assert one.payload["delivery"] != two.payload["delivery"]


# Signing ----------------------------------------------------------------------------------------


def test_sign_is_hmac_sha256_of_timestamp_dot_body():
    body = b'{"a":1}'
    expected = hmac.new(SECRET.encode(), b"1700000000." + body, hashlib.sha256).hexdigest()
    assert sign(SECRET, 1700000000, body) == f"sha256={expected}"


def test_verify_refuses_anything_altered():
    body, stamp = b'{"a":1}', 1700000000
    header = sign(SECRET, stamp, body)
    assert verify(SECRET, stamp, body, header)
    assert verify(SECRET, str(stamp), body, header)
    assert not verify(SECRET, stamp, b'{"a":2}', header)
    assert not verify(SECRET, stamp + 1, body, header)
    assert not verify("another secret", stamp, body, header)
    assert not verify(SECRET, stamp, body, header.removeprefix("sha256="))
    assert not verify(SECRET, stamp, body, "")
    assert not verify(SECRET, stamp, body, None)
    assert not verify(SECRET, "yesterday", body, header)
    assert not verify(SECRET, stamp, body, "sha256=é")


def test_verify_with_max_age_refuses_stale_timestamps():
    body, stamp = b"{}", 1700000000
    header = sign(SECRET, stamp, body)
    assert verify(SECRET, stamp, body, header, max_age=300, now=stamp + 299)
    assert not verify(SECRET, stamp, body, header, max_age=300, now=stamp + 301)
    assert not verify(SECRET, stamp, body, header, max_age=300, now=stamp - 301)


# Sending ----------------------------------------------------------------------------------------


def test_delivered_on_first_try_with_a_valid_signature(cast, staff, receiver):
    item = queued(cast, staff, receiver.url)
    now = timezone.now()

    [outcome] = deliver_due(now=now)

    assert outcome.result == "delivered" and outcome.status_code == 200 and outcome.attempt == 1
    [request] = receiver.requests
    assert request.path == "/hooks/roundtables/"
    headers = request.headers
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"] == "roundtables-webhooks/1"
    assert headers["X-Roundtables-Event"] == "submission.submitted"
    assert headers["X-Roundtables-Delivery"] == item.payload["delivery"] == outcome.delivery
    stamp = headers["X-Roundtables-Timestamp"]
    assert abs(int(stamp) - timezone.now().timestamp()) < 60
    assert verify(SECRET, stamp, request.body, headers["X-Roundtables-Signature"], max_age=300)
    mac = hmac.new(SECRET.encode(), stamp.encode() + b"." + request.body, hashlib.sha256)
    assert headers["X-Roundtables-Signature"] == "sha256=" + mac.hexdigest()
    assert request.body == canonical_body(item.payload)
    assert json.loads(request.body) == item.payload
    assert SECRET.encode() not in request.body

    item.refresh_from_db()
    assert item.status == "delivered" and item.delivered_at == now and item.attempts == 1
    [attempt] = attempts(item)
    assert (attempt.number, attempt.status_code, attempt.error) == (1, 200, "")
    assert deliver_due(now=now + timedelta(days=3)) == []
    assert len(receiver.requests) == 1


def test_a_failing_receiver_is_retried_after_the_backoff(cast, staff, receiver):
    item = queued(cast, staff, receiver.url)
    receiver.fail_times = 1
    now = timezone.now()

    [first] = deliver_due(now=now)
    assert first.result == "retry" and first.status_code == 500
    item.refresh_from_db()
    assert item.status == "pending" and item.attempts == 1
    assert item.next_attempt_at == now + BACKOFF[0] == first.next_attempt_at
    [attempt] = attempts(item)
    assert attempt.status_code == 500 and "database on fire" in attempt.error

    assert deliver_due(now=now + BACKOFF[0] - timedelta(seconds=1)) == []
    assert len(receiver.requests) == 1

    [second] = deliver_due(now=now + BACKOFF[0])
    assert second.result == "delivered" and second.attempt == 2
    item.refresh_from_db()
    assert item.status == "delivered" and item.attempts == 2
    assert [(a.number, a.status_code) for a in attempts(item)] == [(1, 500), (2, 200)]
    # The same body and id every time, so the receiver can deduplicate.
    assert receiver.requests[0].body == receiver.requests[1].body
    ids = {r.headers["X-Roundtables-Delivery"] for r in receiver.requests}
    assert ids == {item.payload["delivery"]}


def test_connection_refused_is_recorded_as_an_error(cast, staff):
    item = queued(cast, staff, closed_port_url())
    now = timezone.now()
    [outcome] = deliver_due(now=now)
    assert outcome.result == "retry" and outcome.status_code is None
    [attempt] = attempts(item)
    assert attempt.status_code is None and "refused" in attempt.error.lower()
    item.refresh_from_db()
    assert item.next_attempt_at == now + BACKOFF[0]


def test_a_hanging_receiver_times_out(cast, staff, receiver):
    item = queued(cast, staff, receiver.url)
    receiver.mode = "hang"
    [outcome] = deliver_due(now=timezone.now(), timeout=QUICK)
    assert outcome.result == "retry" and outcome.status_code is None
    [attempt] = attempts(item)
    assert "timed out" in attempt.error
    assert attempt.duration_ms >= QUICK * 1000 * 0.9


def test_a_receiver_that_hangs_up_is_an_error(cast, staff, receiver):
    item = queued(cast, staff, receiver.url)
    receiver.mode = "close"
    [outcome] = deliver_due(now=timezone.now())
    assert outcome.result == "retry"
    [attempt] = attempts(item)
    assert attempt.status_code is None and attempt.error


def test_a_redirect_is_recorded_not_followed(cast, staff, receiver):
    item = queued(cast, staff, receiver.url)
    receiver.mode = "redirect"
    [outcome] = deliver_due(now=timezone.now())
    assert outcome.result == "retry" and outcome.status_code == 302
    assert len(receiver.requests) == 1
    [attempt] = attempts(item)
    assert attempt.status_code == 302 and "not followed" in attempt.error


def test_410_gone_fails_at_once(cast, staff, receiver):
    item = queued(cast, staff, receiver.url)
    receiver.mode = "gone"
    [outcome] = deliver_due(now=timezone.now())
    assert outcome.result == "failed" and outcome.status_code == 410
    item.refresh_from_db()
    assert item.status == "failed" and item.attempts == 1
    assert deliver_due(now=timezone.now() + timedelta(days=7)) == []


def test_a_non_http_url_fails_at_once(cast, staff):
    item = queued(cast, staff, "file:///etc/passwd")
    [outcome] = deliver_due(now=timezone.now())
    assert outcome.result == "failed" and "http or https" in outcome.error
    item.refresh_from_db()
    assert item.status == "failed"


def test_after_max_attempts_the_delivery_fails(cast, staff, receiver):
    item = queued(cast, staff, receiver.url)
    receiver.fail_times = 1000
    now = timezone.now()
    results = []
    for number in range(1, MAX_ATTEMPTS + 1):
        [outcome] = deliver_due(now=now)
        results.append(outcome.result)
        item.refresh_from_db()
        if number < MAX_ATTEMPTS:
            assert item.next_attempt_at - now == BACKOFF[number - 1]
            now = item.next_attempt_at
    assert results == ["retry"] * (MAX_ATTEMPTS - 1) + ["failed"]
    assert item.status == "failed" and item.attempts == MAX_ATTEMPTS
    assert [a.status_code for a in attempts(item)] == [500] * MAX_ATTEMPTS
    assert deliver_due(now=now + timedelta(days=30)) == []
    assert len(receiver.requests) == MAX_ATTEMPTS


def test_the_backoff_schedule():
    assert MAX_ATTEMPTS == 8
    assert [int(d.total_seconds()) for d in BACKOFF] == [
        60,
        300,
        1800,
        7200,
        21600,
        43200,
        86400,
    ]


def test_one_failing_receiver_does_not_stop_the_others(cast, staff, receiver):
    dead = queued(cast, staff, closed_port_url(), name="OAS General Assembly")
    alive = queued(cast, staff, receiver.url)
    outcomes = deliver_due(now=timezone.now())
    assert {o.pk: o.result for o in outcomes} == {dead.pk: "retry", alive.pk: "delivered"}


def test_limit_caps_a_pass(cast, staff, receiver):
    queued(cast, staff, receiver.url)
    queued(cast, staff, receiver.url, name="AU Peace and Security Council")
    now = timezone.now()
    assert len(deliver_due(now=now, limit=1)) == 1
    assert len(deliver_due(now=now, limit=1)) == 1
    assert deliver_due(now=now, limit=1) == []
    assert len(receiver.requests) == 2


def test_a_crash_mid_send_leaves_the_delivery_pending(cast, staff, receiver, monkeypatch):
    item = queued(cast, staff, receiver.url)
    now = timezone.now()

    def die(*args, **kwargs):
        raise KeyboardInterrupt  # the process is killed between the claim and the answer

    monkeypatch.setattr(delivery, "_post", die)
    with pytest.raises(KeyboardInterrupt):
        deliver_due(now=now)
    monkeypatch.undo()

    item.refresh_from_db()
    assert item.status == "pending" and item.attempts == 1
    assert item.next_attempt_at == now + LEASE
    [attempt] = attempts(item)
    assert attempt.error == INTERRUPTED
    # Leased: a second sender does not take it before the lease runs out.
    assert deliver_due(now=now + LEASE - timedelta(seconds=1)) == []

    [outcome] = deliver_due(now=now + LEASE)
    assert outcome.result == "delivered" and outcome.attempt == 2
    assert len(receiver.requests) == 1


@pytest.mark.django_db(transaction=True)
def test_two_senders_at_once_never_send_the_same_delivery(cast, staff, receiver):
    items = [queued(cast, staff, receiver.url, name=f"Committee {n}") for n in range(6)]
    receiver.mode = "slow"
    results: list[list] = []

    def sender():
        try:
            results.append(deliver_due())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    sent = [r.headers["X-Roundtables-Delivery"] for r in receiver.requests]
    assert sorted(sent) == sorted(item.payload["delivery"] for item in items)
    assert sum(len(outcomes) for outcomes in results) == 6
    assert all(o.result == "delivered" for outcomes in results for o in outcomes)
    assert set(WebhookDelivery.objects.values_list("attempts", flat=True)) == {1}


def test_the_secret_is_never_logged_nor_stored(cast, staff, receiver, caplog):
    caplog.set_level(logging.DEBUG)
    queued(cast, staff, receiver.url)
    receiver.fail_times = 1
    now = timezone.now()
    deliver_due(now=now)
    deliver_due(now=now + BACKOFF[0])
    assert "forum.delivery" in {r.name for r in caplog.records}
    assert SECRET not in caplog.text
    stored = [a.error for a in DeliveryAttempt.objects.all()]
    stored += [json.dumps(d.payload) + d.url for d in WebhookDelivery.objects.all()]
    assert not any(SECRET in text for text in stored)
    assert not any(SECRET in json.dumps(r.headers) for r in receiver.requests)


# The command ------------------------------------------------------------------------------------


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("deliver_submissions", *args, stdout=out)
    return out.getvalue()


def test_the_command_runs_one_pass_and_prints(cast, staff, receiver):
    item = queued(cast, staff, receiver.url)
    queued(cast, staff, closed_port_url(), name="SICA Consultative Committee")
    out = run("--timeout", "2")
    lines = out.strip().splitlines()
    assert len(lines) == 3
    delivered = next(line for line in lines if item.payload["delivery"] in line)
    assert "127.0.0.1" in delivered and "attempt 1/8: delivered (HTTP 200" in delivered
    assert any("retry at" in line and "refused" in line.lower() for line in lines)
    assert lines[-1] == "2 attempts: 1 delivered, 1 to retry, 0 failed"
    assert SECRET not in out
    assert run() == "nothing due\n"


@pytest.mark.parametrize(
    "args, message",
    [
        (["--limit", "0"], "--limit: must be at least 1"),
        (["--limit", "many"], "--limit: expected a whole number"),
        (["--loop", "--interval", "-5"], "--interval: must be at least 1"),
        (["--timeout", "0"], "--timeout: must be at least 1"),
        (["--interval", "10"], "--interval only applies with --loop"),
    ],
)
def test_bad_arguments_are_a_command_error(args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)


def test_the_loop_polls_until_interrupted(cast, staff, receiver, monkeypatch):
    queued(cast, staff, receiver.url)
    naps = []

    def nap(seconds):
        naps.append(seconds)
        if len(naps) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(command_module, "sleep", nap)
    out = run("--loop", "--interval", "7")
    assert naps == [7, 7]
    assert out.startswith("delivering every 7 s")
    assert "1 attempt: 1 delivered" in out and out.endswith("stopped\n")
    assert len(receiver.requests) == 1


# End to end -------------------------------------------------------------------------------------


def require_submissions() -> None:
    """The package needs every minutes renderer; skip (fail under CI) while one is missing."""
    try:
        reverse("submission_package", args=["x"])
        from forum.minutes.formats.registry import exports

        exports()
    except (NoReverseMatch, ImportError) as exc:
        require("submission packages", False, f"{type(exc).__name__}: {exc}")


def test_submitting_announces_the_package_to_the_committee(cast, staff, receiver):
    require_submissions()
    from forum.minutes.document import content_sha256, minutes_document
    from forum.services.submissions import submission_advance, submission_create
    from tests.support.minutes import run_session

    run_session(cast)
    doc = minutes_document(cast.room)
    doc["status"] = "adopted"
    doc["version"] = {
        "number": 1,
        "status": "adopted",
        "saved_at": timezone.now().isoformat(),
        "adopted_at": timezone.now().isoformat(),
        "content_sha256": content_sha256(doc),
    }
    MinutesVersion.objects.create(
        room=cast.room,
        number=1,
        document=doc,
        content_sha256=doc["version"]["content_sha256"],
        adopted_at=timezone.now(),
    )
    target = committee(receiver.url)
    draft = submission_create(
        user=staff,
        room_slug=cast.room.slug,
        committee_id=target.public_id,
        recommendation_ids=[],
        letter="Dear committee,",
    )
    assert WebhookDelivery.objects.count() == 0
    submission_advance(user=staff, submission_id=draft.public_id, status="submitted")
    [item] = WebhookDelivery.objects.all()
    assert item.status == "pending"

    [outcome] = deliver_due()
    assert outcome.result == "delivered"
    [request] = receiver.requests
    payload = json.loads(request.body)
    sub = Submission.objects.get(pk=draft.pk)
    assert payload["manifest"] == sub.manifest
    assert payload["minutes"]["content_sha256"] == doc["version"]["content_sha256"]

    link = payload["package"]["url"]
    assert link.startswith(settings.BASE_URL)
    parts = urlsplit(link)
    response = Client().get(f"{parts.path}?{parts.query}")
    assert response.status_code == 200
    data = b"".join(response.streaming_content) if response.streaming else response.content
    assert hashlib.sha256(data).hexdigest() == payload["package"]["sha256"] == sub.package_sha256
    assert len(data) == payload["package"]["bytes"]
