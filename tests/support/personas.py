"""The named test personas of a round table (a chair, a moderator, a rapporteur, delegates per
sector, an observer) and the sessions and clients that sign them in."""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import import_module

from channels.db import database_sync_to_async
from django.conf import settings
from django.test import Client
from django.utils import timezone

from forum.models import RoundTable, Seat, Sector, User
from forum.services.rooms import dialogue_get_or_create, room_create
from forum.services.seats import (
    organization_get_or_create,
    seat_issue_token,
    seat_upsert,
    user_upsert,
)


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
    return import_module(settings.SESSION_ENGINE).SessionStore(
        session_key=session_cookie_for(who, slug)
    )


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
