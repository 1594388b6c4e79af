"""The room event log: append inside the transaction, publish after commit.

`append_event` is the only writer of RoomEvent. It locks the room's counter row, so two
writers (threads or Daphne processes) can never take the same seq or leave a hole, and it
schedules the publication with `transaction.on_commit`: no client ever hears of a change
that was rolled back, and a published seq is always already readable from the log.

Frames are rendered and JSON-encoded here, once per audience per event; the hubs of every
process write those strings to their sockets unchanged.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction
from django.utils import translation

from forum.models import FloorRequest, RoomEvent, RoundTable, Seat

from .events import AUDIENCES, validate_payload

logger = logging.getLogger(__name__)

_SURROGATE = re.compile("[\ud800-\udfff]")

HUB_MESSAGE = "room.event"
SEAT_MESSAGE = "room.seat_notice"
# The close code of a socket whose seat changed role or sector since it opened: the page
# reloads and reconnects under the new one (docs/protocol.md).
SEAT_CHANGED_CLOSE = 4409


def group_for(room_id: int) -> str:
    return f"room.{room_id}"


def encode(frame: dict) -> str:
    text = json.dumps(frame, separators=(",", ":"), ensure_ascii=False)
    if _SURROGATE.search(text):
        # A lone surrogate (a client's field echoed back; JSON may escape one) cannot go on
        # the wire as UTF-8: Daphne would fail to send it and drop the connection. Escaped,
        # as the client sent it.
        text = json.dumps(frame, separators=(",", ":"), ensure_ascii=True)
    return text


def redacted_frame(seq: int) -> str:
    return encode({"type": "event", "seq": seq, "kind": "redacted", "data": {}})


def render_frames(event: RoomEvent) -> dict[str, str]:
    """The encoded `event` frame for each audience (a redacted stub where it may not see)."""
    frames = {}
    for audience in AUDIENCES:
        data = getattr(event, audience)
        if data is None:
            frames[audience] = redacted_frame(event.seq)
        else:
            frames[audience] = encode(
                {"type": "event", "seq": event.seq, "kind": event.kind, "data": data}
            )
    return frames


def append_event(
    room: RoundTable | int, kind: str, *, participants: dict | None, moderators: dict | None
) -> RoomEvent:
    """Append one event to the room's log and publish it after commit.

    Must run inside `transaction.atomic()`; takes the room row lock (select_for_update)
    and holds it to the end of the caller's transaction.
    """
    validate_payload(kind, "participants", participants)
    validate_payload(kind, "moderators", moderators)
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        raise RuntimeError("append_event must run inside transaction.atomic()")
    room_id = room if isinstance(room, int) else room.pk
    locked = RoundTable.objects.select_for_update().only("id", "last_seq").get(pk=room_id)
    seq = locked.last_seq + 1
    RoundTable.objects.filter(pk=room_id).update(last_seq=seq)
    event = RoomEvent.objects.create(
        room_id=room_id, seq=seq, kind=kind, participants=participants, moderators=moderators
    )
    if not isinstance(room, int):
        room.last_seq = seq
    transaction.on_commit(lambda: publish(room_id, event))
    return event


def publish(room_id: int, event: RoomEvent) -> None:
    """Hand one committed event to the channel layer: one message per hub, not per socket.

    Delivery through the layer is best effort: if it fails, hubs notice the gap (or their
    periodic look at the log does) and read the event from the log instead.
    """
    message = {
        "type": HUB_MESSAGE,
        "room": room_id,
        "seq": event.seq,
        "frames": render_frames(event),
    }
    if event.kind == "floor.given":
        # Every hub of the room sets a timer for the turn's end (see RoomHub.watch_turn).
        message["deadline"] = event.participants["speaker"]["ends_at"]
    try:
        async_to_sync(get_channel_layer().group_send)(group_for(room_id), message)
    except Exception:  # noqa: BLE001 - the log already holds the event
        logger.warning("publish of room %s seq %s failed", room_id, event.seq, exc_info=True)


def notify_seat(
    room_id: int,
    seat_id: int,
    frame: dict,
    *,
    message: Callable[[], str],
    close_code: int | None = None,
    before_link: int | None = None,
    session: str | None = None,
    unless_access: tuple[str, str | None] | None = None,
) -> None:
    """After commit, send `frame` to the sockets of one seat only (in every process), and
    close them if `close_code` is given.

    For what concerns one person and is no event of the room: why their post was rejected,
    that they are muted, that they were removed. The seat id travels between our processes
    only; clients never see it.

    `before_link` narrows it to the sockets opened with an older link than that generation
    (a new link ends the old link's sockets, not those already opened with the new one);
    `session` to the sockets of one browser session (forum.selectors.session_tag: a sign-out);
    `unless_access` (role, sector slug) spares the sockets opened under that role and sector
    (a role change closes the sockets opened under the old one, not those of the new).

    `message` builds the frame's sentence in the active language. The notice is raised by
    someone else (a moderator), so it is built once per interface language and each socket
    is sent its reader's: a handful of strings, for a message that concerns a single seat.
    """
    frames = {}
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            frames[code] = encode({**frame, "message": str(message())})
    payload = {
        "type": SEAT_MESSAGE,
        "room": room_id,
        "seat_id": seat_id,
        "frames": frames,
        "close": close_code,
    }
    if before_link is not None:
        payload["before_link"] = before_link
    if session:
        payload["session"] = session
    if unless_access is not None:
        payload["unless_access"] = list(unless_access)

    def send() -> None:
        try:
            async_to_sync(get_channel_layer().group_send)(group_for(room_id), payload)
        except Exception:  # noqa: BLE001 - a notice is best effort; state is already saved
            logger.warning("notice to a seat of room %s failed", room_id, exc_info=True)

    transaction.on_commit(send)


def turn_deadline(room_id: int) -> str | None:
    """When the turn in progress ends (ISO 8601), for a hub that starts mid-turn."""
    ends_at = (
        FloorRequest.objects.filter(room_id=room_id, status=FloorRequest.Status.SPEAKING)
        .values_list("ends_at", flat=True)
        .first()
    )
    return ends_at.isoformat() if ends_at else None


def seat_links(room_id: int) -> dict[int, tuple[int, str, str | None]]:
    """Seat id -> (link generation, role, sector slug), for every seat of the room
    (forum.models.Seat)."""
    return {
        pk: (link, role, sector)
        for pk, link, role, sector in Seat.objects.filter(room_id=room_id).values_list(
            "pk", "link_generation", "role", "sector__slug"
        )
    }


def live_sessions(keys: list[str]) -> set[str]:
    """The keys among `keys` of Django sessions that still exist and have not expired: a
    sign-out deletes its session, a sign-in under another seat replaces it. With a session
    engine that keeps no rows to look at, every key counts as alive (the notice alone acts)."""
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    if settings.SESSION_ENGINE not in SESSION_TABLE_ENGINES:
        return set(keys)
    found: set[str] = set()
    for start in range(0, len(keys), 500):
        found.update(
            Session.objects.filter(
                session_key__in=keys[start : start + 500], expire_date__gt=timezone.now()
            ).values_list("session_key", flat=True)
        )
    return found


# Session engines whose sessions are rows of django_session (the cached one writes through).
SESSION_TABLE_ENGINES = (
    "django.contrib.sessions.backends.db",
    "django.contrib.sessions.backends.cached_db",
)


def last_seq(room_id: int) -> int:
    return RoundTable.objects.filter(pk=room_id).values_list("last_seq", flat=True).get()


def events_between(
    room_id: int, after: int, upto: int | None = None, limit: int = 500
) -> list[RoomEvent]:
    """Events with after < seq (<= upto), in order, at most `limit` of them."""
    qs = RoomEvent.objects.filter(room_id=room_id, seq__gt=after)
    if upto is not None:
        qs = qs.filter(seq__lte=upto)
    return list(qs.order_by("seq")[:limit])


def frames_between(
    room_id: int, after: int, upto: int | None = None, limit: int = 500
) -> list[tuple[int, dict[str, str]]]:
    return [(e.seq, render_frames(e)) for e in events_between(room_id, after, upto, limit)]
