"""The secretariat's socket in a room it holds no seat in: it reads the participants' stream,
counts in no presence, and every frame that would change something is refused."""

from __future__ import annotations

import uuid

import pytest
from channels.db import database_sync_to_async

from forum.models import Seat, User
from forum.services.interventions import intervention_post
from forum.services.seats import seat_consent

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]


@database_sync_to_async
def make_sam() -> User:
    return User.objects.create_user(
        "sam@example.org", "sam@example.org", "a long passphrase 42", is_staff=True
    )


async def test_staff_read_the_stream_without_a_seat_and_take_no_part(cast, sockets):
    sam = await make_sam()
    sock, connected, _ = await sockets(sam)
    assert connected
    welcome = await sock.recv_type("welcome")
    assert welcome["you"]["role"] == "observer" and welcome["you"]["sector"] is None
    await database_sync_to_async(seat_consent)(seat_id=cast.cora.pk, rule="chatham-house")
    await database_sync_to_async(intervention_post)(
        seat_id=cast.cora.pk, client_id=uuid.uuid4(), body="Hello all"
    )
    (event,) = [e for e in await sock.events(2) if e["kind"] != "redacted"]
    assert event["kind"] == "intervention.posted" and "Hello all" in event["data"]["body_html"]
    # Participants' rendering: no seat handle, no name.
    assert "Cora" not in str(event) and cast.cora.public_id not in str(event)
    for frame in (
        {"type": "post", "client_id": str(uuid.uuid4()), "body": "from the secretariat"},
        {"type": "hand", "action": "raise"},
        {"type": "consent", "rule": "chatham-house"},
    ):
        await sock.send(frame)
        refused = await sock.recv_type("error")
        assert refused["code"] == "forbidden", frame
    await sock.send({"type": "ping"})
    assert (await sock.recv_type("pong"))["type"] == "pong"


async def test_a_staff_socket_counts_in_no_presence(cast, sockets):
    sam = await make_sam()
    chloe, _, _ = await sockets(cast.chloe.user)
    await chloe.recv_type("welcome")
    staff, _, _ = await sockets(sam)
    await staff.recv_type("welcome")
    expected = {"type": "presence", "sectors": {}, "others": 1, "total": 1}
    for _ in range(20):
        frame = await chloe.recv_type("presence", timeout=3)
        if frame == expected:
            break
    assert frame == expected
    assert not await database_sync_to_async(
        Seat.objects.filter(joined_at__isnull=False).exclude(pk=cast.chloe.pk).exists
    )()
