"""The room websocket, `/ws/rooms/<slug>/`: parse a frame, call one service, answer.

Live events do not come through this consumer's own channel (it has none): the room's
hub in this process writes them straight to the socket. See realtime/hub.py.
"""

from __future__ import annotations

import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from forum import selectors
from forum.errors import ServiceError
from forum.services import interventions, seats

from . import log
from .frames import ClientFrame, FrameError, parse_after, parse_frame
from .hub import Subscriber, hubs
from .log import encode

logger = logging.getLogger(__name__)

CLOSE_CODES = {"not_found": 4404, "forbidden": 4403, "invalid_frame": 4400}

_room_access = database_sync_to_async(selectors.room_access)
_last_seq = database_sync_to_async(log.last_seq)
_post = database_sync_to_async(interventions.intervention_post)
_consent = database_sync_to_async(seats.seat_consent)


class RoomConsumer(AsyncWebsocketConsumer):
    # Deliberately not a configured layer alias: a socket gets no channel of its own and
    # joins no group. The per-process hub holds the only subscription for the room.
    channel_layer_alias = "__room_sockets_use_the_hub__"

    hub = None
    sub: Subscriber | None = None

    async def connect(self) -> None:
        slug = self.scope["url_route"]["kwargs"]["slug"]
        try:
            after = parse_after(self.scope.get("query_string", b""))
            self.access = await _room_access(self.scope.get("user"), slug)
        except (FrameError, ServiceError) as exc:
            # Accept, say why, close: a browser never sees the reason of a refused handshake.
            await self.accept()
            await self.send_error(exc.code, exc.message)
            await self.close(code=CLOSE_CODES.get(exc.code, 4400))
            return
        await self.accept()
        access = self.access
        self.hub = await hubs.join(access.room_id)
        bucket = access.sector if access.role == "delegate" and access.sector else "others"
        self.sub = self.hub.attach(
            self.base_send, audience=access.audience, bucket=bucket, seat_id=access.seat_id
        )
        last = await _last_seq(access.room_id)
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
        if after is None:
            self.sub.last_sent = last
            await self.hub.go_live(self.sub)
        else:
            await self._replay_then_live(after)

    async def disconnect(self, code: int) -> None:
        if self.hub is not None and self.sub is not None:
            self.hub.detach(self.sub)
            self.sub = None

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.sub is None:
            return
        if text_data is None:
            await self.send_error("invalid_frame", "Frames are JSON text; binary frames are refused.")
            return
        try:
            frame = parse_frame(text_data)
            await getattr(self, f"on_{frame.type}")(frame)
        except FrameError as exc:
            await self.send_error(exc.code, exc.message, **exc.extra)
        except ServiceError as exc:
            await self.send_error(exc.code, exc.message, **self._client_id(frame), **exc.extra)
        except Exception:  # noqa: BLE001 - the transaction rolled back; say so, keep the socket
            logger.exception("room %s: frame failed", self.access.slug)
            await self.send_error("internal_error", "Something went wrong; nothing was changed.")

    # -- frames -----------------------------------------------------------------------

    async def on_post(self, frame: ClientFrame) -> None:
        fields = frame.fields
        result = await _post(
            seat_id=self.access.seat_id,
            client_id=fields["client_id"],
            body=fields["body"],
            kind=fields.get("kind", "statement"),
        )
        await self.send_json({"type": "ack", "client_id": str(fields["client_id"]), "seq": result.seq})

    async def on_consent(self, frame: ClientFrame) -> None:
        await _consent(seat_id=self.access.seat_id, rule=frame.fields["rule"])
        await self.send_json({"type": "consented", "rule": frame.fields["rule"]})

    async def on_resume(self, frame: ClientFrame) -> None:
        await self._replay_then_live(frame.fields["after"])

    async def _replay_then_live(self, after: int) -> None:
        try:
            await self.hub.replay(self.sub, after)
        except Exception:
            # Half a replay cannot be finished live without a gap: close, and let the
            # client reconnect with ?after=, which starts the replay afresh.
            logger.exception("room %s: replay failed", self.access.slug)
            await self.send_error("internal_error", "The replay failed; reconnect to resume.")
            await self.close(code=1011)
            return
        await self.hub.go_live(self.sub)

    async def on_ping(self, frame: ClientFrame) -> None:
        await self.send_json({"type": "pong"})

    # -- helpers ----------------------------------------------------------------------

    @staticmethod
    def _client_id(frame: ClientFrame) -> dict:
        client_id = frame.fields.get("client_id")
        return {"client_id": str(client_id)} if client_id is not None else {}

    async def send_json(self, payload: dict) -> None:
        await self.send(text_data=encode(payload))

    async def send_error(self, code: str, message: str, **extra) -> None:
        await self.send_json({"type": "error", "code": code, "message": message, **extra})
