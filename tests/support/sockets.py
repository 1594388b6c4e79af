"""A websocket client of the room, signed in as one persona."""

from __future__ import annotations

import json

from channels.testing import WebsocketCommunicator
from django.conf import settings

from forum.models import Seat, User
from tests.support.personas import (
    _cookie,
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
    user: Seat | User | None, slug: str, *, after: int | None = None, origin: str = "http://127.0.0.1:8000",
    language: str | None = None, session: str | None = None,
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
