"""A websocket client of the room, signed in as one persona."""

from __future__ import annotations

import asyncio
import json

from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings

from forum.models import Seat, User
from tests.support.personas import (
    Cast,
    _cookie,
    observers_consent,
)


class Socket:
    """A WebsocketCommunicator on the real ASGI application, speaking JSON."""

    def __init__(self, communicator: WebsocketCommunicator):
        self.comm = communicator
        self.backlog: list[dict] = []  # events passed over while waiting for another frame
        self.closed = False

    async def send(self, frame: dict | str) -> None:
        await self.comm.send_to(text_data=frame if isinstance(frame, str) else json.dumps(frame))

    async def recv(self, timeout: float = 3) -> dict:
        return json.loads(await self.comm.receive_from(timeout=timeout))

    async def recv_type(self, frame_type: str, timeout: float = 3) -> dict:
        """Next frame of `frame_type`; events on the way are kept for `events()`, presence
        frames (which carry no seq) are dropped, anything else is a failure."""
        while True:
            frame = await self.recv(timeout)
            if frame["type"] == frame_type:
                return frame
            if frame["type"] == "event":
                self.backlog.append(frame)
            elif frame["type"] != "presence":
                raise AssertionError(f"expected {frame_type}, got {frame}")

    async def events(self, count: int, timeout: float = 5) -> list[dict]:
        out = self.backlog[:count]
        del self.backlog[:count]
        while len(out) < count:
            frame = await self.recv(timeout)
            if frame["type"] == "event":
                out.append(frame)
            elif frame["type"] != "presence":
                raise AssertionError(f"expected events, got {frame}")
        return out

    async def nothing(self, timeout: float = 0.3) -> bool:
        """True if no frame other than presence arrives within `timeout`."""
        try:
            while True:
                frame = json.loads(await self.comm.receive_from(timeout=timeout))
                if frame["type"] != "presence":
                    raise AssertionError(f"unexpected frame {frame}")
        except TimeoutError:
            return True

    async def close(self) -> None:
        if not self.closed:
            self.closed = True
            await self.comm.disconnect()


async def open_socket(
    user: Seat | User | None,
    slug: str,
    *,
    after: int | None = None,
    origin: str = "http://127.0.0.1:8000",
    language: str | None = None,
    session: str | None = None,
) -> tuple[Socket, bool, int | None]:
    """A socket to room `slug`, signed in for a seat (a person: their seat in that room), or
    with the given `session` key, or with no session at all."""
    from forum.asgi import application

    headers = [(b"origin", origin.encode()), (b"host", b"127.0.0.1:8000")]
    if language:
        headers.append((b"accept-language", language.encode()))
    if session is None and user is not None:
        session = await _cookie(user, slug)
    if session is not None:
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={session}".encode()))
    path = f"/ws/rooms/{slug}/" + (f"?after={after}" if after is not None else "")
    comm = WebsocketCommunicator(application, path, headers=headers)
    connected, code = await comm.connect(timeout=5)
    return Socket(comm), connected, code


async def connect(sockets, cast: Cast, *personas: str) -> dict[str, Socket]:
    await database_sync_to_async(observers_consent)(cast.room)
    out = {}
    for persona in personas:
        sock, connected, _ = await sockets(cast.seats[persona].user)
        assert connected
        await sock.recv_type("welcome")
        out[persona] = sock
    return out


async def event_of(sock: Socket, kind: str, timeout: float = 5) -> dict:
    """The next event of `kind` on `sock`; events of other kinds on the way are passed over,
    any other frame but presence fails the test."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        while sock.backlog:
            frame = sock.backlog.pop(0)
            if frame["kind"] == kind:
                return frame
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise AssertionError(f"no {kind} event within {timeout} s")
        try:
            frame = await sock.recv(remaining)
        except TimeoutError:
            raise AssertionError(f"no {kind} event within {timeout} s") from None
        if frame["type"] == "event":
            sock.backlog.append(frame)
        elif frame["type"] != "presence":
            raise AssertionError(f"expected a {kind} event, got {frame}")


async def ask(sock: Socket, frame: dict) -> dict:
    await sock.send(frame)
    return await answer(sock)


async def answer(sock: Socket, timeout: float = 5) -> dict:
    """The next frame that answers a request (`done`, `ack` or `error`); events are kept."""
    while True:
        frame = await sock.recv(timeout)
        if frame["type"] == "event":
            sock.backlog.append(frame)
        elif frame["type"] != "presence":
            return frame


async def latest_presence(sock, until, timeout: float = 8.0) -> dict:
    """Presence frames as they come, until one satisfies `until` (the last one is returned)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    seen = []
    while loop.time() < deadline:
        try:
            frame = json.loads(
                await sock.comm.receive_from(timeout=max(0.05, deadline - loop.time()))
            )
        except TimeoutError:
            break
        if frame["type"] == "presence":
            seen.append(frame)
            if until(frame):
                return frame
    raise AssertionError(f"no such presence frame; saw {seen}")
