"""The venue screen: a link the secretariat issues, a seat of role `screen` that reads the
room as participants do and does nothing else; never counted as someone present; revoked
like any link; nothing on it or sent to it names anyone in a Chatham House room."""

from __future__ import annotations

import re

import pytest
from channels.db import database_sync_to_async
from django.test import Client

from forum.models import Seat, User
from forum.services import floor
from forum.services.screens import room_screen, screen_link_issue, screen_link_revoke
from forum.services.seats import seat_consent
from tests.support.personas import PERSONAS, Cast, client_for
from tests.support.room_ui import ROOM_JS
from tests.support.sockets import ask, connect, event_of, latest_presence

NAMES = [name for name, _org, _sector, _role in PERSONAS.values()] + [
    org for _name, org, _sector, _role in PERSONAS.values() if org
]


def staff_client() -> tuple[Client, User]:
    staff = User.objects.create_user(
        "sam@secretariat.example", password="pw-for-tests", is_staff=True
    )
    client = Client()
    client.force_login(staff)
    return client, staff


def open_screen(url: str) -> Client:
    """A fresh browser that follows the screen link and presses its button."""
    screen = Client()
    path = re.sub(r"^https?://[^/]+", "", url)
    assert screen.get(path).status_code == 200
    answer = screen.post(path)
    assert answer.status_code == 302, answer
    assert answer["Location"].endswith("/screen/")
    return screen


@pytest.mark.django_db
def test_the_secretariat_issues_a_screen_link_that_opens_the_screen_page_and_nothing_else(
    cast: Cast,
):
    client, _staff = staff_client()
    page = client.get(f"/secretariat/rooms/{cast.room.slug}/")
    assert "Venue screen" in page.content.decode()
    answer = client.post(f"/secretariat/rooms/{cast.room.slug}/", {"action": "screen_issue"})
    assert answer.status_code == 200
    url = re.search(r'value="(http[^"]+/join/[^"]+/)"', answer.content.decode()).group(1)
    screen = open_screen(url)
    seat = room_screen(cast.room)
    assert seat.role == Seat.Role.SCREEN and seat.sector is None

    # The screen: the current item, the floor, the rule; no name of anyone.
    seat_consent(seat_id=cast.cora.pk, rule=cast.room.rule)
    floor.hand_raise(seat_id=cast.cora.pk)
    html = screen.get(f"/rooms/{cast.room.slug}/screen/").content.decode()
    assert "General discussion" in html and "Chatham House Rule" in html
    assert not [name for name in NAMES if name in html]
    # The room page leads it to its screen; every other page of the room is shut to it.
    assert screen.get(f"/rooms/{cast.room.slug}/")["Location"].endswith("/screen/")
    for path in ("minutes/", "outcomes/", "audit/", "parity.json", "minutes.md"):
        assert screen.get(f"/rooms/{cast.room.slug}/{path}").status_code == 403, path
    # The people's seats table does not list the screen as a person.
    assert "screen." not in client.get(f"/secretariat/rooms/{cast.room.slug}/").content.decode()

    # A person's seat does not open the screen page.
    assert client_for(cast.chloe).get(f"/rooms/{cast.room.slug}/screen/").status_code == 403

    # Revoked: the screen goes dark.
    answer = client.post(f"/secretariat/rooms/{cast.room.slug}/", {"action": "screen_revoke"})
    assert answer.status_code == 302
    assert screen.get(f"/rooms/{cast.room.slug}/screen/").status_code == 403
    # A new link opens it again; the old one stays dead.
    assert Client().get(re.sub(r"^https?://[^/]+", "", url)).status_code == 404


@pytest.mark.django_db
def test_only_the_secretariat_issues_screen_links_and_a_screen_is_never_a_persons_seat(cast: Cast):
    from forum.errors import Forbidden, ServiceError
    from forum.services.seats import seat_upsert

    with pytest.raises(Forbidden):
        screen_link_issue(room=cast.room, actor=cast.chloe.user)
    with pytest.raises(ServiceError) as refused:
        seat_upsert(
            room=cast.room, user=cast.oscar.user, role="screen", sector=None, organization=None
        )
    assert refused.value.code == "invalid_role"
    _client, staff = staff_client()
    seat, first = screen_link_issue(room=cast.room, actor=staff)
    again, second = screen_link_issue(room=cast.room, actor=staff)
    assert again.pk == seat.pk and first != second  # one screen seat, a new link
    screen_link_revoke(room=cast.room, actor=staff)
    assert Seat.objects.get(pk=seat.pk).token_revoked_at is not None


@pytest.mark.django_db(transaction=True)
async def test_the_screen_reads_the_floor_cannot_act_and_is_not_counted_present(cast, sockets):
    @database_sync_to_async
    def make_screen():
        _client, staff = staff_client()
        return screen_link_issue(room=cast.room, actor=staff)[0]

    seat = await make_screen()
    screen, connected, _ = await sockets(seat.user)
    assert connected
    welcome = await screen.recv_type("welcome")
    assert welcome["you"]["role"] == "screen"
    socks = await connect(sockets, cast, "chloe", "cora")

    # Not counted: the chair is the only one of "others", Cora the only delegate.
    presence = await latest_presence(
        socks["chloe"], lambda f: f["sectors"].get("civil-society") == 1
    )
    assert presence["others"] == 1 and presence["total"] == 2

    # It reads the floor as participants read it: a label, never a name.
    await ask(socks["chloe"], {"type": "hand", "action": "raise", "seat": cast.cora.public_id})
    await ask(socks["chloe"], {"type": "floor", "action": "next"})
    given = await event_of(screen, "floor.given")
    assert given["data"]["speaker"]["attribution"]["label"].startswith("Civil society · Delegate")
    assert "author" not in given["data"]["speaker"]
    assert not [name for name in NAMES if name in str(given)]

    # It acts on nothing.
    for frame in (
        {"type": "post", "client_id": "6f1c7c1e-5d38-4a57-9c1f-5f8a7f1e2b3c", "body": "Hello"},
        {"type": "hand", "action": "raise", "ref": "r"},
        {"type": "consent", "rule": "chatham-house"},
        {"type": "agenda", "action": "add", "title": "Mine", "ref": "r"},
        {"type": "floor", "action": "end", "ref": "r"},
    ):
        error = await ask(screen, frame)
        assert (error["type"], error["code"]) == ("error", "forbidden"), (frame, error)


def test_every_string_the_screen_shows_comes_from_its_translated_dict():
    from forum.room.screen import screen_strings

    source = (ROOM_JS / "screen.js").read_text()
    asked = set(re.findall(r'\bt\("([\w.-]+)"', source))
    assert asked and asked <= set(screen_strings())
