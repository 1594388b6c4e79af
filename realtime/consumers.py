"""The room websocket, `/ws/rooms/<slug>/`: parse a frame, call one service, answer.

Live events do not come through this consumer's own channel (it has none): the room's
hub in this process writes them straight to the socket. See realtime/hub.py.
"""

from __future__ import annotations

import logging
import time
from functools import partial

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http.cookie import parse_cookie
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import trans_real

from forum import selectors
from forum.errors import ServiceError
from forum.services import (
    agenda,
    consensus,
    floor,
    hybrid,
    interventions,
    moderator_actions,
    recommendations,
    seats,
)

from .frames import ClientFrame, FrameError, correlation, parse_after, parse_frame
from .hub import SCREEN_BUCKET, TOO_SLOW_CLOSE, Subscriber, TooSlow, hubs, too_slow_frame
from .log import encode, last_seq
from .transport import SCOPE_KEY, SEND_KEY

logger = logging.getLogger(__name__)

# Seconds a client is told to wait before sending again when the database is out of reach.
UNAVAILABLE_RETRY_SECONDS = 5

# What a staff account reading a room (no seat) may send: nothing that changes anything.
READING_FRAMES = frozenset({"ping", "resume"})

CLOSE_CODES = {
    "not_found": 4404,
    "forbidden": 4403,
    "invalid_frame": 4400,
    "too_many_sockets": 4429,
}
# (a socket whose seat changes role or sector is closed with realtime.log.SEAT_CHANGED_CLOSE)


@database_sync_to_async
def _join(session, slug: str, user=None) -> selectors.RoomAccess:
    """The seat the session was signed in for and its room, in one trip to the database
    thread (the session, the room and the seat): a join storm queues on it. The seat's first
    join is recorded for the attendance (one more write, once per seat)."""
    access = selectors.access_room_summary(session, slug, user)
    if not access.joined:
        seats.seat_mark_joined(seat_id=access.seat_id)
    return access


_last_seq = database_sync_to_async(last_seq)
_post = database_sync_to_async(interventions.intervention_post)
_consent = database_sync_to_async(seats.seat_consent)
_flag = database_sync_to_async(moderator_actions.intervention_flag)

# frame action -> (service, the frame fields it takes)
_MODERATE = {
    "approve": (moderator_actions.intervention_approve, ("not_a_participant",)),
    "reject": (moderator_actions.intervention_reject, ("reason",)),
    "hide": (moderator_actions.intervention_hide, ("reason",)),
    "restore": (moderator_actions.intervention_restore, ()),
    "redact": (moderator_actions.intervention_redact, ("reason", "body", "not_a_participant")),
}
_SEAT = {
    "mute": (moderator_actions.seat_mute, ("minutes", "reason")),
    "unmute": (moderator_actions.seat_unmute, ()),
    "remove": (moderator_actions.seat_remove, ("reason",)),
    "reveal": (moderator_actions.seat_reveal, ("reason",)),
    "presence": (seats.seat_set_presence, ("presence",)),
}


def scope_language(scope: dict) -> str:
    """The interface language of the person behind a socket, chosen as LocaleMiddleware
    chooses it for a page: the language switcher's cookie, else Accept-Language, else
    LANGUAGE_CODE. Always one of settings.LANGUAGES."""
    headers = {}
    for name, value in scope.get("headers") or ():
        headers.setdefault(name.lower(), value.decode("latin1"))
    cookies = scope.get("cookies")
    if cookies is None:
        cookies = parse_cookie(headers.get(b"cookie", ""))
    candidates = [cookies.get(settings.LANGUAGE_COOKIE_NAME)]
    candidates += [
        lang
        for lang, _q in trans_real.parse_accept_lang_header(headers.get(b"accept-language", ""))
        if lang != "*"
    ]
    for code in candidates:
        if not code:
            continue
        try:
            return translation.get_supported_language_variant(code)
        except LookupError:
            continue
    try:
        return translation.get_supported_language_variant(settings.LANGUAGE_CODE)
    except LookupError:
        return settings.LANGUAGE_CODE


class FrameBucket:
    """Per-socket frame limit: a burst, then a steady rate (any frame type)."""

    def __init__(self) -> None:
        limits = settings.ROUNDTABLES
        self.capacity = float(limits["FRAME_BURST"])
        self.rate = float(limits["FRAME_RATE"])
        self.tokens = self.capacity
        self.at = time.monotonic()

    def take(self) -> float:
        """0 if the frame may pass, else the seconds to wait."""
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


class RoomConsumer(AsyncWebsocketConsumer):
    # Deliberately not a configured layer alias: a socket gets no channel of its own and
    # joins no group. The per-process hub holds the only subscription for the room.
    channel_layer_alias = "__room_sockets_use_the_hub__"

    hub = None
    sub: Subscriber | None = None
    language = settings.LANGUAGE_CODE
    waiting_from = 0  # where an observer's stream starts once they accept the rule

    async def connect(self) -> None:
        # Refusals and notices are built in the person's interface language: every frame is
        # handled under translation.override(self.language), which reaches the services run in
        # database_sync_to_async (asgiref copies the context, and Django's translation state is
        # an asgiref Local).
        self.language = scope_language(self.scope)
        with translation.override(self.language):
            await self._connect()

    async def _connect(self) -> None:
        slug = self.scope["url_route"]["kwargs"]["slug"]
        # Accept first, then check: a refusal is said in a frame anyway (a browser never
        # sees the reason of a refused handshake), and Daphne drops a handshake that is not
        # accepted within 5 s, which a storm of joins waiting for the database can exceed.
        # Nothing is sent before the checks pass but their refusal.
        await self.accept()
        session = self.scope.get("session")
        try:
            after = parse_after(self.scope.get("query_string", b""))
            self.access = await _join(session, slug)
            if after is not None and after > self.access.last_seq:
                raise FrameError(
                    "invalid_frame",
                    _("?after= is beyond the room's last sequence number (%(last)s).")
                    % {"last": self.access.last_seq},
                    field="after",
                )
        except (FrameError, ServiceError) as exc:
            await self.send_error(exc.code, exc.message, **exc.extra)
            await self.close(code=CLOSE_CODES.get(exc.code, 4400))
            return
        access = self.access
        self.frames = FrameBucket()
        self.hub = await hubs.join(access.room_id)
        if self.hub.sockets_of(access.seat_id) >= settings.ROUNDTABLES["MAX_SOCKETS_PER_SEAT"]:
            limit = settings.ROUNDTABLES["MAX_SOCKETS_PER_SEAT"]
            await self.send_error(
                "too_many_sockets",
                _("Your seat already has %(limit)s connections open; close one first.")
                % {"limit": limit},
                limit=limit,
            )
            await self.close(code=CLOSE_CODES["too_many_sockets"])
            return
        # The secretariat reading a room (None) and the venue screen, which is not a person,
        # count in no presence bucket.
        bucket = (
            None
            if access.staff
            else SCREEN_BUCKET
            if access.role == "screen"
            else (access.sector if access.role == "delegate" and access.sector else "others")
        )
        # The room's events go out through the server's own send (realtime/transport.py);
        # both it and base_send reach the socket without suspending, so order holds.
        self.sub = self.hub.attach(
            self.scope.get(SEND_KEY, self.base_send),
            self._close_from_hub,
            audience=access.audience,
            bucket=bucket,
            seat_id=access.seat_id,
            language=self.language,
            unsent=self.scope.get(SCOPE_KEY),
            link=access.link,
            session=selectors.session_tag(getattr(session, "session_key", None)),
            access=(access.role, access.sector),
            session_key=getattr(session, "session_key", None) or "",
        )
        # The hub's position, read after attaching: every later event reaches this socket
        # through the hub (buffered until go_live), so the welcome's last_seq leaves no gap.
        last = self.hub.last_seq
        await self.send_json(
            {
                "type": "welcome",
                "room": access.slug,
                "last_seq": last,
                "you": {
                    "role": access.role,
                    "attribution": access.attribution,
                    "sector": access.sector,
                    "rule": access.rule,
                    "consented": access.consented,
                },
            }
        )
        start = last if after is None else after
        if access.role == "observer" and access.rule == "chatham-house" and not access.consented:
            # Observers read everything: under the rule they accept it before the stream
            # starts. Until their `consent` the hub sends them nothing, not even presence.
            self.sub.gated = True
            self.waiting_from = start
        elif after is None:
            self.sub.last_sent = last
            await self.hub.go_live(self.sub)
        else:
            await self._replay_then_live(after)

    async def disconnect(self, code: int) -> None:
        if self.hub is not None and self.sub is not None:
            self.hub.detach(self.sub)
            self.sub = None

    async def __call__(self, scope, receive, send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            # An exception that ends the application skips websocket_disconnect; without
            # this the hub keeps a ghost subscriber that counts against the seat's sockets.
            await self.disconnect(1011)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.sub is None:
            return
        with translation.override(self.language):
            await self._receive(text_data)

    async def _receive(self, text_data: str | None) -> None:
        if text_data is None:
            await self.send_error(
                "invalid_frame", _("Frames are JSON text; binary frames are refused.")
            )
            return
        wait = self.frames.take()
        if wait:
            # With the post's client_id (or the frame's ref), so that the client can tell which
            # of its frames was refused and send it again, rather than wait for an ack.
            await self.send_error(
                "rate_limited",
                _("Too many frames on this connection; slow down."),
                retry_after=round(wait, 2),
                **correlation(text_data),
            )
            return
        frame = None
        try:
            frame = parse_frame(text_data)
            if self.access.staff and frame.type not in READING_FRAMES:
                raise ServiceError(
                    "forbidden", _("The secretariat reads round tables without taking part.")
                )
            await getattr(self, f"on_{frame.type}")(frame)
        except FrameError as exc:
            echo = self._echo(frame) if frame is not None else {}
            await self.send_error(exc.code, exc.message, **{**echo, **exc.extra})
        except ServiceError as exc:
            await self.send_error(exc.code, exc.message, **self._echo(frame), **exc.extra)
        except (OperationalError, InterfaceError):
            # The database is out of reach (a restart, a network cut, no pooled connection in
            # time): the transaction did not commit. Say so, and when to try again.
            logger.warning("room %s: database unavailable", self.access.slug, exc_info=True)
            await self.send_error(
                "unavailable",
                _(
                    "The service is briefly unavailable; nothing was changed. Try "
                    "again in a moment."
                ),
                retry_after=UNAVAILABLE_RETRY_SECONDS,
                **(self._echo(frame) if frame is not None else {}),
            )
        except Exception:  # noqa: BLE001 - the transaction rolled back; say so, keep the socket
            logger.exception("room %s: frame failed", self.access.slug)
            await self.send_error(
                "internal_error",
                _("Something went wrong; nothing was changed."),
                **(self._echo(frame) if frame is not None else {}),
            )

    # -- frames -----------------------------------------------------------------------

    async def on_post(self, frame: ClientFrame) -> None:
        fields = frame.fields
        result = await _post(
            seat_id=self.access.seat_id,
            client_id=fields["client_id"],
            body=fields["body"],
            kind=fields.get("kind", "statement"),
            # Unsaid, what the poster reads the interface in (the service checks it is one
            # of the intervention languages, else takes the room's).
            language=fields.get("lang") or self.language,
        )
        ack = {"type": "ack", "client_id": frame.client_id, "seq": result.seq}
        if result.held_reason:
            ack.update(held=True, reason=_(result.held_reason))  # stored in English
        await self.send_json(ack)

    async def on_consent(self, frame: ClientFrame) -> None:
        await _consent(seat_id=self.access.seat_id, rule=frame.fields["rule"])
        await self.send_json({"type": "consented", "rule": frame.fields["rule"]})
        if self.sub.gated:
            # From here live events queue for the socket; the replay reads the log from where
            # the stream would have started, so nothing in between is lost or repeated.
            self.sub.gated = False
            await self._replay_then_live(self.waiting_from)

    async def on_resume(self, frame: ClientFrame) -> None:
        if self.sub.gated:
            raise ServiceError(
                "consent_required", _("Accept the Chatham House Rule to follow the round table.")
            )
        after = frame.fields["after"]
        if after > self.hub.last_seq and after > await _last_seq(self.access.room_id):
            raise FrameError(
                "invalid_frame",
                _('"after" is beyond the room\'s last sequence number.'),
                field="after",
            )
        await self._replay_then_live(after)

    async def _replay_then_live(self, after: int) -> None:
        try:
            await self.hub.replay(self.sub, after)
        except TooSlow:
            await self.send_json(too_slow_frame(self.sub.last_sent, self.language))
            await self.close(code=TOO_SLOW_CLOSE)
            return
        except Exception:
            # Half a replay cannot be finished live without a gap: close, and let the
            # client reconnect with ?after=, which starts the replay afresh.
            logger.exception("room %s: replay failed", self.access.slug)
            await self.send_error("internal_error", _("The replay failed; reconnect to resume."))
            await self.close(code=1011)
            return
        await self.hub.go_live(self.sub)

    async def on_ping(self, frame: ClientFrame) -> None:
        await self.send_json({"type": "pong"})

    async def on_flag(self, frame: ClientFrame) -> None:
        f = frame.fields
        flags = await _flag(
            seat_id=self.access.seat_id, intervention_id=f["id"], reason=f["reason"]
        )
        await self.send_json(
            {"type": "flagged", "id": f["id"], "flags": flags, **self._echo(frame)}
        )

    async def on_moderate(self, frame: ClientFrame) -> None:
        f = frame.fields
        service, takes = _MODERATE[f["action"]]
        kwargs = {name: f[name] for name in takes if name in f}
        if "reason" in takes and "reason" not in kwargs:
            kwargs["reason"] = ""
        if "presence" in takes and "presence" not in kwargs:
            raise FrameError(
                "invalid_frame", _('"presence" is missing: in_room or online.'), field="presence"
            )
        await database_sync_to_async(service)(
            actor_seat_id=self.access.seat_id, intervention_id=f["id"], **kwargs
        )
        await self.send_json(
            {"type": "done", "action": f["action"], "id": f["id"], **self._echo(frame)}
        )

    async def on_seat(self, frame: ClientFrame) -> None:
        f = frame.fields
        service, takes = _SEAT[f["action"]]
        kwargs = {name: f[name] for name in takes if name in f}
        if "minutes" in takes and "minutes" not in kwargs:
            raise FrameError(
                "invalid_frame",
                _('"minutes" is missing: whole minutes, 1 to 1440.'),
                field="minutes",
            )
        if "reason" in takes and "reason" not in kwargs:
            kwargs["reason"] = ""
        if "presence" in takes and "presence" not in kwargs:
            raise FrameError(
                "invalid_frame", _('"presence" is missing: in_room or online.'), field="presence"
            )
        result = await database_sync_to_async(service)(
            actor_seat_id=self.access.seat_id, seat=f["seat"], **kwargs
        )
        if f["action"] == "reveal":
            # The identity goes to this socket alone, never through the log or the hub.
            await self.send_json({"type": "revealed", "identity": result, **self._echo(frame)})
        else:
            await self.send_json(
                {"type": "done", "action": f["action"], "seat": f["seat"], **self._echo(frame)}
            )

    async def on_room(self, frame: ClientFrame) -> None:
        f = frame.fields
        actor = self.access.seat_id
        action = f["action"]
        if action == "premoderation":
            if "on" not in f:
                raise FrameError("invalid_frame", _('"on" is missing: true or false.'), field="on")
            call = partial(
                moderator_actions.room_set_premoderation, actor_seat_id=actor, on=f["on"]
            )
        elif action == "slow_mode":
            if "seconds" not in f:
                raise FrameError(
                    "invalid_frame", _('"seconds" is missing: 0 (off) to 3600.'), field="seconds"
                )
            call = partial(
                moderator_actions.room_set_slow_mode, actor_seat_id=actor, seconds=f["seconds"]
            )
        elif action in ("lock", "unlock"):
            call = partial(
                moderator_actions.room_set_locked, actor_seat_id=actor, locked=action == "lock"
            )
        else:
            call = partial(
                moderator_actions.room_close, actor_seat_id=actor, reopen=action == "reopen"
            )
        await database_sync_to_async(call)()
        await self.send_json({"type": "done", "action": action, **self._echo(frame)})

    # -- helpers ----------------------------------------------------------------------

    # -- the floor, consensus checks, recommendations ------------------------------------

    async def _call(self, service, **kwargs):
        return await database_sync_to_async(service)(**kwargs)

    async def on_hand(self, frame: ClientFrame) -> None:
        f = frame.fields
        if f["action"] == "raise" and "seat" in f:
            request = await self._call(
                hybrid.hand_raise_for,
                actor_seat_id=self.access.seat_id,
                seat=f["seat"],
                kind=f.get("kind", "statement"),
            )
            await self.send_json(
                {"type": "done", "action": "raise", "request": request, **self._echo(frame)}
            )
        elif "seat" in f:
            raise FrameError("invalid_frame", _('"seat" goes with "raise" only.'), field="seat")
        elif f["action"] == "raise":
            request = await self._call(
                floor.hand_raise, seat_id=self.access.seat_id, kind=f.get("kind", "statement")
            )
            await self.send_json(
                {"type": "done", "action": "raise", "request": request, **self._echo(frame)}
            )
        else:
            await self._call(floor.hand_lower, seat_id=self.access.seat_id)
            await self.send_json({"type": "done", "action": "lower", **self._echo(frame)})

    async def on_floor(self, frame: ClientFrame) -> None:
        f = frame.fields
        actor = self.access.seat_id
        action = f["action"]

        def need(name: str):
            if name not in f:
                raise FrameError(
                    "invalid_frame",
                    _('"%(name)s" is missing for %(action)s.') % {"name": name, "action": action},
                    field=name,
                )
            return f[name]

        expected = f.get("expected_speaker")  # None: no check; "": nobody had the floor
        if action == "next":
            await self._call(floor.floor_give_next, actor_seat_id=actor, expected_speaker=expected)
        elif action == "give":
            await self._call(
                floor.floor_give,
                actor_seat_id=actor,
                request_id=need("request"),
                reason=f.get("reason", ""),
                expected_speaker=expected,
            )
        elif action == "move":
            await self._call(
                floor.floor_move,
                actor_seat_id=actor,
                request_id=need("request"),
                position=need("position"),
                reason=f.get("reason", ""),
            )
        elif action == "remove":
            await self._call(
                floor.floor_remove,
                actor_seat_id=actor,
                request_id=need("request"),
                reason=f.get("reason", ""),
            )
        elif action == "end":
            await self._call(floor.turn_end, seat_id=actor)
        elif action == "spoke":
            intervention = await self._call(
                hybrid.turn_record,
                actor_seat_id=actor,
                seat=need("seat"),
                note=need("note"),
                not_a_participant=f.get("not_a_participant"),
            )
            await self.send_json(
                {"type": "done", "action": action, "id": intervention, **self._echo(frame)}
            )
            return
        else:
            await self._call(
                floor.floor_set_mode,
                actor_seat_id=actor,
                floor_mode=need("floor_mode"),
                turn_seconds=f.get("turn_seconds"),
            )
        await self.send_json({"type": "done", "action": action, **self._echo(frame)})

    async def on_agenda(self, frame: ClientFrame) -> None:
        f = frame.fields
        actor = self.access.seat_id
        action = f["action"]

        def need(name: str):
            if name not in f:
                raise FrameError(
                    "invalid_frame",
                    _('"%(name)s" is missing for %(action)s.') % {"name": name, "action": action},
                    field=name,
                )
            return f[name]

        if action == "set":
            item = await self._call(
                agenda.agenda_set_current, actor_seat_id=actor, item_id=need("item")
            )
        elif action == "add":
            item = await self._call(
                agenda.agenda_add,
                actor_seat_id=actor,
                title=need("title"),
                position=f.get("position"),
                not_a_participant=f.get("not_a_participant"),
            )
        elif action == "rename":
            item = await self._call(
                agenda.agenda_rename,
                actor_seat_id=actor,
                item_id=need("item"),
                title=need("title"),
                not_a_participant=f.get("not_a_participant"),
            )
        else:
            item = await self._call(
                agenda.agenda_move,
                actor_seat_id=actor,
                item_id=need("item"),
                position=need("position"),
            )
        await self.send_json(
            {"type": "done", "action": action, "item": item.public_id, **self._echo(frame)}
        )

    async def on_check(self, frame: ClientFrame) -> None:
        f = frame.fields
        if f["action"] == "open":
            if "proposition" not in f:
                raise FrameError(
                    "invalid_frame", _('"proposition" is missing.'), field="proposition"
                )
            check = await self._call(
                consensus.check_open,
                actor_seat_id=self.access.seat_id,
                proposition=f["proposition"],
                options=f.get("options"),
                rule=f.get("rule"),
            )
        else:
            if "check" not in f:
                raise FrameError("invalid_frame", _('"check" is missing.'), field="check")
            check = f["check"]
            await self._call(
                consensus.check_close, actor_seat_id=self.access.seat_id, check_id=check
            )
        await self.send_json(
            {"type": "done", "action": f["action"], "check": check, **self._echo(frame)}
        )

    async def on_vote(self, frame: ClientFrame) -> None:
        f = frame.fields
        await self._call(
            consensus.ballot_cast,
            seat_id=self.access.seat_id,
            check_id=f["check"],
            option=f["option"],
        )
        await self.send_json(
            {"type": "done", "action": "vote", "check": f["check"], **self._echo(frame)}
        )

    async def on_recommendation(self, frame: ClientFrame) -> None:
        f = frame.fields
        actor = self.access.seat_id
        if f["action"] == "delete":
            if "id" not in f:
                raise FrameError("invalid_frame", _('"id" is missing.'), field="id")
            await self._call(
                recommendations.recommendation_delete,
                actor_seat_id=actor,
                recommendation_id=f["id"],
            )
            rec_id = f["id"]
        else:
            for name in ("text", "audience"):
                if name not in f:
                    raise FrameError(
                        "invalid_frame", _('"%(name)s" is missing.') % {"name": name}, field=name
                    )
            saved = await self._call(
                recommendations.recommendation_save,
                actor_seat_id=actor,
                text=f["text"],
                audience=f["audience"],
                agenda_item=f.get("agenda_item"),
                consensus_check=f.get("check"),
                recommendation_id=f.get("id"),
                not_a_participant=f.get("not_a_participant"),
            )
            rec_id = saved.public_id
        await self.send_json(
            {"type": "done", "action": f["action"], "id": rec_id, **self._echo(frame)}
        )

    @staticmethod
    def _echo(frame: ClientFrame) -> dict:
        """The client's own correlation fields, repeated in the answer or error."""
        echo = {}
        if frame.fields.get("client_id") is not None:
            echo["client_id"] = frame.client_id
        if frame.fields.get("ref") is not None:
            echo["ref"] = frame.fields["ref"]
        return echo

    async def _close_from_hub(self, code: int) -> None:
        self.sub = None
        await self.close(code=code)

    async def send_json(self, payload: dict) -> None:
        await self.send(text_data=encode(payload))

    async def send_error(self, code: str, message: str, **extra) -> None:
        await self.send_json({"type": "error", "code": code, "message": message, **extra})
