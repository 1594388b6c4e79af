"""How much a socket has left unread, from the server that holds it.

ASGI gives an application no back-pressure: `send` hands the frame to the server and
returns, and a client that stops reading makes the server buffer every later frame in
memory. Daphne calls the application with `send = functools.partial(server.handle_reply,
protocol)`, and the protocol's Twisted transport knows what it still has to write. The
outermost middleware reads that once per connection and puts a function in the scope;
the room hub calls it after each write (realtime/hub.py) and closes a socket that is too
far behind. Under another server, or the test communicator, there is no such function and
no limit (the scope key is absent).

The same middleware keeps the server's own `send` in the scope (`roundtables.send`): the
hub writes a room's events with it, below Channels' session middleware, whose `send`
looks at the lazy session on every frame only to act on HTTP responses (about a fifth of
the Python time per delivered frame in a profile of 1,000 listeners; bench/README.md).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

SCOPE_KEY = "roundtables.unsent_bytes"
SEND_KEY = "roundtables.send"


def unsent_bytes_of(send: object) -> Callable[[], int] | None:
    """A function giving the bytes the server still holds for this connection, or None."""
    if not isinstance(send, partial) or not send.args:
        return None
    transport = getattr(send.args[0], "transport", None)
    if (
        transport is None
        or not hasattr(transport, "dataBuffer")
        or not hasattr(transport, "_tempDataLen")
    ):
        return None

    def unsent() -> int:
        # twisted.internet.abstract.FileDescriptor: written bytes wait in dataBuffer (from
        # `offset` on) and in _tempDataBuffer (_tempDataLen bytes) until the socket takes them.
        return len(transport.dataBuffer) - transport.offset + transport._tempDataLen

    return unsent


class SendBuffer:
    """ASGI middleware, outermost: the server's `send`, and how far behind the socket is
    where the server tells (`roundtables.unsent_bytes`)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        scope = {**scope, SEND_KEY: send}
        unsent = unsent_bytes_of(send)
        if unsent is not None:
            scope[SCOPE_KEY] = unsent
        return await self.app(scope, receive, send)
