"""Room hubs: one channel-layer subscription per room per process, local fan-out.

The usual Channels pattern gives every socket its own channel and group membership, so
each event costs one layer message, one decode and one encode per socket. Here a process
subscribes once per room (the hub), receives each event once with its frames already
encoded per audience, and writes the same string to every local socket of that audience.

The hub also keeps each socket's stream gapless and ordered: it delivers seq N+1 only
after N, refills from the log whatever the channel layer dropped or reordered, and looks
at the log every few seconds in case the last message of a burst was lost.

Presence (connected seats per sector) travels between the hubs of a room as small layer
messages; it is never written to the log and never names anyone. Each hub renders it once per
audience: the moderators' frame counts every sector, the participants' one only the sectors
the disclosure rule shows (moderation/disclosure.py), the others pooled or left out.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from forum.models import RoundTable
from forum.services.floor import floor_expire
from moderation.disclosure import FULL, Disclosure, Reader, disclosure

from . import log
from .events import AUDIENCES, MODERATORS, PARTICIPANTS

logger = logging.getLogger(__name__)

Send = Callable[[dict], Awaitable[None]]
Close = Callable[[int], Awaitable[None]]

PRESENCE = "room.presence"
PRESENCE_REQUEST = "room.presence_request"
REJOIN_SECONDS = 30.0
PRESENCE_HEARTBEAT_SECONDS = 20.0
PRESENCE_TTL_SECONDS = 60.0
# A socket further behind than SEND_BUFFER_LIMIT is closed with this code after a
# `too_slow` error frame; a replay waits this long for a socket to take its chunks.
TOO_SLOW_CLOSE = 4408
# The venue screen's presence bucket: a screen reads the room and is counted nowhere.
SCREEN_BUCKET = "~screen"
REPLAY_DRAIN_SECONDS = 15.0


class TooSlow(Exception):
    """The socket did not take a replay's chunks in time."""


def too_slow_frame(last_sent: int, language: str = settings.LANGUAGE_CODE) -> dict:
    with translation.override(language):
        message = _(
            "Your connection fell too far behind the room; reconnect to resume where you left off."
        )
    return {"type": "error", "code": "too_slow", "message": message, "after": last_sent}


_turn_deadline = database_sync_to_async(log.turn_deadline)


@database_sync_to_async
def _expire_turn(room_id: int) -> bool:
    return floor_expire(room_id=room_id)


_frames_between = database_sync_to_async(log.frames_between)


@dataclass(frozen=True)
class Poll:
    """What one look at the database found: the log's position, the participants' rule (if
    asked), each seat's link generation, role and sector, and which of the sockets' sessions
    still exist (if asked)."""

    latest: int
    rule: Disclosure | None = None
    seats: dict[int, tuple[int, str, str | None]] | None = None
    sessions: set[str] | None = None


@database_sync_to_async
def _poll(room_id: int, rule: bool, links: bool, sessions: list[str] | None = None) -> Poll:
    """The log's position, the participants' disclosure rule if `rule`, the seats' link
    generations, roles and sectors if `links`, and which of `sessions` still exist: one trip
    to the database thread, one connection, whatever the hub asks for (a hub waiting on
    several trips stalls the thread through a database outage)."""
    latest = log.last_seq(room_id)
    seats = log.seat_links(room_id) if links else None
    alive = log.live_sessions(sessions) if sessions else None
    shown = disclosure(RoundTable.objects.get(pk=room_id), Reader.PARTICIPANTS) if rule else None
    return Poll(latest, shown, seats, alive)


# Until a hub has read its room's rule, participants' presence names no sector and pools nobody.
SHOW_NOTHING = Disclosure(frozenset())


def presence_frame(totals: dict[str, int], rule: Disclosure) -> str:
    """The presence frame for a reader who sees `rule`: connected delegates per sector shown
    (and the pooled group), everyone else as `others`; `total` counts only what is shown."""
    per_sector = dict(totals)
    others = per_sector.pop("others", 0)
    sectors = rule.counts(per_sector)
    return log.encode(
        {
            "type": "presence",
            "sectors": dict(sorted(sectors.items())),
            "others": others,
            "total": sum(sectors.values()) + others,
        }
    )


class Subscriber:
    """One local socket as the hub sees it: where to write, what it may read, how far it is."""

    __slots__ = (
        "send",
        "close",
        "audience",
        "bucket",
        "seat_id",
        "language",
        "unsent",
        "last_sent",
        "live",
        "buffer",
        "link",
        "session",
        "gated",
        "access",
        "session_key",
        "attached",
    )

    def __init__(
        self,
        send: Send,
        close: Close,
        audience: str,
        bucket: str,
        seat_id: int,
        language: str,
        unsent: Callable[[], int] | None = None,
        link: int = 0,
        session: str = "",
        access: tuple[str, str | None] | None = None,
        session_key: str = "",
        attached: int = 0,
    ):
        self.send = send
        self.close = close
        self.audience = audience
        self.bucket = bucket  # presence bucket: a sector slug, or "others"
        self.seat_id = seat_id
        # The seat's link generation the socket was opened under, and its browser session
        # (forum.selectors.session_tag): a new link, or a sign-out, closes the socket.
        self.link = link
        self.session = session
        # The seat's (role, sector slug) when the socket opened: its audience and rights were
        # fixed then, so a change closes it (None: not checked).
        self.access = access
        # The Django session's key, kept in this process only (the hub checks the session
        # still exists), and when the socket was attached (the hub's attach counter): a look
        # at the database that began before cannot judge it.
        self.session_key = session_key
        self.attached = attached
        self.language = language  # the reader's: a notice to this seat is sent in it
        # Bytes the server still holds for this socket (realtime/transport.py), if it says.
        self.unsent = unsent
        self.last_sent = 0
        # Until the socket has had its welcome and replay, live events wait here.
        self.live = False
        self.buffer: deque[tuple[int, dict]] = deque()
        # Waiting for its reader to accept the room's rule: events are not even buffered
        # (the log has them; the replay that follows the consent reads them from there).
        self.gated = False


class RoomHub:
    def __init__(self, room_id: int, registry: HubRegistry):
        self.room_id = room_id
        self.group = log.group_for(room_id)
        self.registry = registry
        self.layer = get_channel_layer()
        self.channel: str | None = None
        self.last_seq = 0
        self.subscribers: set[Subscriber] = set()
        self._lock = asyncio.Lock()
        self._tasks: list[asyncio.Task] = []
        self._idle_handle: asyncio.TimerHandle | None = None
        self._remote_presence: dict[str, tuple[dict[str, int], float]] = {}
        self._presence_publish: asyncio.TimerHandle | None = None
        self._presence_broadcast: asyncio.TimerHandle | None = None
        self._presence_frames: dict[str, dict] = {}  # audience -> the last frame sent
        # Which sectors participants' presence may name (moderation/disclosure.py). Read with
        # the log's position at start and on the heartbeat, and again soon after any seat is
        # closed out (a removal or a revoked link may take a sector below k): until then the
        # participants' frame is not renewed, so it never counts a sector by a stale rule.
        self._participants_rule = SHOW_NOTHING
        self._rule_stale = True
        self._rule_changes = 0  # counts the seat closures that made the rule stale
        self._turn_timer: asyncio.TimerHandle | None = None
        self._attaches = 0  # counts attach(): a poll judges only the sockets attached before it
        self.stopped = False

    # -- lifecycle --------------------------------------------------------------------

    async def start(self) -> None:
        self.channel = await self.layer.new_channel(prefix="hub")
        await self.layer.group_add(self.group, self.channel)
        # Read the log's position only after subscribing: anything committed later is
        # published later, so it reaches us; anything earlier is replayed from the log.
        found = await _poll(self.room_id, rule=True, links=False)
        self.last_seq = found.latest
        self._participants_rule, self._rule_stale = found.rule, False
        self._tasks = [
            asyncio.create_task(self._receive_loop(), name=f"hub-{self.room_id}-receive"),
            asyncio.create_task(self._maintenance_loop(), name=f"hub-{self.room_id}-maintain"),
        ]
        await self._layer_send(
            {"type": PRESENCE_REQUEST, "room": self.room_id, "origin": self.channel}
        )
        self.watch_turn(await _turn_deadline(self.room_id))

    def watch_turn(self, deadline: str | None) -> None:
        """End the turn in progress at its deadline: the server's clock, not a client's.

        Every process's hub of the room sets the timer; floor_expire is idempotent under
        the room lock, so the first to fire ends the turn and the others find nothing to do.
        """
        if self._turn_timer is not None:
            self._turn_timer.cancel()
            self._turn_timer = None
        if not deadline or self.stopped:
            return
        delay = (datetime.fromisoformat(deadline) - datetime.now(UTC)).total_seconds()
        loop = asyncio.get_running_loop()
        self._turn_timer = loop.call_later(max(0.0, delay) + 0.05, self._spawn_end_turn)

    def _spawn_end_turn(self) -> None:
        # Keep a reference: the event loop holds tasks only weakly.
        task = asyncio.get_running_loop().create_task(self._end_turn())
        self._tasks.append(task)
        task.add_done_callback(lambda t: t in self._tasks and self._tasks.remove(t))

    async def _end_turn(self) -> None:
        self._turn_timer = None
        try:
            await _expire_turn(self.room_id)
        except Exception:  # noqa: BLE001 - the next floor action settles an overdue turn too
            logger.warning("hub %s: ending an overdue turn failed", self.room_id, exc_info=True)

    async def stop(self) -> None:
        if self.stopped:
            return
        self.stopped = True
        for handle in (
            self._idle_handle,
            self._presence_publish,
            self._presence_broadcast,
            self._turn_timer,
        ):
            if handle is not None:
                handle.cancel()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass
        try:
            # An empty count tells the other processes to forget ours at once.
            await self.layer.group_send(
                self.group,
                {"type": PRESENCE, "room": self.room_id, "origin": self.channel, "counts": {}},
            )
            await self.layer.group_discard(self.group, self.channel)
        except Exception:  # noqa: BLE001 - the membership lapses by itself
            logger.info("hub %s could not leave its group cleanly", self.room_id, exc_info=True)

    # -- sockets ----------------------------------------------------------------------

    def sockets_of(self, seat_id: int) -> int:
        return sum(1 for sub in self.subscribers if sub.seat_id == seat_id)

    def attach(
        self,
        send: Send,
        close: Close,
        *,
        audience: str,
        bucket: str,
        seat_id: int,
        language: str = settings.LANGUAGE_CODE,
        unsent: Callable[[], int] | None = None,
        link: int = 0,
        session: str = "",
        access: tuple[str, str | None] | None = None,
        session_key: str = "",
    ) -> Subscriber:
        """Register a socket; it buffers live events until `go_live`."""
        if self._idle_handle is not None:
            self._idle_handle.cancel()
            self._idle_handle = None
        self._attaches += 1
        sub = Subscriber(
            send,
            close,
            audience,
            bucket,
            seat_id,
            language,
            unsent,
            link,
            session,
            access=access,
            session_key=session_key,
            attached=self._attaches,
        )
        self.subscribers.add(sub)
        self._schedule_presence_publish()
        return sub

    def detach(self, sub: Subscriber) -> None:
        self.subscribers.discard(sub)
        self._schedule_presence_publish()
        if not self.subscribers and not self.stopped:
            idle = settings.ROUNDTABLES["HUB_IDLE_SECONDS"]
            loop = asyncio.get_running_loop()
            self._idle_handle = loop.call_later(idle, self._stop_if_idle)

    def _stop_if_idle(self) -> None:
        if not self.subscribers:
            self.registry.discard(self)
            asyncio.get_running_loop().create_task(self.stop())

    async def replay(self, sub: Subscriber, after: int) -> None:
        """Send `sub` every event with seq > after, in order; live events wait meanwhile."""
        sub.live = False
        sub.last_sent = after
        chunk = settings.ROUNDTABLES["REPLAY_CHUNK"]
        while True:
            batch = await _frames_between(self.room_id, sub.last_sent, None, chunk)
            if not batch:
                break
            for seq, frames in batch:
                await sub.send({"type": "websocket.send", "text": frames[sub.audience]})
                sub.last_sent = seq
            await self._drain(sub)

    async def _drain(self, sub: Subscriber) -> None:
        """Between replay chunks, wait until the socket has taken most of what was written:
        a replay of 10,000 events goes at the client's pace, not into the server's memory."""
        if sub.unsent is None:
            return
        limit = settings.ROUNDTABLES["SEND_BUFFER_LIMIT"]
        deadline = time.monotonic() + REPLAY_DRAIN_SECONDS
        while sub.unsent() > limit // 2:
            if time.monotonic() > deadline:
                raise TooSlow
            await asyncio.sleep(0.02)

    async def go_live(self, sub: Subscriber) -> None:
        """Flush what arrived during the replay (skipping what it already sent), then stream."""
        while sub.buffer:
            seq, message = sub.buffer.popleft()
            if seq > sub.last_sent:
                await sub.send(message)
                sub.last_sent = seq
        # No await between the empty check and this line: nothing can slip in unbuffered.
        sub.live = True
        if sub.audience in self._presence_frames:
            await sub.send(self._presence_frames[sub.audience])

    # -- events -----------------------------------------------------------------------

    async def _receive_loop(self) -> None:
        backoff = 0.1
        resubscribe = False
        while True:
            try:
                if resubscribe:
                    # Redis may have restarted and forgotten the room's group: subscribe again
                    # as soon as it answers, not at the next periodic renewal (up to 30 s of
                    # events reaching this process only through the log poll).
                    await self.layer.group_add(self.group, self.channel)
                    resubscribe = False
                    async with self._lock:
                        await self._fill(None)
                message = await self.layer.receive(self.channel)
                backoff = 0.1
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - the layer is down; the log still has it all
                logger.warning("hub %s: channel layer receive failed", self.room_id, exc_info=True)
                resubscribe = True
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            try:
                await self._dispatch(message)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001
                logger.exception("hub %s: failed to handle %s", self.room_id, message.get("type"))

    async def _dispatch(self, message: dict) -> None:
        if message.get("room") != self.room_id:
            # A message for another room: a channel name that came back (a test that reseeds
            # `random`, which the in-memory layer names channels with) must not feed this room.
            return
        kind = message.get("type")
        if kind == log.HUB_MESSAGE:
            async with self._lock:
                await self._on_event(message["seq"], message["frames"])
            if message.get("deadline"):
                self.watch_turn(message["deadline"])
        elif kind == log.SEAT_MESSAGE:
            unless = message.get("unless_access")
            await self._on_seat_notice(
                message["seat_id"],
                message["frames"],
                message.get("close"),
                before_link=message.get("before_link"),
                session=message.get("session"),
                unless_access=tuple(unless) if unless else None,
            )
        elif kind == PRESENCE:
            self._on_presence(message["origin"], message.get("counts", {}))
        elif kind == PRESENCE_REQUEST:
            if message.get("origin") != self.channel:
                self._schedule_presence_publish(immediately=True)

    async def _on_event(self, seq: int, frames: dict[str, str]) -> None:
        if seq <= self.last_seq:
            return  # already delivered (refilled from the log, or a duplicate)
        if seq > self.last_seq + 1:
            # A message went missing or overtook another: the log has what lies between.
            await self._fill(seq - 1)
            if seq <= self.last_seq:
                return
        await self._deliver(seq, frames)

    async def _fill(self, upto: int | None) -> None:
        chunk = settings.ROUNDTABLES["REPLAY_CHUNK"]
        filled = False
        while upto is None or self.last_seq < upto:
            batch = await _frames_between(self.room_id, self.last_seq, upto, chunk)
            if not batch:
                break
            for seq, frames in batch:
                await self._deliver(seq, frames)
                filled = True
        if filled:
            # Events read from the log carry no deadline: re-arm the turn's timer from the
            # database, so a lost floor.given message cannot leave a turn without an end.
            self.watch_turn(await _turn_deadline(self.room_id))

    async def _deliver(self, seq: int, frames: dict[str, str]) -> None:
        self.last_seq = seq
        limit = settings.ROUNDTABLES["SEND_BUFFER_LIMIT"]
        messages = {aud: {"type": "websocket.send", "text": frames[aud]} for aud in AUDIENCES}
        for sub in list(self.subscribers):
            message = messages[sub.audience]
            if not sub.live:
                if not sub.gated:
                    sub.buffer.append((seq, message))
            elif seq > sub.last_sent:
                sub.last_sent = seq
                try:
                    await sub.send(message)
                except Exception:  # noqa: BLE001 - a socket that cannot take writes is gone
                    self.subscribers.discard(sub)
                    continue
                if sub.unsent is not None and sub.unsent() > limit:
                    await self._drop_slow(sub)

    async def _drop_slow(self, sub: Subscriber) -> None:
        """A socket that stopped reading: stop writing to it, tell it why (the frame waits
        behind the rest), and close it; the client resumes with ?after= when it can."""
        self.subscribers.discard(sub)
        self._schedule_presence_publish()
        logger.info("hub %s: closed a socket %s bytes behind", self.room_id, sub.unsent())
        try:
            await sub.send(
                {
                    "type": "websocket.send",
                    "text": log.encode(too_slow_frame(sub.last_sent, sub.language)),
                }
            )
            await sub.close(TOO_SLOW_CLOSE)
        except Exception:  # noqa: BLE001 - it is going anyway
            pass

    async def _on_seat_notice(
        self,
        seat_id: int,
        frames: dict[str, str],
        close_code: int | None,
        *,
        before_link: int | None = None,
        session: str | None = None,
        unless_access: tuple[str, str | None] | None = None,
    ) -> None:
        for sub in [
            s
            for s in self.subscribers
            if s.seat_id == seat_id
            and (before_link is None or s.link < before_link)
            and (not session or s.session == session)
            and (unless_access is None or s.access != unless_access)
        ]:
            try:
                await sub.send(
                    {
                        "type": "websocket.send",
                        "text": frames.get(sub.language) or frames[settings.LANGUAGE_CODE],
                    }
                )
                if close_code:
                    self.subscribers.discard(sub)
                    await sub.close(close_code)
            except Exception:  # noqa: BLE001
                self.subscribers.discard(sub)
        if close_code:
            self._rule_stale = True
            self._rule_changes += 1
            self._schedule_presence_publish()

    async def _maintenance_loop(self) -> None:
        interval = settings.ROUNDTABLES["HUB_POLL_SECONDS"]
        last_rejoin = last_heartbeat = last_rule = time.monotonic()
        while True:
            await asyncio.sleep(interval)
            try:
                now = time.monotonic()
                read_rule = self._rule_stale or now - last_rule >= PRESENCE_HEARTBEAT_SECONDS
                changes = self._rule_changes
                # Sockets attached from here on connected after this read may have begun:
                # what it finds cannot close them (a sign-in or a role change it predates).
                judged = self._attaches
                keys = sorted({sub.session_key for sub in self.subscribers if sub.session_key})
                found = await _poll(
                    self.room_id,
                    rule=read_rule,
                    links=bool(self.subscribers),
                    sessions=keys or None,
                )
                latest, rule = found.latest, found.rule
                if rule is not None:
                    last_rule = now
                    renewed = rule != self._participants_rule or self._rule_stale
                    self._participants_rule = rule
                    # A seat closed while we read: what we read may predate it.
                    self._rule_stale = changes != self._rule_changes
                    if renewed and not self._rule_stale:
                        self._schedule_presence_broadcast()
                if latest > self.last_seq:
                    async with self._lock:
                        await self._fill(latest)
                if found.seats is not None:
                    await self._close_ended(found.seats, found.sessions, judged)
                if now - last_rejoin >= REJOIN_SECONDS:
                    # Group membership expires in the layer; renewing it keeps a long-lived
                    # hub subscribed, and re-subscribes it after a Redis restart.
                    await self.layer.group_add(self.group, self.channel)
                    last_rejoin = now
                if now - last_heartbeat >= PRESENCE_HEARTBEAT_SECONDS:
                    await self._publish_presence()
                    last_heartbeat = now
                self._expire_presence()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001
                logger.warning("hub %s: maintenance failed", self.room_id, exc_info=True)

    async def _close_ended(
        self, seats: dict[int, tuple[int, str, str | None]], sessions: set[str] | None, judged: int
    ) -> None:
        """Close the sockets whose join link has ended since they connected (replaced,
        revoked, the seat removed), whose browser session is gone (signed out, replaced by
        another sign-in, expired), or whose seat changed role or sector. Each has its notice,
        which does it at once, but notices travel the channel layer, which may drop them;
        the database does not.

        Generations only grow, and every ending adds one: a socket is closed when its seat
        is gone or has a newer generation than the socket's. A socket opened with a newer
        link than this read saw is left alone, and so is any socket attached after the read
        began (`judged`): its session and role may be newer than what the read saw.
        """
        ended: list[tuple[Subscriber, str, int]] = []
        for sub in self.subscribers:
            if sub.seat_id < 0:
                continue  # the secretariat reading without a seat: no link, session or role to end
            link, role, sector = seats.get(sub.seat_id, (sub.link + 1, None, None))
            if link > sub.link:
                ended.append((sub, "link", 4403))
            elif sub.attached > judged:
                continue
            elif sessions is not None and sub.session_key and sub.session_key not in sessions:
                ended.append((sub, "session", 4403))
            elif sub.access is not None and sub.access != (role, sector):
                ended.append((sub, "access", log.SEAT_CHANGED_CLOSE))
        for sub, why, code in ended:
            self.subscribers.discard(sub)
            with translation.override(sub.language):
                frame = {
                    "type": "error",
                    "code": "forbidden",
                    "message": _("Your join link no longer opens this round table."),
                }
                if why == "session":
                    frame["message"] = _(
                        "You signed out, or your session ended; sign in again with your join link."
                    )
                elif why == "access":
                    frame = {
                        "type": "error",
                        "code": "seat_changed",
                        "message": _(
                            "Your role or sector in this round table has changed; "
                            "the page reloads with it."
                        ),
                    }
            try:
                await sub.send({"type": "websocket.send", "text": log.encode(frame)})
                await sub.close(code)
            except Exception:  # noqa: BLE001 - it is going anyway
                pass
        if ended:
            # A seat gone may take its sector below k: read the rule again before presence.
            self._rule_stale = True
            self._rule_changes += 1
            self._schedule_presence_publish()

    # -- presence ---------------------------------------------------------------------

    def local_counts(self) -> dict[str, int]:
        # bucket None: the secretariat reading the room; the venue screen: no person. Neither
        # counts in presence.
        seats: dict[int, str] = {
            sub.seat_id: sub.bucket
            for sub in self.subscribers
            if sub.bucket is not None and sub.bucket != SCREEN_BUCKET
        }
        counts: dict[str, int] = {}
        for bucket in seats.values():
            counts[bucket] = counts.get(bucket, 0) + 1
        return counts

    def _schedule_presence_publish(self, immediately: bool = False) -> None:
        if self.stopped or self.channel is None:
            return
        if self._presence_publish is not None and not immediately:
            return
        if self._presence_publish is not None:
            self._presence_publish.cancel()
        delay = 0 if immediately else settings.ROUNDTABLES["PRESENCE_DEBOUNCE_SECONDS"]
        loop = asyncio.get_running_loop()
        self._presence_publish = loop.call_later(
            delay, lambda: loop.create_task(self._publish_presence())
        )

    async def _publish_presence(self) -> None:
        self._presence_publish = None
        await self._layer_send(
            {
                "type": PRESENCE,
                "room": self.room_id,
                "origin": self.channel,
                "counts": self.local_counts(),
            }
        )

    async def _layer_send(self, message: dict) -> None:
        try:
            await self.layer.group_send(self.group, message)
        except Exception:  # noqa: BLE001 - presence is best effort; the heartbeat repeats it
            logger.info("hub %s: presence send failed", self.room_id, exc_info=True)

    def _on_presence(self, origin: str, counts: dict[str, int]) -> None:
        if counts:
            self._remote_presence[origin] = (dict(counts), time.monotonic())
        else:
            self._remote_presence.pop(origin, None)
        self._schedule_presence_broadcast()

    def _expire_presence(self) -> None:
        cutoff = time.monotonic() - PRESENCE_TTL_SECONDS
        stale = [o for o, (_, seen) in self._remote_presence.items() if seen < cutoff]
        for origin in stale:
            del self._remote_presence[origin]
        if stale:
            self._schedule_presence_broadcast()

    def presence_totals(self) -> dict[str, int]:
        totals: dict[str, int] = {}
        for counts, _seen in self._remote_presence.values():
            for bucket, n in counts.items():
                totals[bucket] = totals.get(bucket, 0) + int(n)
        return totals

    def _schedule_presence_broadcast(self) -> None:
        if self._presence_broadcast is not None or self.stopped:
            return
        loop = asyncio.get_running_loop()
        delay = settings.ROUNDTABLES["PRESENCE_DEBOUNCE_SECONDS"]
        self._presence_broadcast = loop.call_later(
            delay, lambda: loop.create_task(self._broadcast_presence())
        )

    async def _broadcast_presence(self) -> None:
        self._presence_broadcast = None
        totals = self.presence_totals()
        rules = {MODERATORS: FULL}
        if not self._rule_stale:
            rules[PARTICIPANTS] = self._participants_rule
        changed = set()
        for audience, rule in rules.items():
            text = presence_frame(totals, rule)
            last = self._presence_frames.get(audience)
            if last is None or last["text"] != text:
                self._presence_frames[audience] = {"type": "websocket.send", "text": text}
                changed.add(audience)
        for sub in list(self.subscribers):
            if sub.live and sub.audience in changed:
                try:
                    await sub.send(self._presence_frames[sub.audience])
                except Exception:  # noqa: BLE001
                    self.subscribers.discard(sub)


class HubRegistry:
    """The hubs of this process, one per room, per event loop."""

    def __init__(self) -> None:
        self._hubs: dict[tuple[int, int], asyncio.Future] = {}

    async def join(self, room_id: int) -> RoomHub:
        loop = asyncio.get_running_loop()
        key = (id(loop), room_id)
        future = self._hubs.get(key)
        if future is None:
            future = loop.create_future()
            self._hubs[key] = future
            hub = RoomHub(room_id, self)
            try:
                await hub.start()
            except BaseException as exc:
                del self._hubs[key]
                future.set_exception(exc)
                future.exception()  # mark retrieved; the caller gets it below
                raise
            future.set_result(hub)
            return hub
        return await asyncio.shield(future)

    def discard(self, hub: RoomHub) -> None:
        for key, future in list(self._hubs.items()):
            if future.done() and not future.exception() and future.result() is hub:
                del self._hubs[key]

    def hubs(self) -> list[RoomHub]:
        return [f.result() for f in self._hubs.values() if f.done() and not f.exception()]

    async def shutdown(self) -> None:
        """Stop every hub of the running loop (tests, and process shutdown)."""
        loop_id = id(asyncio.get_running_loop())
        for key, future in list(self._hubs.items()):
            if key[0] != loop_id:
                continue
            del self._hubs[key]
            if future.done() and not future.exception():
                await future.result().stop()


hubs = HubRegistry()
