"""Reference app: Daphne writing one pre-encoded frame to each local socket.

A minimal ASGI app with no database, no auth and no channel layer: it keeps the `send`
callables of its open sockets in a set, encodes each post's event once, and writes that
one string to every socket. What this stack (Daphne, Twisted, autobahn) can reach on one
process; the product's hub does the same work plus the log, rendering and presence.

    daphne bench.refapps.daphne_raw:application
"""

from __future__ import annotations

from . import protocol

protocol.apply_product_gc_setting()

sockets: set = set()  # the `send` of every open socket
last_seq = 0


async def application(scope, receive, send) -> None:
    if scope["type"] == "websocket":
        await websocket(receive, send)
    else:
        await protocol.http_app(scope, receive, send)


async def websocket(receive, send) -> None:
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.send", "text": protocol.encode(protocol.welcome(last_seq))})
    sockets.add(send)
    try:
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return
            if message["type"] == "websocket.receive":
                await on_frame(send, message.get("text"))
    finally:
        sockets.discard(send)


async def on_frame(send, text: str | None) -> None:
    global last_seq
    post = protocol.parse_post(text)
    if post is None:
        await send(
            {"type": "websocket.send", "text": protocol.encode(protocol.error("not a post"))}
        )
        return
    client_id, body = post
    last_seq += 1
    seq = last_seq
    await send({"type": "websocket.send", "text": protocol.encode(protocol.ack(client_id, seq))})
    frame = {
        "type": "websocket.send",
        "text": protocol.encode(protocol.event(seq, protocol.posted_data(body))),
    }
    for socket_send in list(sockets):
        await socket_send(frame)
