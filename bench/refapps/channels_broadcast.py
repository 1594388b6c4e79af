"""Reference app: the usual Channels broadcast.

Every socket is an AsyncWebsocketConsumer with a channel of its own in one group. A post
arrives over a websocket; its consumer calls `group_send`, and every consumer's handler
builds and encodes the event and sends it to its socket: one layer message, one dispatch
and one encode per socket. No database and no auth. The channel layer is the in-memory
one with the product's embedded settings (CHANNEL_CAPACITY, default 2000; group expiry
300 s), since the product's embedded default is in-memory too.

    daphne bench.refapps.channels_broadcast:application
"""

from __future__ import annotations

import os

import django
from django.conf import settings

from . import protocol

if not settings.configured:
    settings.configure(
        DEBUG=False,
        INSTALLED_APPS=[],
        CHANNEL_LAYERS={
            "default": {
                "BACKEND": "channels.layers.InMemoryChannelLayer",
                "CONFIG": {
                    "capacity": int(os.environ.get("CHANNEL_CAPACITY", "2000")),
                    "group_expiry": 300,
                },
            }
        },
    )
    django.setup()

from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402

protocol.apply_product_gc_setting()

GROUP = "room"
last_seq = 0  # the room's counter: one process, so a module global is enough


class BroadcastConsumer(AsyncWebsocketConsumer):
    groups = [GROUP]  # joined on connect, left on disconnect, by Channels itself

    async def connect(self) -> None:
        await self.accept()
        await self.send(text_data=protocol.encode(protocol.welcome(last_seq)))

    async def receive(self, text_data=None, bytes_data=None) -> None:
        global last_seq
        post = protocol.parse_post(text_data)
        if post is None:
            await self.send(text_data=protocol.encode(protocol.error("not a post")))
            return
        client_id, body = post
        last_seq += 1
        seq = last_seq
        await self.channel_layer.group_send(
            GROUP, {"type": "room.event", "seq": seq, "data": protocol.posted_data(body)}
        )
        await self.send(text_data=protocol.encode(protocol.ack(client_id, seq)))

    async def room_event(self, message: dict) -> None:
        await self.send(text_data=protocol.encode(protocol.event(message["seq"], message["data"])))


consumer = BroadcastConsumer.as_asgi()


async def application(scope, receive, send) -> None:
    if scope["type"] == "websocket":
        await consumer(scope, receive, send)
    else:
        await protocol.http_app(scope, receive, send)
