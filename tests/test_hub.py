"""The room hub: one subscription per process, gapless delivery even when the layer drops."""

import uuid

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from forum.models import Seat
from forum.services.interventions import intervention_post
from realtime import log
from realtime.hub import hubs

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

_post = database_sync_to_async(intervention_post)


@database_sync_to_async
def consent(seat):
    Seat.objects.filter(pk=seat.pk).update(consented_at=timezone.now())


async def test_many_sockets_of_a_room_share_one_hub_and_one_group_member(cast, sockets):
    socks = []
    for persona in ("cora", "gus", "ada", "pia", "oscar"):
        sock, _, _ = await sockets(getattr(cast, persona).user)
        await sock.recv_type("welcome")
        socks.append(sock)
    (hub,) = hubs.hubs()
    assert len(hub.subscribers) == 5
    from channels.layers import get_channel_layer

    members = get_channel_layer().groups.get(log.group_for(cast.room.pk), {})
    assert list(members) == [hub.channel]


async def test_an_event_dropped_by_the_channel_layer_is_refilled_from_the_log(
    cast, sockets, monkeypatch
):
    await consent(cast.cora)
    gus, _, _ = await sockets(cast.gus.user)
    await gus.recv_type("welcome")
    real_publish = log.publish

    def lossy_publish(room_id, event):
        if event.seq != 2:  # the layer "loses" seq 2
            real_publish(room_id, event)

    monkeypatch.setattr(log, "publish", lossy_publish)
    for _ in range(3):
        await _post(seat_id=cast.cora.pk, client_id=uuid.uuid4(), body="x")
    events = await gus.events(3)
    assert [e["seq"] for e in events] == [1, 2, 3]


async def test_a_lost_last_event_arrives_through_the_periodic_look_at_the_log(
    cast, sockets, monkeypatch, settings
):
    settings.ROUNDTABLES = {**settings.ROUNDTABLES, "HUB_POLL_SECONDS": 0.1}
    await consent(cast.cora)
    gus, _, _ = await sockets(cast.gus.user)
    await gus.recv_type("welcome")
    monkeypatch.setattr(log, "publish", lambda room_id, event: None)  # the layer loses everything
    await _post(seat_id=cast.cora.pk, client_id=uuid.uuid4(), body="nobody heard this")
    (event,) = await gus.events(1, timeout=5)
    assert event["seq"] == 1


async def test_out_of_order_messages_are_delivered_in_order_once(cast, sockets):
    await consent(cast.cora)
    gus, _, _ = await sockets(cast.gus.user)
    await gus.recv_type("welcome")
    (hub,) = hubs.hubs()
    # Write two events to the log without publishing, then hand the hub seq 2 before seq 1.
    from unittest import mock

    with mock.patch.object(log, "publish", lambda room_id, event: None):
        await _post(seat_id=cast.cora.pk, client_id=uuid.uuid4(), body="first")
        await _post(seat_id=cast.cora.pk, client_id=uuid.uuid4(), body="second")
    frames = await database_sync_to_async(log.frames_between)(cast.room.pk, 0)
    await hub._dispatch(
        {"type": log.HUB_MESSAGE, "room": hub.room_id, "seq": 2, "frames": frames[1][1]}
    )
    await hub._dispatch(
        {"type": log.HUB_MESSAGE, "room": hub.room_id, "seq": 1, "frames": frames[0][1]}
    )
    events = await gus.events(2)
    assert [e["seq"] for e in events] == [1, 2]
    assert await gus.nothing()


async def test_presence_counts_seats_per_sector_and_never_names_anyone(cast, sockets):
    ada, _, _ = await sockets(cast.ada.user)
    await ada.recv_type("welcome")
    chloe, _, _ = await sockets(cast.chloe.user)
    await chloe.recv_type("welcome")
    for persona in ("cora", "cyrus", "gus", "oscar"):
        sock, _, _ = await sockets(getattr(cast, persona).user)
        await sock.recv_type("welcome")
    # A second socket of the same seat does not count twice.
    again, _, _ = await sockets(cast.cora.user)
    await again.recv_type("welcome")
    # Academia and the private sector seat one delegate each (< k = 3), two delegates in all,
    # too few to pool: participants' counts leave them out (their total too); the chair sees
    # every sector.
    for sock, sectors, total in (
        (ada, {"civil-society": 2, "government": 1}, 5),
        (chloe, {"academia": 1, "civil-society": 2, "government": 1}, 6),
    ):
        expected = {"type": "presence", "sectors": sectors, "others": 2, "total": total}
        for _ in range(20):
            frame = await sock.recv_type("presence", timeout=3)
            if frame == expected:
                break
        assert frame == expected


async def test_hub_stops_when_its_last_socket_leaves(cast, sockets):
    gus, _, _ = await sockets(cast.gus.user)
    await gus.recv_type("welcome")
    (hub,) = hubs.hubs()
    await gus.close()
    import asyncio

    for _ in range(50):
        if hub.stopped:
            break
        await asyncio.sleep(0.02)
    assert hub.stopped
    assert hubs.hubs() == []
