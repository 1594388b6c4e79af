"""E-mail: invitations arrive over a real SMTP server (aiosmtpd) with the seat's link, in the
holder's language, with a calendar file; a refusing server delays, never loses, never
duplicates; nothing sent to a delegate of a Chatham House room names another participant."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
from zoneinfo import ZoneInfo

import icalendar
import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from forum.errors import ServiceError
from forum.mail_url import EmailUrlError, parse_email_url
from forum.models import MailAttempt, OutboxMessage, Seat
from forum.services.cancellation import room_cancel
from forum.services.invitations import seats_invite
from forum.services.mail import BACKOFF, queue_mail, send_due
from forum.services.schedule import room_set_schedule
from forum.services.seats import seat_by_token
from tests.support.personas import PERSONAS
from tests.support.smtp import smtp_server

JOIN = re.compile(r"https?://[^\s\"'<>]+/join/([A-Za-z0-9_-]+)/")
ZONE = "Pacific/Auckland"


@pytest.fixture
def sam(db):
    from forum.models import User

    return User.objects.create_user(
        username="sam", email="sam@example.org", password="x", is_staff=True
    )


@pytest.fixture
def inbox(settings):
    with smtp_server(settings) as inbox:
        yield inbox


@pytest.fixture
def scheduled(cast, sam):
    # The personas' room opens live; invitations go out before a session.
    cast.room.status = "scheduled"
    cast.room.save(update_fields=["status"])
    room_set_schedule(
        room=cast.room,
        actor=sam,
        starts_at="2027-03-04T09:00",
        ends_at="2027-03-04T17:30",
        time_zone=ZONE,
        place="Auckland",
        online=True,
    )
    return cast


def body(message, subtype: str) -> str:
    return message.get_body(preferencelist=(subtype,)).get_content()


def calendar_of(message) -> icalendar.Calendar:
    for part in message.iter_attachments():
        if part.get_content_type() == "text/calendar":
            return icalendar.Calendar.from_ical(part.get_content())
    raise AssertionError("no calendar file")


def event_of(message):
    return next(iter(calendar_of(message).walk("VEVENT")))


def test_email_url_is_parsed_and_a_bad_one_is_named():
    got = parse_email_url("smtp+tls://user%40org:p%3Ass@mail.example.org:2587")
    assert (got["EMAIL_HOST"], got["EMAIL_PORT"], got["EMAIL_USE_TLS"]) == (
        "mail.example.org",
        2587,
        True,
    )
    assert (got["EMAIL_HOST_USER"], got["EMAIL_HOST_PASSWORD"]) == ("user@org", "p:ss")
    assert parse_email_url("smtp+ssl://h")["EMAIL_PORT"] == 465
    assert parse_email_url("smtp+ssl://h")["EMAIL_USE_SSL"] is True
    for bad, words in [
        ("http://h", "must start with smtp://"),
        ("smtp://:25", "names no host"),
        ("smtp://h:99999", "port"),
        ("smtp://h/path", "no path"),
    ]:
        with pytest.raises(EmailUrlError, match=words):
            parse_email_url(bad)


def test_invitations_arrive_with_the_seats_link_language_and_calendar(scheduled, sam, inbox):
    cast = scheduled
    Seat.objects.filter(pk=cast.cora.pk).update(language="es")
    cast.cora.refresh_from_db()
    seats_invite(room=cast.room, seats=[cast.cora, cast.gus], actor=sam)
    outcomes = send_due()
    assert [o.result for o in outcomes] == ["sent", "sent"]

    (cora,) = inbox.to("cora@example.org")
    token = JOIN.search(body(cora, "plain")).group(1)
    assert seat_by_token(token).pk == cast.cora.pk  # the link opens her seat, and only hers
    assert f"/join/{token}/" in body(cora, "html")
    assert cora["Content-Language"] == "es"
    assert "Invitación" in cora["Subject"] or "Invitación" in body(cora, "plain")
    assert seat_by_token(cast.tokens["cora"]) is None  # the link she had before stopped
    assert "Chatham House" in body(cora, "plain")

    event = event_of(cora)
    start = event.decoded("dtstart")
    assert start == dt.datetime(2027, 3, 4, 9, 0, tzinfo=ZoneInfo(ZONE))
    assert str(start.tzinfo) == ZONE
    assert event.get("dtstart").params["TZID"] == ZONE
    assert calendar_of(cora)["method"] == "REQUEST"

    (gus,) = inbox.to("gus@example.org")
    assert gus["Content-Language"] == "en"
    assert event_of(gus)["uid"] != event["uid"]  # one event per seat

    # Sent, the message keeps no key to the seat: the database holds links as hashes only.
    stored = OutboxMessage.objects.get(seat=cast.cora)
    kept = stored.text + stored.html + "".join(a["content"] for a in stored.attachments)
    assert token not in kept and "/join/(link-not-kept)/" in stored.text


def test_a_new_date_raises_the_sequence_under_the_same_uid_and_cancel_cancels(
    scheduled, sam, inbox
):
    cast = scheduled
    seats_invite(room=cast.room, seats=[cast.ada], actor=sam)
    send_due()
    room_set_schedule(room=cast.room, actor=sam, starts_at="2027-03-05T10:00", ends_at="")
    room_set_schedule(room=cast.room, actor=sam, place="Suva")
    send_due()
    cast.room.refresh_from_db()
    room_cancel(room=cast.room, actor=sam)
    send_due()

    first, moved, moved_again, cancelled = inbox.to("ada@example.org")
    events = [event_of(m) for m in (first, moved, moved_again, cancelled)]
    assert len({str(e["uid"]) for e in events}) == 1
    sequences = [int(e["sequence"]) for e in events]
    assert sequences == sorted(sequences) and len(set(sequences)) == 4
    assert events[1].decoded("dtstart") == dt.datetime(2027, 3, 5, 10, 0, tzinfo=ZoneInfo(ZONE))
    assert "Suva" in str(events[2]["location"])
    assert not JOIN.search(body(moved, "plain"))  # the link is never repeated
    assert calendar_of(cancelled)["method"] == "CANCEL"
    assert str(events[3]["status"]) == "CANCELLED"
    cast.room.refresh_from_db()
    assert cast.room.cancelled_at and cast.room.status == "closed"
    with pytest.raises(ServiceError) as refused:
        room_cancel(room=cast.room, actor=sam)
    assert refused.value.code == "room_not_scheduled"


def test_a_refusing_server_delays_the_message_which_arrives_once_on_the_retry(
    scheduled, sam, inbox
):
    cast = scheduled
    (message,) = seats_invite(room=cast.room, seats=[cast.celia], actor=sam)
    inbox.refuse = ["451 4.3.0 Try again later"]
    now = timezone.now()
    (first,) = send_due(now=now)
    assert first.result == "retry" and first.smtp_code == 451
    assert inbox.received == []
    message.refresh_from_db()
    assert message.status == "queued" and message.next_attempt_at == now + BACKOFF[0]
    assert send_due(now=now) == []  # not due yet: nothing sent, nothing lost

    (second,) = send_due(now=now + BACKOFF[0])
    assert second.result == "sent"
    assert send_due(now=now + dt.timedelta(days=3)) == []  # never twice
    assert len(inbox.to("celia@example.org")) == 1
    attempts = list(MailAttempt.objects.filter(message=message).values_list("result", "smtp_code"))
    assert attempts == [("retry", 451), ("sent", None)]


def test_a_server_that_is_down_delays_and_a_permanent_refusal_is_a_bounce(
    scheduled, sam, settings, inbox
):
    cast = scheduled
    inbox.refuse = ["550 5.1.1 No such mailbox"]
    seats_invite(room=cast.room, seats=[cast.pia], actor=sam)
    (bounce,) = send_due()
    assert bounce.result == "failed"
    message = OutboxMessage.objects.get(seat=cast.pia)
    assert message.status == "failed" and "550" in message.status_reason

    settings.EMAIL_PORT = 1  # nothing listens there
    (queued,) = seats_invite(room=cast.room, seats=[cast.ada], actor=sam)
    (down,) = send_due()
    assert down.result == "retry" and down.smtp_code is None and down.error
    queued.refresh_from_db()
    assert queued.status == "queued"


def test_no_message_to_a_delegate_of_a_chatham_house_room_names_another_participant(
    scheduled, sam, inbox
):
    cast = scheduled
    others = [p for p in PERSONAS if p != "cyrus"]
    # An agenda item naming a participant: the invitation carries the agenda, so it is refused
    # (held, it would have cut Cyrus off: the old link is replaced with every invitation).
    cast.room.agenda_items.create(position=9, title="Statement by Cora Civil")
    with pytest.raises(ServiceError) as refused:
        seats_invite(room=cast.room, seats=[cast.cyrus], actor=sam)
    assert refused.value.code == "names_participant"
    assert not OutboxMessage.objects.exists()
    assert seat_by_token(cast.tokens["cyrus"]).pk == cast.cyrus.pk  # the old link still works

    # A notice that would name someone is held (the change that caused it stands).
    cast.room.refresh_from_db()
    held = queue_mail(
        kind="minutes_adopted",
        recipient="cyrus@example.org",
        language="en",
        subject="About Greta Government",
        text="Minutes adopted.",
        room=cast.room,
        seat=cast.cyrus,
    )
    assert held.status == "held" and "leak guard" in held.status_reason
    send_due()
    assert inbox.received == []
    held.delete()

    cast.room.agenda_items.filter(position=9).delete()
    seats_invite(room=cast.room, seats=[cast.cyrus], actor=sam)
    send_due()
    (sent,) = inbox.to("cyrus@example.org")
    whole = sent.as_string()
    assert "Cyrus Society" in body(sent, "plain")  # greeted by their own name
    for persona in others:
        name, org = PERSONAS[persona][:2]
        assert name not in whole and f"{persona}@example.org" not in whole
        assert not org or org not in whole


def test_queue_mail_is_part_of_the_callers_transaction(cast):
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        queue_mail(
            kind="invitation",
            recipient="x@example.org",
            language="en",
            subject="s",
            text="t",
            room=cast.room,
        )
        raise RuntimeError("the change fails")
    assert not OutboxMessage.objects.exists()


def test_with_nothing_configured_eml_files_are_written_and_listed(
    scheduled, sam, settings, tmp_path
):
    settings.EMAIL_BACKEND = "forum.services.mail_files.EmlFileBackend"
    settings.EMAIL_FILE_PATH = tmp_path / "mail"
    cast = scheduled
    seats_invite(room=cast.room, seats=[cast.gus, cast.greta], actor=sam)
    call_command("send_mail", stdout=open(tmp_path / "out.txt", "w"))
    files = sorted((tmp_path / "mail").glob("*.eml"))
    assert len(files) == 2
    assert "2 sent" in (tmp_path / "out.txt").read_text()
    assert any(b"greta@example.org" in f.read_bytes() for f in files)

    staff = Client()
    staff.force_login(sam)
    page = staff.get("/secretariat/outbox/").content.decode()
    assert page.count("data-message=") == 2 and "greta@example.org" in page
    message = OutboxMessage.objects.get(seat=cast.greta)
    view = staff.get(f"/secretariat/outbox/{message.pk}/").content.decode()
    assert 'data-attempt="sent"' in view
    eml = staff.get(f"/secretariat/outbox/{message.pk}.eml")
    assert eml["Content-Type"] == "message/rfc822"
    parsed = email.message_from_bytes(eml.content, policy=email.policy.default)
    assert "BEGIN:VCALENDAR" in next(parsed.iter_attachments()).get_content()
    assert Client().get("/secretariat/outbox/").status_code in (302, 403)


def test_a_bad_email_url_stops_the_start_and_none_writes_eml_files(tmp_path):
    from tests.test_settings import run_settings

    env = {"DEBUG": "1", "DATA_DIR": str(tmp_path)}
    bad = run_settings({**env, "EMAIL_URL": "smtps://user:secret@host"})
    last = bad.stderr.strip().splitlines()[-1]
    assert bad.returncode != 0 and "ImproperlyConfigured" in last and "EMAIL_URL" in last
    assert "secret" not in bad.stderr  # the password is never echoed

    dump = "import forum.settings as s; print(s.EMAIL_BACKEND, s.EMAIL_FILE_PATH)"
    default = run_settings(env, dump)
    assert default.stdout.split() == [
        "forum.services.mail_files.EmlFileBackend",
        str(tmp_path / "mail"),
    ]
    tls = run_settings({**env, "EMAIL_URL": "smtp+tls://u:p@mail.example.org:587"}, dump)
    assert tls.stdout.split()[0] == "django.core.mail.backends.smtp.EmailBackend"


@pytest.mark.django_db(transaction=True)
def test_two_senders_at_once_send_each_message_once(settings):
    import threading

    from django.db import connections

    from tests.support.personas import build_cast

    cast = build_cast()
    for n in range(12):
        queue_mail(
            kind="minutes_adopted",
            recipient=f"reader{n}@example.org",
            language="en",
            subject=f"Notice {n}",
            text="Minutes adopted.",
            room=cast.room,
        )
    results: list = []

    def sender():
        try:
            results.extend(send_due())
        finally:
            connections.close_all()

    with smtp_server(settings) as inbox:
        threads = [threading.Thread(target=sender) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert sorted(m["To"] for m in inbox.received) == sorted(
        f"reader{n}@example.org" for n in range(12)
    )
    assert len(results) == 12 and {o.result for o in results} == {"sent"}
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {"sent"}
