"""What the record knows of the session: who came (per sector, under the disclosure rule), when
and where it sat (in its own time zone), and how many review comments were left open."""

from __future__ import annotations

import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from docx import Document

from forum.errors import ServiceError
from forum.minutes.access import version_document
from forum.minutes.document import minutes_document
from forum.minutes.formats.akn import render_akn_minutes
from forum.minutes.formats.docx import render_docx_minutes
from forum.minutes.formats.html import render_html_minutes
from forum.minutes.formats.markdown import render_markdown_minutes
from forum.models import MinutesComment, RoomEvent, Seat, User
from forum.services.minutes import (
    minutes_adopt,
    minutes_comment,
    minutes_comment_mark,
    minutes_review_open,
    minutes_save,
)
from forum.services.rooms import dialogue_get_or_create, room_create
from forum.services.schedule import room_set_schedule
from forum.services.seats import seat_consent, seat_mark_joined, seat_set_presence
from moderation.disclosure import POOLED
from moderation.models import AuditEntry
from tests.support.personas import build_cast, sign_in

pytestmark = pytest.mark.django_db

AUCKLAND = ZoneInfo("Pacific/Auckland")


@pytest.fixture
def sam(db) -> User:
    return User.objects.create_user(
        "sam@example.org", "sam@example.org", "a long passphrase 42", is_staff=True
    )


def came(cast, *personas: str, consent: bool = True) -> None:
    for persona in personas:
        seat = getattr(cast, persona)
        seat_mark_joined(seat_id=seat.pk)
        if consent:
            seat_consent(seat_id=seat.pk, rule=cast.room.rule)


def attendance(room) -> dict:
    return minutes_document(room)["header"]["attendance"]


# -- attendance -------------------------------------------------------------------------------


def test_attendance_counts_seats_held_and_delegates_who_joined_per_sector(sam):
    # k = 2: government and civil society (three seated each) are shown; academia and the
    # private sector (one each) are pooled together ("Other participants": two sectors, two seats).
    cast = build_cast(k=2)
    came(cast, "gus", "greta", "cora")
    came(cast, "gil", consent=False)  # connected, never accepted the rule: not present
    came(cast, "ada")
    seat_set_presence(seat=cast.pia, presence="in_room", actor=sam)  # no device, in the room
    att = attendance(cast.room)
    by_key = {s["slug"]: s for s in att["sectors"]}
    assert by_key["government"] == {
        "slug": "government",
        "name": "Government",
        "delegates": 3,
        "present": 2,
    }
    assert by_key["civil-society"]["delegates"] == 3 and by_key["civil-society"]["present"] == 1
    assert by_key[POOLED]["delegates"] == 2 and by_key[POOLED]["present"] == 2
    assert "academia" not in by_key and "private-sector" not in by_key
    assert (att["delegates"], att["present"], att["in_room"]) == (8, 5, 1)


def test_in_an_open_room_joining_is_enough_and_every_sector_is_named(db):
    cast = build_cast("open-room", rule="open")
    seat_mark_joined(seat_id=cast.ada.pk)
    by_key = {s["slug"]: s for s in attendance(cast.room)["sectors"]}
    assert by_key["academia"] == {
        "slug": "academia",
        "name": "Academia",
        "delegates": 1,
        "present": 1,
    }


def test_a_pool_below_the_rule_shows_nothing_but_counts_in_the_totals(cast):
    # k = 3: academia and the private sector seat one delegate each, too few to pool.
    came(cast, "ada")
    att = attendance(cast.room)
    keys = [s["slug"] for s in att["sectors"]]
    assert keys == ["government", "civil-society"] and att["present"] == 1


def test_a_pool_of_one_shows_nothing(cast):
    cast.pia.delete()
    came(cast, "ada")
    keys = [s["slug"] for s in attendance(cast.room)["sectors"]]
    assert POOLED not in keys and "academia" not in keys


def test_the_first_join_is_kept_and_later_ones_write_nothing(cast):
    assert seat_mark_joined(seat_id=cast.gus.pk) is True
    first = Seat.objects.get(pk=cast.gus.pk).joined_at
    assert seat_mark_joined(seat_id=cast.gus.pk) is False
    assert Seat.objects.get(pk=cast.gus.pk).joined_at == first


def test_attendance_is_in_every_format(cast):
    came(cast, "gus", "greta", "gil")
    doc = minutes_document(cast.room)
    md = render_markdown_minutes(doc)
    assert "| Sector | Seats held | Present |" in md and "| Government | 3 | 3 |" in md
    assert "Delegates present: 3" in md
    html = render_html_minutes(doc)
    assert "<td>Government</td><td>3</td><td>3</td>" in html
    text = "\n".join(
        c.text
        for t in Document(io.BytesIO(render_docx_minutes(doc))).tables
        for r in t.rows
        for c in r.cells
    )
    assert "Present" in text
    assert (
        "<td>Present</td>" in render_akn_minutes(doc).decode()
        or ">Present<" in render_akn_minutes(doc).decode()
    )


def test_presence_is_marked_by_the_chair_and_moderators_and_audited(cast):
    seat_set_presence(seat=cast.gus.public_id, presence="in_room", actor_seat_id=cast.mona.pk)
    assert Seat.objects.get(pk=cast.gus.pk).presence == "in_room"
    entry = AuditEntry.objects.filter(room=cast.room, action="mark_presence").get()
    assert (
        entry.target == cast.gus.public_id
        and entry.data["via"] == "room"
        and entry.data["after"] == "in_room"
    )
    for persona in ("cora", "oscar", "rita"):
        with pytest.raises(ServiceError) as refused:
            seat_set_presence(
                seat=cast.gus.public_id, presence="online", actor_seat_id=getattr(cast, persona).pk
            )
        assert refused.value.code == "forbidden"
    with pytest.raises(ServiceError) as bad:
        seat_set_presence(
            seat=cast.gus.public_id, presence="elsewhere", actor_seat_id=cast.chloe.pk
        )
    assert bad.value.code == "invalid_presence"
    assert Seat.objects.get(pk=cast.gus.pk).presence == "in_room"


def test_the_secretariat_marks_presence_on_its_page(cast, sam):
    client = Client()
    client.force_login(sam)
    response = client.post(
        f"/secretariat/rooms/{cast.room.slug}/",
        {"action": "presence", "seat": cast.cora.public_id, "presence": "in_room"},
    )
    assert response.status_code == 302
    assert Seat.objects.get(pk=cast.cora.pk).presence == "in_room"
    assert AuditEntry.objects.filter(
        room=cast.room, action="mark_presence", data__via="secretariat"
    ).exists()
    page = client.get(f"/secretariat/rooms/{cast.room.slug}/").content.decode()
    assert "Mark online" in page


# -- date, place, time zone ---------------------------------------------------------------------


def test_the_minutes_date_the_session_in_its_own_time_zone(db):
    dialogue = dialogue_get_or_create(slug="pif", title="Pacific dialogue")
    # 09:00 on 4 March in Auckland is still 3 March in UTC.
    room = room_create(
        dialogue=dialogue,
        slug="akl",
        title="Auckland round table",
        time_zone="Pacific/Auckland",
        starts_at=dt.datetime(2027, 3, 4, 9, 0),
        ends_at="2027-03-04T17:30",
        place="Auckland",
        online=True,
    )
    assert room.starts_at == dt.datetime(2027, 3, 3, 20, 0, tzinfo=dt.UTC)
    header = minutes_document(room)["header"]
    assert header["date"] == "2027-03-04"
    assert (
        header["starts_at"] == "2027-03-04T09:00+13:00"
        and header["ends_at"] == "2027-03-04T17:30+13:00"
    )
    assert header["time_zone"] == "Pacific/Auckland" and header["place"] == "Auckland and online"
    md = render_markdown_minutes(minutes_document(room))
    assert (
        "**Date:** 2027-03-04" in md
        and "09:00–17:30 (Pacific/Auckland)" in md
        and "Auckland and online" in md
    )


def test_without_a_schedule_the_date_is_when_it_went_live_in_its_zone_not_the_first_event(db):
    cast = build_cast("akl-live", status="scheduled", time_zone="Pacific/Auckland")
    # An early consent, days before, logged while the room was still scheduled.
    seat_consent(seat_id=cast.gus.pk, rule=cast.room.rule)
    RoomEvent.objects.filter(room=cast.room).update(
        created_at=dt.datetime(2027, 2, 25, 1, 0, tzinfo=dt.UTC)
    )
    from forum.services.rooms import room_set_status

    room_set_status(room=cast.room, status="live")
    # Went live at 22:30 UTC on 3 March: 11:30 on 4 March in Auckland.
    RoomEvent.objects.filter(room=cast.room, kind="room.status_changed").update(
        created_at=dt.datetime(2027, 3, 3, 22, 30, tzinfo=dt.UTC)
    )
    assert minutes_document(cast.room)["header"]["date"] == "2027-03-04"


def test_place_online_only_city_only_and_in_the_minutes_language(db):
    dialogue = dialogue_get_or_create(slug="d", title="D")
    online = room_create(dialogue=dialogue, slug="a", title="A", language="es")
    city = room_create(dialogue=dialogue, slug="b", title="B", place="Suva")
    assert minutes_document(online)["header"]["place"] == "en línea"
    assert (city.online, minutes_document(city)["header"]["place"]) == (False, "Suva")


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"time_zone": "Pacific/Nowhere"}, "invalid_time_zone"),
        ({"time_zone": "../../etc/passwd"}, "invalid_time_zone"),
        ({"starts_at": "tomorrow"}, "invalid_date"),
        ({"starts_at": "2027-03-04T09:00", "ends_at": "2027-03-04T08:00"}, "invalid_date"),
        ({"ends_at": "2027-03-04T08:00"}, "invalid_date"),
        ({"place": "x" * 201}, "invalid_place"),
    ],
)
def test_a_bad_schedule_is_refused_and_changes_nothing(cast, sam, fields, code):
    with pytest.raises(ServiceError) as refused:
        room_set_schedule(room=cast.room, actor=sam, **fields)
    assert refused.value.code == code
    cast.room.refresh_from_db()
    assert (cast.room.time_zone, cast.room.starts_at, cast.room.place) == ("UTC", None, "")


def test_the_secretariat_sets_the_schedule_and_it_is_audited(cast, sam):
    client = Client()
    client.force_login(sam)
    response = client.post(
        f"/secretariat/rooms/{cast.room.slug}/",
        {
            "action": "schedule",
            "starts_at": "2027-03-04T09:00",
            "ends_at": "2027-03-04T17:30",
            "time_zone": "Pacific/Auckland",
            "place": "Auckland",
            "online": "on",
        },
    )
    assert response.status_code == 302
    cast.room.refresh_from_db()
    assert (
        cast.room.starts_at.astimezone(AUCKLAND).hour == 9
        and cast.room.place == "Auckland"
        and cast.room.online
    )
    assert AuditEntry.objects.filter(room=cast.room, action="set_schedule").count() == 1
    bad = client.post(
        f"/secretariat/rooms/{cast.room.slug}/", {"action": "schedule", "time_zone": "Mars/Olympus"}
    )
    assert bad.status_code == 400 and "Mars/Olympus" in bad.content.decode()
    assert cast.room.__class__.objects.get(pk=cast.room.pk).time_zone == "Pacific/Auckland"
    # The page shows the local time back.
    assert (
        'value="2027-03-04T09:00"'
        in client.get(f"/secretariat/rooms/{cast.room.slug}/").content.decode()
    )


def test_only_the_secretariat_sets_the_schedule(cast, outsider):
    with pytest.raises(ServiceError):
        room_set_schedule(room=cast.room, actor=outsider, place="Suva")


def test_create_room_takes_the_schedule(db):
    out = io.StringIO()
    call_command(
        "create_room",
        "akl",
        "Auckland",
        "--starts",
        "2027-03-04T09:00",
        "--time-zone",
        "Pacific/Auckland",
        "--place",
        "Auckland",
        "--hybrid",
        stdout=out,
    )
    room = __import__("forum.models", fromlist=["RoundTable"]).RoundTable.objects.get(slug="akl")
    assert (
        room.online
        and room.place == "Auckland"
        and minutes_document(room)["header"]["date"] == "2027-03-04"
    )
    with pytest.raises(CommandError, match="not a time zone"):
        call_command("create_room", "x", "X", "--time-zone", "Nowhere/City", stdout=io.StringIO())


# -- adoption with open comments ----------------------------------------------------------------


def reviewed(cast) -> list[MinutesComment]:
    minutes_save(actor_seat_id=cast.rita.pk, summaries={}, note="draft")
    minutes_review_open(actor_seat_id=cast.rita.pk, version=1)
    return [
        minutes_comment(seat_id=cast.cora.pk, version=1, body="Say more about villages."),
        minutes_comment(seat_id=cast.gus.pk, version=1, body="Fine by me."),
    ]


def test_adopting_with_unanswered_comments_needs_the_chairs_confirmation(cast):
    first, second = reviewed(cast)
    with pytest.raises(ServiceError) as refused:
        minutes_adopt(actor_seat_id=cast.chloe.pk, version=1)
    assert refused.value.code == "open_comments" and refused.value.extra["count"] == 2
    assert "2 review comments have not been answered" in refused.value.message
    assert not cast.room.minutes_versions.filter(adopted_at__isnull=False).exists()
    minutes_comment_mark(actor_seat_id=cast.rita.pk, comment=first.public_id, addressed=True)
    with pytest.raises(ServiceError):
        minutes_adopt(actor_seat_id=cast.chloe.pk, version=1)
    row = minutes_adopt(actor_seat_id=cast.chloe.pk, version=1, confirm_open_comments=True)
    assert row.open_comments == 1
    doc = version_document(row)
    assert doc["version"]["open_comments"] == 1
    assert "1 review comment was left open." in render_markdown_minutes(doc)
    entry = AuditEntry.objects.filter(room=cast.room, action="adopt_minutes").get()
    assert entry.data["open_comments"] == 1


def test_answered_comments_adopt_without_confirmation_and_the_status_line_says_nothing(cast):
    for comment, addressed in zip(reviewed(cast), (True, False), strict=True):
        minutes_comment_mark(
            actor_seat_id=cast.rita.pk, comment=comment.public_id, addressed=addressed
        )
    row = minutes_adopt(actor_seat_id=cast.chloe.pk, version=1)
    assert row.open_comments == 0
    assert "left open" not in render_markdown_minutes(version_document(row))


def test_only_the_rapporteur_and_the_chair_answer_comments_and_it_is_an_event(cast):
    first, _ = reviewed(cast)
    with pytest.raises(ServiceError) as refused:
        minutes_comment_mark(actor_seat_id=cast.cora.pk, comment=first.public_id, addressed=True)
    assert refused.value.code == "forbidden"
    for bad in ("yes", 1):
        with pytest.raises(ServiceError):
            minutes_comment_mark(actor_seat_id=cast.rita.pk, comment=first.public_id, addressed=bad)
    with pytest.raises(ServiceError) as missing:
        minutes_comment_mark(actor_seat_id=cast.rita.pk, comment="nope", addressed=True)
    assert missing.value.code == "not_found"
    minutes_comment_mark(actor_seat_id=cast.chloe.pk, comment=first.public_id, addressed=False)
    event = RoomEvent.objects.filter(room=cast.room, kind="minutes.comment_marked").get()
    assert event.participants == {"version": 1, "id": first.public_id, "addressed": False}


def test_the_minutes_page_asks_the_chair_to_confirm(cast):
    reviewed(cast)
    chair = sign_in(Client(), cast.chloe)
    page = chair.get(f"/rooms/{cast.room.slug}/minutes/?version=1").content.decode()
    assert (
        "2 review comments have not been answered" in page
        and 'name="confirm_open_comments"' in page
    )
    refused = chair.post(f"/rooms/{cast.room.slug}/minutes/", {"action": "adopt", "version": "1"})
    assert refused.status_code == 409 and "Confirm to adopt" in refused.content.decode()
    done = chair.post(
        f"/rooms/{cast.room.slug}/minutes/",
        {"action": "adopt", "version": "1", "confirm_open_comments": "1"},
    )
    assert done.status_code == 302
    assert cast.room.minutes_versions.get(number=1).open_comments == 2


def test_the_rapporteur_marks_a_comment_on_the_page(cast):
    first, _ = reviewed(cast)
    rapporteur = sign_in(Client(), cast.rita)
    assert (
        "Mark addressed"
        in rapporteur.get(f"/rooms/{cast.room.slug}/minutes/?version=1").content.decode()
    )
    response = rapporteur.post(
        f"/rooms/{cast.room.slug}/minutes/",
        {"action": "mark_comment", "comment": first.public_id, "addressed": "yes"},
    )
    assert response.status_code == 302
    assert MinutesComment.objects.get(pk=first.pk).addressed is True
    assert (
        rapporteur.post(
            f"/rooms/{cast.room.slug}/minutes/",
            {"action": "mark_comment", "comment": first.public_id, "addressed": "maybe"},
        ).status_code
        == 400
    )


def test_the_pages_show_the_sessions_date_hours_and_place_in_its_time_zone(db):
    cast = build_cast(
        "akl-page",
        time_zone="Pacific/Auckland",
        starts_at="2027-03-04T09:00",
        ends_at="2027-03-04T17:30",
        place="Auckland",
        online=True,
    )
    when = "2027-03-04 09:00–17:30 (Pacific/Auckland) · Auckland and online"
    assert when in sign_in(Client(), cast.gus).get("/rooms/akl-page/").content.decode()
    assert when in Client().get(f"/join/{cast.tokens['gus']}/").content.decode()
