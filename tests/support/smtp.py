"""A real SMTP server for tests (aiosmtpd on a free local port), that can refuse for a while."""

from __future__ import annotations

import email
import email.policy
import socket
from contextlib import contextmanager
from dataclasses import dataclass, field

from aiosmtpd.controller import Controller


@dataclass
class Inbox:
    received: list = field(default_factory=list)  # email.message.EmailMessage, in order
    refuse: list[str] = field(default_factory=list)  # answers to DATA, used up one by one

    async def handle_DATA(self, server, session, envelope):
        if self.refuse:
            return self.refuse.pop(0)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.received.append(message)
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list:
        return [m for m in self.received if m["To"] == address]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def smtp_server(settings):
    """Runs the server and points Django's SMTP backend at it (plain smtp://, as EMAIL_URL
    would)."""
    from forum.mail_url import parse_email_url

    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        for name, value in parse_email_url(f"smtp://127.0.0.1:{port}").items():
            setattr(settings, name, value)
        yield inbox
    finally:
        controller.stop()
