"""The agenda run by the chair (frames over a real socket) and prepared by the secretariat
(services): who may, the events, the audit entries, validation that leaves state untouched,
and that what happens after a move lands on the new item."""

from __future__ import annotations

import uuid

import pytest
from channels.db import database_sync_to_async

from forum.errors import Forbidden, ServiceError
from forum.minutes.document import minutes_document
from forum.models import (
    AgendaItem,
    ConsensusCheck,
    FloorRequest,
    Intervention,
    RoomEvent,
    RoundTable,
    User,
)
from forum.services import agenda, consensus, floor, interventions
from forum.services.seats import seat_consent
from moderation.models import AuditEntry
from realtime.events import MODERATORS, PARTICIPANTS, validate_payload
from tests.support.personas import Cast, build_cast
from tests.support.sockets import ask, connect, event_of

ITEMS = ["Overcoming tensions between governments and civil society", "The role of the media"]


def two_item_cast(status: str = RoundTable.Status.LIVE) -> Cast:
    return build_cast(agenda=ITEMS, status=status)


def state(room: RoundTable) -> dict:
    return {
        "items": list(
            AgendaItem.objects.filter(room=room)
            .order_by("position")
            .values_list("public_id", "position", "title")
        ),
        "current": RoundTable.objects.values_list("current_item_id", flat=True).get(pk=room.pk),
        "events": RoomEvent.objects.filter(room=room).count(),
        "audit": AuditEntry.objects.filter(room_id=room.pk).count(),
    }


def items_of(room: RoundTable) -> list[AgendaItem]:
    return list(AgendaItem.objects.filter(room=room).order_by("position"))


# -- frames over a real socket --------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_the_chair_moves_to_the_next_item_and_every_socket_hears_it(sockets):
    cast = await database_sync_to_async(two_item_cast)()
    first, second = await database_sync_to_async(items_of)(cast.room)
    socks = await connect(sockets, cast, "chloe", "cora")
    done = await ask(
        socks["chloe"], {"type": "agenda", "action": "set", "item": second.public_id, "ref": "a1"}
    )
    assert (done["type"], done["action"], done["item"], done["ref"]) == (
        "done",
        "set",
        second.public_id,
        "a1",
    )
    for persona in ("chloe", "cora"):
        frame = await event_of(socks[persona], "agenda.current_changed")
        assert frame["data"] == {"agenda_item": second.public_id, "title": ITEMS[1]}
    room = await database_sync_to_async(RoundTable.objects.get)(pk=cast.room.pk)
    assert room.current_item_id == second.pk
    entry = await database_sync_to_async(
        lambda: AuditEntry.objects.filter(room_id=cast.room.pk, action="run_agenda").get()
    )()
    assert entry.target == second.public_id


@pytest.mark.django_db(transaction=True)
async def test_a_moderator_adds_renames_and_moves_items_live(sockets):
    cast = await database_sync_to_async(two_item_cast)()
    socks = await connect(sockets, cast, "mona", "cora")
    done = await ask(
        socks["mona"],
        {"type": "agenda", "action": "add", "title": "  Any other business ", "ref": "x"},
    )
    added = done["item"]
    frame = await event_of(socks["cora"], "agenda.changed")
    validate_payload("agenda.changed", PARTICIPANTS, frame["data"])
    assert frame["data"]["action"] == "add" and frame["data"]["item"] == added
    assert [i["title"] for i in frame["data"]["items"]] == [*ITEMS, "Any other business"]
    assert (await event_of(socks["mona"], "agenda.changed"))["data"] == frame["data"]

    await ask(socks["mona"], {"type": "agenda", "action": "move", "item": added, "position": 1})
    frame = await event_of(socks["mona"], "agenda.changed")
    validate_payload("agenda.changed", MODERATORS, frame["data"])
    assert [i["id"] for i in frame["data"]["items"]][0] == added
    assert [i["position"] for i in frame["data"]["items"]] == [1, 2, 3]

    await ask(
        socks["mona"], {"type": "agenda", "action": "rename", "item": added, "title": "Opening"}
    )
    frame = await event_of(socks["mona"], "agenda.changed")
    assert frame["data"]["items"][0]["title"] == "Opening"
    ops = await database_sync_to_async(
        lambda: [
            entry.data["op"]
            for entry in AuditEntry.objects.filter(
                room_id=cast.room.pk, action="run_agenda"
            ).order_by("seq")
        ]
    )()
    assert ops == ["add", "move", "rename"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("persona", ["rita", "cora", "oscar"])
async def test_others_are_refused_with_forbidden_and_nothing_changes(sockets, persona):
    cast = await database_sync_to_async(two_item_cast)()
    second = (await database_sync_to_async(items_of)(cast.room))[1]
    socks = await connect(sockets, cast, persona)
    before = await database_sync_to_async(state)(cast.room)
    for frame in (
        {"type": "agenda", "action": "set", "item": second.public_id, "ref": "r"},
        {"type": "agenda", "action": "add", "title": "Mine", "ref": "r"},
        {
            "type": "agenda",
            "action": "rename",
            "item": second.public_id,
            "title": "Mine",
            "ref": "r",
        },
        {"type": "agenda", "action": "move", "item": second.public_id, "position": 1, "ref": "r"},
    ):
        error = await ask(socks[persona], frame)
        assert (error["type"], error["code"], error["ref"]) == ("error", "forbidden", "r"), error
        assert "agenda" in error["message"]
    assert await database_sync_to_async(state)(cast.room) == before


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("frame", "code", "field"),
    [
        ({"action": "set", "item": "nope"}, "not_found", "item"),
        ({"action": "set"}, "invalid_frame", "item"),
        ({"action": "add", "title": "   "}, "invalid_title", "title"),
        ({"action": "add", "title": "x" * 301}, "invalid_title", "title"),
        ({"action": "add", "title": "Late", "position": 4}, "invalid_position", "position"),
        ({"action": "add", "title": "Late", "position": 0}, "invalid_position", "position"),
        ({"action": "add", "title": "Late", "position": "1"}, "invalid_frame", "position"),
        ({"action": "move", "item": "FIRST", "position": 3}, "invalid_position", "position"),
        ({"action": "rename", "item": "FIRST", "title": 7}, "invalid_frame", "title"),
        (
            {"action": "rename", "item": "FIRST", "title": "Gustavo Gobierno's proposal"},
            "names_participant",
            "title",
        ),
        ({"action": "jump", "item": "FIRST"}, "invalid_frame", "action"),
    ],
)
async def test_invalid_agenda_frames_are_refused_naming_the_problem(sockets, frame, code, field):
    cast = await database_sync_to_async(two_item_cast)()
    first = (await database_sync_to_async(items_of)(cast.room))[0]
    if frame.get("item") == "FIRST":
        frame = {**frame, "item": first.public_id}
    socks = await connect(sockets, cast, "chloe")
    before = await database_sync_to_async(state)(cast.room)
    error = await ask(socks["chloe"], {"type": "agenda", **frame})
    assert (error["type"], error["code"], error.get("field")) == ("error", code, field), error
    assert error["message"]
    assert await database_sync_to_async(state)(cast.room) == before


# -- services ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_moving_on_ends_the_turn_and_what_follows_lands_on_the_new_item():
    cast = two_item_cast()
    first, second = items_of(cast.room)
    for persona in ("gus", "cora"):
        seat_consent(seat_id=cast.seats[persona].pk, rule=cast.room.rule)
    floor.hand_raise(seat_id=cast.gus.pk)
    floor.floor_give_next(actor_seat_id=cast.chloe.pk)
    check = consensus.check_open(actor_seat_id=cast.chloe.pk, proposition="Alerts within the hour.")
    interventions.intervention_post(
        seat_id=cast.cora.pk, client_id=uuid.uuid4(), body="On item one."
    )

    agenda.agenda_set_current(actor_seat_id=cast.chloe.pk, item_id=second.public_id)

    turn = FloorRequest.objects.get(room=cast.room)
    assert turn.status == FloorRequest.Status.DONE and turn.agenda_item_id == first.pk
    kinds = list(
        RoomEvent.objects.filter(room=cast.room).order_by("-seq").values_list("kind", flat=True)[:2]
    )
    assert kinds == ["agenda.current_changed", "floor.turn_ended"]
    # The open check stays with its item.
    opened = ConsensusCheck.objects.get(public_id=check)
    assert opened.status == ConsensusCheck.Status.OPEN and opened.agenda_item_id == first.pk

    interventions.intervention_post(
        seat_id=cast.cora.pk, client_id=uuid.uuid4(), body="On item two."
    )
    floor.hand_raise(seat_id=cast.gus.pk)
    floor.floor_give_next(actor_seat_id=cast.chloe.pk)
    consensus.check_open(actor_seat_id=cast.chloe.pk, proposition="Media get the alerts too.")
    assert Intervention.objects.filter(room=cast.room, agenda_item=second).count() == 1
    assert FloorRequest.objects.filter(room=cast.room, agenda_item=second).count() == 1
    assert ConsensusCheck.objects.filter(room=cast.room, agenda_item=second).count() == 1

    doc = minutes_document(RoundTable.objects.get(pk=cast.room.pk))
    one, two = doc["items"]
    assert [iv["body_text"] for iv in one["interventions"]] == ["On item one."]
    assert [iv["body_text"] for iv in two["interventions"]] == ["On item two."]
    assert len(one["consensus_checks"]) == 1 and len(two["consensus_checks"]) == 1


@pytest.mark.django_db
def test_the_secretariat_edits_the_agenda_before_the_session_only():
    cast = two_item_cast(status=RoundTable.Status.SCHEDULED)
    staff = User.objects.create_user("sam@secretariat.example", password="x", is_staff=True)
    first, second = items_of(cast.room)
    added = agenda.agenda_add(actor=staff, room=cast.room, title="Opening", position=1)
    assert [i.title for i in items_of(cast.room)] == ["Opening", *ITEMS]
    agenda.agenda_move(actor=staff, room=cast.room, item_id=added.public_id, position=3)
    agenda.agenda_rename(actor=staff, room=cast.room, item_id=second.public_id, title="Media")
    assert [i.title for i in items_of(cast.room)] == [ITEMS[0], "Media", "Opening"]
    agenda.agenda_remove(actor=staff, room=cast.room, item_id=first.public_id)
    assert [(i.position, i.title) for i in items_of(cast.room)] == [(1, "Media"), (2, "Opening")]
    room = RoundTable.objects.get(pk=cast.room.pk)
    assert room.current_item_id == second.pk  # the removed item was current
    entries = AuditEntry.objects.filter(room_id=room.pk, action="run_agenda").order_by("seq")
    assert [(e.data["op"], e.data["via"]) for e in entries] == [
        ("add", "secretariat"),
        ("move", "secretariat"),
        ("rename", "secretariat"),
        ("remove", "secretariat"),
    ]

    agenda.agenda_remove(actor=staff, room=room, item_id=added.public_id)
    with pytest.raises(ServiceError) as refused:
        agenda.agenda_remove(actor=staff, room=room, item_id=second.public_id)
    assert refused.value.code == "agenda_empty"

    outsider = User.objects.create_user("nobody@example.org")
    with pytest.raises(Forbidden):
        agenda.agenda_add(actor=outsider, room=room, title="Mine")
    RoundTable.objects.filter(pk=room.pk).update(status=RoundTable.Status.LIVE)
    with pytest.raises(ServiceError) as refused:
        agenda.agenda_add(actor=staff, room=RoundTable.objects.get(pk=room.pk), title="Late")
    assert refused.value.code == "agenda_running"


@pytest.mark.django_db
def test_an_item_something_was_said_under_cannot_be_removed():
    cast = two_item_cast()
    first, _second = items_of(cast.room)
    seat_consent(seat_id=cast.cora.pk, rule=cast.room.rule)
    interventions.intervention_post(seat_id=cast.cora.pk, client_id=uuid.uuid4(), body="Said.")
    RoundTable.objects.filter(pk=cast.room.pk).update(status=RoundTable.Status.SCHEDULED)
    staff = User.objects.create_user("sam@secretariat.example", password="x", is_staff=True)
    with pytest.raises(ServiceError) as refused:
        agenda.agenda_remove(
            actor=staff, room=RoundTable.objects.get(pk=cast.room.pk), item_id=first.public_id
        )
    assert refused.value.code == "agenda_item_used"
    assert len(items_of(cast.room)) == 2


@pytest.mark.django_db
def test_the_secretariat_page_edits_the_agenda_through_its_forms():
    from django.test import Client

    cast = two_item_cast(status=RoundTable.Status.SCHEDULED)
    staff = User.objects.create_user("sam@secretariat.example", password="x", is_staff=True)
    client = Client()
    client.force_login(staff)
    url = f"/secretariat/rooms/{cast.room.slug}/"
    first, second = items_of(cast.room)
    assert 'value="agenda_rename"' in client.get(url).content.decode()

    assert (
        client.post(url, {"action": "agenda_add", "title": "Opening", "position": "1"}).status_code
        == 302
    )
    assert (
        client.post(
            url, {"action": "agenda_move", "item": second.public_id, "position": "1"}
        ).status_code
        == 302
    )
    assert (
        client.post(
            url, {"action": "agenda_rename", "item": first.public_id, "title": "Tensions"}
        ).status_code
        == 302
    )
    assert [i.title for i in items_of(cast.room)] == [ITEMS[1], "Opening", "Tensions"]

    before = state(cast.room)
    refused = client.post(url, {"action": "agenda_move", "item": second.public_id, "position": "9"})
    assert refused.status_code == 400 and "invalid_position" in refused.content.decode()
    refused = client.post(url, {"action": "agenda_add", "title": ""})
    assert refused.status_code == 400 and "invalid_title" in refused.content.decode()
    assert state(cast.room) == before

    RoundTable.objects.filter(pk=cast.room.pk).update(status=RoundTable.Status.LIVE)
    page = client.get(url).content.decode()
    assert 'value="agenda_rename"' not in page
    refused = client.post(url, {"action": "agenda_remove", "item": second.public_id})
    assert refused.status_code == 400 and "agenda_running" in refused.content.decode()


@pytest.mark.django_db
def test_reordering_the_agenda_live_does_not_move_earlier_turns_to_another_item():
    from forum.parity import parity_figures

    cast = two_item_cast()
    first, second = items_of(cast.room)
    floor.hand_raise(seat_id=cast.gus.pk)
    floor.floor_give_next(actor_seat_id=cast.chloe.pk)
    # The chair puts item 2 first without moving on to it: the turn stays with item 1.
    agenda.agenda_move(actor_seat_id=cast.chloe.pk, item_id=second.public_id, position=1)
    figures = parity_figures(RoundTable.objects.get(pk=cast.room.pk))
    turns = {
        item["agenda_item"]: item["sectors"]["government"]["turns"] for item in figures["items"]
    }
    assert turns == {first.public_id: 1, second.public_id: 0}
    assert [item["agenda_item"] for item in figures["items"]] == [second.public_id, first.public_id]
    assert (
        next(item for item in figures["items"] if item["current"])["agenda_item"] == first.public_id
    )
