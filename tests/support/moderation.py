"""Moderation helpers: a room with settings, posts (held or not), the events they left."""

from __future__ import annotations

import asyncio
import json
import uuid

from channels.db import database_sync_to_async
from django.utils import timezone

from forum.models import RoomEvent, RoundTable, Seat
from moderation.audit import audit_verify
from realtime.events import KINDS, MODERATORS, PARTICIPANTS, validate_payload

CLEAN = "Early warning only works when the alerts reach the districts in time."


REASON = "It names a fellow participant."


# The sockets most tests open, and the rendering each of them reads.
EVERYONE = ("chloe", "mona", "gus", "ada", "oscar")


AUDIENCE = {
    "chloe": MODERATORS,
    "mona": MODERATORS,
    "gus": PARTICIPANTS,
    "ada": PARTICIPANTS,
    "oscar": PARTICIPANTS,
    "cora": PARTICIPANTS,
    "cyrus": PARTICIPANTS,
    "rita": PARTICIPANTS,
}


REDACTED = {"kind": "redacted", "data": {}}


def post(body: str = CLEAN, client_id: str | None = None) -> dict:
    return {"type": "post", "client_id": client_id or str(uuid.uuid4()), "body": body}


@database_sync_to_async
def consent_everyone(room: RoundTable) -> None:
    Seat.objects.filter(room=room).update(consented_at=timezone.now())


async def room_with(cast, sockets, *personas: str) -> dict:
    """Consent every seat, then open one socket per persona, past its welcome."""
    await consent_everyone(cast.room)
    socks = {}
    for persona in personas:
        sock, connected, _ = await sockets(cast.seats[persona].user)
        assert connected
        await sock.recv_type("welcome")
        socks[persona] = sock
    return socks


async def next_event(socks: dict, kind: str, seen_by: tuple[str, ...]) -> dict:
    """The next event on every socket: one seq, `kind` for the audiences in `seen_by` (which
    must be what realtime/events.py declares), a bare `redacted` stub for the others."""
    assert KINDS[kind].audiences == seen_by
    frames = {name: (await sock.events(1))[0] for name, sock in socks.items()}
    seqs = {frame["seq"] for frame in frames.values()}
    assert len(seqs) == 1, frames
    for name, frame in frames.items():
        if AUDIENCE[name] in seen_by:
            assert frame["kind"] == kind, (name, frame)
            validate_payload(kind, AUDIENCE[name], frame["data"])
        else:
            assert frame == {"type": "event", "seq": frame["seq"], **REDACTED}, (name, frame)
    return frames


async def quiet(*socks, seconds: float = 0.3) -> None:
    """None of these sockets has anything pending or gets anything within `seconds`
    (presence aside). Unlike a receive with a timeout, this leaves the sockets open."""
    for sock in socks:
        assert not sock.backlog, sock.backlog
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        for sock in socks:
            while not sock.comm.output_queue.empty():
                message = sock.comm.output_queue.get_nowait()
                assert message["type"] == "websocket.send", message
                assert json.loads(message["text"])["type"] == "presence", message
        if loop.time() >= deadline:
            return
        await asyncio.sleep(0.02)


async def held_post(socks: dict, body: str) -> tuple[dict, dict]:
    """gus posts `body`, which is held: (his ack, the event as each socket got it)."""
    frame = post(body)
    await socks["gus"].send(frame)
    ack = await socks["gus"].recv_type("ack")
    assert ack["held"] is True
    assert ack["client_id"] == frame["client_id"]
    frames = await next_event(socks, "intervention.held", (MODERATORS,))
    assert next(iter(frames.values()))["seq"] == ack["seq"]
    return ack, frames


@database_sync_to_async
def log_is_valid(room) -> None:
    """Every event of the room's log is what events.py declares, for both audiences."""
    events = list(RoomEvent.objects.filter(room=room).order_by("seq"))
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    for event in events:
        validate_payload(event.kind, PARTICIPANTS, event.participants)
        validate_payload(event.kind, MODERATORS, event.moderators)
    assert audit_verify(room).ok
