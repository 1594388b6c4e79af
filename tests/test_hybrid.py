"""Hybrid rooms: the chair raises a hand for a delegate in the meeting room, and records
that one spoke (a note attributed by the room's policy, in the minutes)."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from forum.errors import ServiceError
from forum.minutes.document import minutes_document
from forum.models import FloorRequest, Intervention, RoundTable
from forum.services import floor, hybrid
from moderation.models import AuditEntry
from realtime.events import PARTICIPANTS, validate_payload
from tests.support.sockets import ask, connect, event_of

pytestmark = pytest.mark.django_db(transaction=True)


async def test_the_chair_raises_a_hand_for_a_delegate_and_everyone_sees_it_raised_by_the_chair(
    cast, sockets
):
    socks = await connect(sockets, cast, "chloe", "cyrus")
    handle = cast.cora.public_id
    done = await ask(
        socks["chloe"],
        {"type": "hand", "action": "raise", "seat": handle, "kind": "reply", "ref": "p"},
    )
    assert (done["type"], done["action"], done["ref"]) == ("done", "raise", "p"), done
    frame = await event_of(socks["cyrus"], "floor.hand_raised")
    validate_payload("floor.hand_raised", PARTICIPANTS, frame["data"])
    [entry] = frame["data"]["queue"]
    assert entry["by_chair"] is True and entry["kind"] == "reply"
    assert entry["attribution"]["label"].startswith("Civil society · Delegate")
    assert "Cora" not in str(frame["data"])
    request = await database_sync_to_async(FloorRequest.objects.get)(public_id=done["request"])
    assert request.seat_id == cast.cora.pk and request.by_chair
    audit = await database_sync_to_async(
        lambda: AuditEntry.objects.get(room_id=cast.room.pk, action="proxy_floor")
    )()
    assert (audit.target, audit.data["op"]) == (handle, "raise")

    # The same delegate's hand cannot go up twice; a delegate's own frame may not name a seat.
    again = await ask(socks["chloe"], {"type": "hand", "action": "raise", "seat": handle})
    assert again["code"] == "already_raised"
    refused = await ask(
        socks["cyrus"], {"type": "hand", "action": "raise", "seat": cast.celia.public_id}
    )
    assert (refused["type"], refused["code"]) == ("error", "forbidden")
    unknown = await ask(
        socks["chloe"], {"type": "hand", "action": "raise", "seat": cast.rita.public_id}
    )
    assert (unknown["code"], unknown["field"]) == ("not_found", "seat")
    assert await database_sync_to_async(FloorRequest.objects.filter(room=cast.room).count)() == 1


async def test_the_chair_records_that_an_in_room_delegate_spoke(cast, sockets):
    socks = await connect(sockets, cast, "mona", "cyrus")
    await ask(socks["mona"], {"type": "hand", "action": "raise", "seat": cast.cora.public_id})
    await ask(socks["mona"], {"type": "floor", "action": "next"})
    done = await ask(
        socks["mona"],
        {
            "type": "floor",
            "action": "spoke",
            "seat": cast.cora.public_id,
            "note": "Asked that alerts reach the districts in local languages.",
            "ref": "s",
        },
    )
    assert (done["type"], done["action"], done["ref"]) == ("done", "spoke", "s"), done
    ended = await event_of(socks["cyrus"], "floor.turn_ended")
    assert ended["data"]["reason"] == "chair"
    posted = await event_of(socks["cyrus"], "intervention.posted")
    assert posted["data"]["kind"] == "in_room" and posted["data"]["id"] == done["id"]
    assert posted["data"]["attribution"]["label"].startswith("Civil society · Delegate")
    assert "Cora" not in str(posted["data"])

    refused = await ask(
        socks["cyrus"],
        {"type": "floor", "action": "spoke", "seat": cast.celia.public_id, "note": "x"},
    )
    assert (refused["type"], refused["code"]) == ("error", "forbidden")
    empty = await ask(
        socks["mona"],
        {"type": "floor", "action": "spoke", "seat": cast.cora.public_id, "note": "  "},
    )
    assert (empty["code"], empty["field"]) == ("invalid_note", "note")
    naming = await ask(
        socks["mona"],
        {
            "type": "floor",
            "action": "spoke",
            "seat": cast.cora.public_id,
            "note": "Agreed with Gustavo Gobierno.",
        },
    )
    assert naming["code"] == "names_participant"

    @database_sync_to_async
    def record():
        doc = minutes_document(RoundTable.objects.get(pk=cast.room.pk))
        return doc["items"][0]["interventions"], AuditEntry.objects.filter(
            room_id=cast.room.pk, action="proxy_floor"
        ).count()

    said, audited = await record()
    assert [(iv["kind"], iv["body_text"]) for iv in said] == [
        ("in_room", "Asked that alerts reach the districts in local languages.")
    ]
    assert said[0]["sentence"].startswith(
        "A participant from civil society spoke in the room; the chair's note:"
    )
    assert audited == 2  # the hand raised for Cora, then her turn recorded


def test_a_delegate_cannot_post_an_in_room_intervention_or_proxy_a_hand(cast):
    from uuid import uuid4

    from forum.services.interventions import intervention_post
    from forum.services.seats import seat_consent

    seat_consent(seat_id=cast.cora.pk, rule=cast.room.rule)
    with pytest.raises(ServiceError) as refused:
        intervention_post(seat_id=cast.cora.pk, client_id=uuid4(), body="Me", kind="in_room")
    assert refused.value.code == "invalid_frame"
    with pytest.raises(ServiceError) as refused:
        hybrid.hand_raise_for(actor_seat_id=cast.cora.pk, seat=cast.cyrus.public_id)
    assert refused.value.code == "forbidden"
    with pytest.raises(ServiceError) as refused:
        hybrid.turn_record(actor_seat_id=cast.rita.pk, seat=cast.cyrus.public_id, note="Spoke.")
    assert refused.value.code == "forbidden"
    assert not Intervention.objects.filter(room=cast.room).exists()
    assert floor.floor_state(room=cast.room, moderators=False)["queue"] == []
