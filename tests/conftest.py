"""Shared fixtures: named personas, real-service gates, a live-socket helper."""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass, field
from importlib import import_module

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client
from django.utils import timezone, translation

from forum.models import RoundTable, Seat, Sector, User
from forum.services.rooms import dialogue_get_or_create, room_create
from forum.services.seats import (
    organization_get_or_create,
    seat_issue_token,
    seat_upsert,
    user_upsert,
)

CI = os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def require(service: str, available: bool, reason: str) -> None:
    """Skip with a one-line reason when a real service is absent; fail instead under CI."""
    if available:
        return
    if CI:
        pytest.fail(f"{service} is required when CI=true: {reason}", pytrace=False)
    pytest.skip(f"{service} not available: {reason}")


@pytest.fixture(autouse=True)
def back_to_english():
    # A page requested in another language leaves it active in the test's thread
    # (LocaleMiddleware activates it); the next test's messages would come out in it.
    yield
    translation.deactivate()


@dataclass
class Cast:
    """A round table with named people in every role (healthchecks-style personas)."""

    room: RoundTable
    seats: dict[str, Seat] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Seat:
        try:
            return self.__dict__["seats"][name]
        except KeyError:
            raise AttributeError(name) from None


# persona -> (full name, organization, sector, role)
PERSONAS = {
    "chloe": ("Chloe Chairwoman", "", "", "chair"),
    "mona": ("Mona Moderator", "", "", "moderator"),
    "rita": ("Rita Rapporteur", "", "", "rapporteur"),
    "oscar": ("Oscar Observer", "", "", "observer"),
    "gus": ("Gustavo Gobierno", "Ministry of Testing", "government", "delegate"),
    "greta": ("Greta Government", "Office of Examples", "government", "delegate"),
    "gil": ("Gil Gabinete", "Ministry of Testing", "government", "delegate"),
    "cora": ("Cora Civil", "Peace Network of Nowhere", "civil-society", "delegate"),
    "cyrus": ("Cyrus Society", "Women Mediators Forum", "civil-society", "delegate"),
    "celia": ("Celia Collective", "Youth for Tests", "civil-society", "delegate"),
    "ada": ("Ada Academic", "Institute of Fixtures", "academia", "delegate"),
    "pia": ("Pia Private", "Chamber of Mocks", "private-sector", "delegate"),
}


def build_cast(slug: str = "test-room", **room_kwargs) -> Cast:
    dialogue = dialogue_get_or_create(slug="test-dialogue", title="Test dialogue")
    room_kwargs.setdefault("seats_per_sector", 5)
    room = room_create(dialogue=dialogue, slug=slug, title="Test round table", **room_kwargs)
    cast = Cast(room=room)
    sectors = {s.slug: s for s in Sector.objects.all()}
    for persona, (name, org_name, sector_slug, role) in PERSONAS.items():
        sector = sectors.get(sector_slug)
        org = organization_get_or_create(name=org_name, sector=sector) if org_name else None
        user = user_upsert(email=f"{persona}@example.org", name=name)
        seat, _ = seat_upsert(room=room, user=user, role=role, sector=sector, organization=org)
        cast.tokens[persona] = seat_issue_token(seat=seat)
        cast.seats[persona] = seat
    return cast


def observers_consent(room: RoundTable) -> None:
    """Observers of a Chatham House room get its stream once they have accepted the rule."""
    Seat.objects.filter(room=room, role=Seat.Role.OBSERVER).update(consented_at=timezone.now())


@pytest.fixture
def cast(db) -> Cast:
    return build_cast()


@pytest.fixture
def outsider(db) -> User:
    return user_upsert(email="otto@example.org", name="Otto Outsider")


def seat_session(seat: Seat) -> str:
    """The key of a session signed in for `seat`, made as the join page's button makes it
    (forum.services.sessions.seat_sign_in), for the seat's current link."""
    from django.http import HttpRequest

    from forum.services.sessions import seat_sign_in

    seat = Seat.objects.select_related("user", "room").get(pk=seat.pk)
    request = HttpRequest()
    request.session = import_module(settings.SESSION_ENGINE).SessionStore()
    seat_sign_in(request=request, seat=seat)
    request.session.save()
    return request.session.session_key


def sign_in(client: Client, seat: Seat) -> Client:
    """`client`, signed in for `seat` as if its holder had used their join link."""
    client.cookies[settings.SESSION_COOKIE_NAME] = seat_session(seat)
    return client


def client_for(who: Seat | User | None, slug: str = "test-room") -> Client:
    """A test client signed in as session_cookie_for signs in (no one for None)."""
    client = Client()
    if who is not None:
        client.cookies[settings.SESSION_COOKIE_NAME] = session_cookie_for(who, slug)
    return client


def session_of(who: Seat | User, slug: str = "test-room"):
    """The Django session session_cookie_for makes, as views and the consumer read it."""
    return import_module(settings.SESSION_ENGINE).SessionStore(session_key=session_cookie_for(who, slug))


def session_cookie_for(who: Seat | User, slug: str = "test-room") -> str:
    """A session for a seat; for a person, the session of their seat in room `slug`, or a
    plain sign-in that names no seat (an outsider, a staff account)."""
    if isinstance(who, User):
        seat = Seat.objects.filter(user=who, room__slug=slug).first()
        if seat is None:
            client = Client()
            client.force_login(who)
            return client.cookies[settings.SESSION_COOKIE_NAME].value
        who = seat
    return seat_session(who)


@database_sync_to_async
def _cookie(who: Seat | User, slug: str) -> str:
    return session_cookie_for(who, slug)


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


@pytest.fixture
async def sockets():
    """Open sockets through this fixture; they and the hubs are closed after the test."""
    from realtime.hub import hubs

    opened: list[Socket] = []

    async def opener(user, slug="test-room", **kwargs):
        sock, connected, code = await open_socket(user, slug, **kwargs)
        opened.append(sock)
        return sock, connected, code

    yield opener
    for sock in opened:
        try:
            await sock.close()
        except (Exception, asyncio.CancelledError):  # noqa: BLE001 - the server closed it already
            pass
    await hubs.shutdown()
    # The worker thread of database_sync_to_async keeps its connection otherwise, and
    # PostgreSQL then refuses to drop the test database at the end of the run.
    from django.db import connections

    await database_sync_to_async(connections.close_all)()
