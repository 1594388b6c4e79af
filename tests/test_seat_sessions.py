"""A session belongs to one seat and one link (forum/selectors.py: access_room): the join
page and its button, sign-out, and what ends a session, for pages and sockets alike; and
the secretariat's own sign-in page. In-process, through the real ASGI stack; the same over
two Daphne processes is in tests/test_seat_sessions_cluster.py."""

from __future__ import annotations

import asyncio
from html import unescape

import pytest
from channels.db import database_sync_to_async
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.test import Client

from forum.models import Seat, User
from forum.services.moderator_actions import seat_remove
from forum.services.participants import participants_import
from forum.services.seats import seat_end_sessions, seat_link_issue, seat_link_revoke
from moderation.attribution import attribute
from tests.support.personas import build_cast, client_for, seat_session

pytestmark = [pytest.mark.django_db(transaction=True)]

SESSION = settings.SESSION_COOKIE_NAME
REASON = "Disrupted the session twice."


@pytest.fixture
def sam(db) -> User:
    return User.objects.create_user(
        username="sam", email="sam@example.org", password="a-long-staff-password", is_staff=True
    )


def join(token: str, client: Client | None = None) -> Client:
    """Open a join link and press its button, as a person does; the client is then signed in."""
    client = client or Client()
    assert client.get(f"/join/{token}/").status_code == 200
    assert client.post(f"/join/{token}/").status_code == 302
    return client


def session_key(client: Client) -> str:
    return client.cookies[SESSION].value


def signed_in_user(client: Client) -> str | None:
    return client.session.get("_auth_user_id") if SESSION in client.cookies else None


async def refused_and_closed(sock, says: str | None = None) -> dict:
    """The socket is told `forbidden` and closed with 4403."""
    error = await sock.recv_type("error", timeout=5)
    assert error["code"] == "forbidden", error
    if says:
        assert says in error["message"], error
    assert await sock.comm.receive_output(timeout=5) == {"type": "websocket.close", "code": 4403}
    sock.closed = True
    return error


async def still_open(sock) -> None:
    await sock.send({"type": "ping"})
    await sock.recv_type("pong")


# -- the join page: a GET shows, only its button signs in -----------------------------------


def test_the_join_page_names_the_round_table_and_the_seat_label_and_nobody(cast):
    body = Client().get(f"/join/{cast.tokens['cora']}/").content.decode()
    label = attribute(cast.cora).label
    assert f"Round table “Test round table”, as {label}" in body
    for identity in ("Cora Civil", "cora@example.org", "Peace Network of Nowhere"):
        assert identity not in body
    assert 'name="robots" content="noindex' in body


def test_the_join_page_speaks_the_readers_language(cast):
    body = (
        Client(headers={"accept-language": "es"})
        .get(f"/join/{cast.tokens['cora']}/")
        .content.decode()
    )
    number = attribute(cast.cora).as_payload()["number"]
    assert f"Mesa redonda “Test round table”, como Sociedad civil · Delegado {number}" in body
    assert "Entrar en la mesa redonda" in body


def test_a_link_fetched_by_a_mail_scanner_replaces_no_ones_session(cast):
    client = join(cast.tokens["gus"])
    response = client.get(f"/join/{cast.tokens['cora']}/")
    assert response.status_code == 200
    assert signed_in_user(client) == str(cast.gus.user_id)
    assert client.get("/rooms/test-room/").context["seat"].pk == cast.gus.pk


def test_the_join_page_says_which_other_seat_is_signed_in_before_replacing_it(cast):
    client = join(cast.tokens["gus"])
    body = client.get(f"/join/{cast.tokens['cora']}/").content.decode()
    assert (
        f"This browser is signed in to another seat: round table “Test round table”, as "
        f"{attribute(cast.gus).label}." in body
    )
    assert "Gustavo" not in body and "gus@example.org" not in body
    join(cast.tokens["cora"], client)
    assert client.get("/rooms/test-room/").context["seat"].pk == cast.cora.pk


def test_the_join_page_says_when_this_very_link_is_already_signed_in(cast):
    client = join(cast.tokens["cora"])
    body = client.get(f"/join/{cast.tokens['cora']}/").content.decode()
    assert "This browser is already signed in with this link." in body


def test_joining_replaces_a_staff_session_and_says_so_first(cast, sam):
    client = Client()
    client.force_login(sam)
    body = client.get(f"/join/{cast.tokens['cora']}/").content.decode()
    assert "signed in with a secretariat account" in body
    join(cast.tokens["cora"], client)
    assert signed_in_user(client) == str(cast.cora.user_id)
    assert client.get("/secretariat/").status_code == 403


def test_a_join_post_without_the_pages_csrf_token_signs_no_one_in(cast):
    client = Client(enforce_csrf_checks=True)
    response = client.post(f"/join/{cast.tokens['cora']}/")
    assert response.status_code == 403
    assert "came from another site or has expired" in response.content.decode()
    assert SESSION not in response.cookies and signed_in_user(client) is None


def test_a_cross_site_post_of_the_join_form_is_refused_even_with_a_token(cast):
    """Another site that has the form's token (say, it fetched the page itself) still posts
    from its own origin, which the CSRF check refuses."""
    client = Client(enforce_csrf_checks=True)
    page = client.get(f"/join/{cast.tokens['cora']}/").content.decode()
    token = page.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
    foreign = client.post(
        f"/join/{cast.tokens['cora']}/",
        {"csrfmiddlewaretoken": token},
        headers={"origin": "https://evil.example"},
    )
    assert foreign.status_code == 403 and signed_in_user(client) is None
    own = client.post(
        f"/join/{cast.tokens['cora']}/",
        {"csrfmiddlewaretoken": token},
        headers={"origin": "http://testserver"},
    )
    assert own.status_code == 302 and signed_in_user(client) == str(cast.cora.user_id)


def test_signing_in_changes_the_session_key(cast):
    client = join(cast.tokens["gus"])
    before = session_key(client)
    join(cast.tokens["cora"], client)
    assert session_key(client) != before
    assert (
        Client(headers={"cookie": f"{SESSION}={before}"}).get("/rooms/test-room/").status_code
        == 403
    )


# -- one seat, one link ---------------------------------------------------------------------


def test_a_link_of_one_room_does_not_open_another_where_the_person_also_sits(cast):
    other = build_cast("other-room")  # the same people, seated in another room too
    client = join(cast.tokens["cora"])
    assert client.get("/rooms/test-room/").status_code == 200
    refused = client.get("/rooms/other-room/")
    assert refused.status_code == 403
    assert "join link of another round table" in refused.content.decode()
    assert client.get("/rooms/other-room/minutes.md").status_code == 403
    # Refused there, still signed in here; and home lists the one room the link opens.
    assert client.get("/rooms/test-room/").status_code == 200
    home = client.get("/").content.decode()
    assert "/rooms/test-room/" in home and "/rooms/other-room/" not in home
    # Their other room's own link opens that one (and only that one).
    join(other.tokens["cora"], client)
    assert client.get("/rooms/other-room/").status_code == 200
    assert client.get("/rooms/test-room/").status_code == 403


async def test_a_socket_of_one_rooms_link_is_refused_in_another(cast, sockets):
    await database_sync_to_async(build_cast)("other-room")
    client = await database_sync_to_async(join)(cast.tokens["cora"])
    sock, _, _ = await sockets(None, "other-room", session=session_key(client))
    await refused_and_closed(sock, "another round table")
    here, _, _ = await sockets(None, "test-room", session=session_key(client))
    assert (await here.recv_type("welcome"))["you"]["role"] == "delegate"


async def test_a_new_link_ends_the_old_links_session_and_sockets_not_the_new_ones(
    cast, sockets, sam
):
    old = await database_sync_to_async(join)(cast.tokens["cora"])
    sock, _, _ = await sockets(None, session=session_key(old))
    await sock.recv_type("welcome")
    token = await database_sync_to_async(seat_link_issue)(seat=cast.cora, actor=sam)
    await refused_and_closed(sock, "replaced")
    page = await database_sync_to_async(old.get)("/rooms/test-room/")
    assert page.status_code == 403
    assert "replaced or revoked" in page.content.decode()
    assert await database_sync_to_async(signed_in_user)(old) is None  # that browser is signed out
    again, _, _ = await sockets(None, session=session_key(old))
    await refused_and_closed(again)

    new = await database_sync_to_async(join)(token)
    fresh, _, _ = await sockets(None, session=session_key(new))
    await fresh.recv_type("welcome")
    assert (await database_sync_to_async(new.get)("/rooms/test-room/")).status_code == 200
    await still_open(fresh)


async def test_revoking_then_issuing_a_link_does_not_revive_the_old_session(cast, sockets, sam):
    old = await database_sync_to_async(join)(cast.tokens["gus"])
    sock, _, _ = await sockets(None, session=session_key(old))
    await sock.recv_type("welcome")
    await database_sync_to_async(seat_link_revoke)(seat=cast.gus, actor=sam)
    await refused_and_closed(sock, "revoked")
    await database_sync_to_async(seat_link_issue)(seat=cast.gus, actor=sam)
    assert (await database_sync_to_async(old.get)("/rooms/test-room/")).status_code == 403
    again, _, _ = await sockets(None, session=session_key(old))
    await refused_and_closed(again)


async def test_removing_a_seat_ends_its_sessions_on_pages_and_sockets(cast, sockets):
    old = await database_sync_to_async(join)(cast.tokens["gus"])
    sock, _, _ = await sockets(None, session=session_key(old))
    await sock.recv_type("welcome")
    await database_sync_to_async(seat_remove)(
        actor_seat_id=cast.chloe.pk, seat=cast.gus.public_id, reason=REASON
    )
    await refused_and_closed(sock, "withdrawn")
    page = await database_sync_to_async(old.get)("/rooms/test-room/")
    assert page.status_code == 403 and "withdrawn" in page.content.decode()


async def test_a_csv_reissue_ends_the_sessions_of_the_links_it_replaces(cast, sockets, sam):
    old = await database_sync_to_async(join)(cast.tokens["cora"])
    sock, _, _ = await sockets(None, session=session_key(old))
    await sock.recv_type("welcome")
    csv_text = (
        "name,email,organization,sector,role\n"
        "Cora Civil,cora@example.org,Peace Network of Nowhere,civil-society,delegate\n"
    )
    [row] = await database_sync_to_async(participants_import)(
        room=cast.room, text=csv_text, actor=sam, via="csv_import", reissue_links=True
    )
    await refused_and_closed(sock, "replaced")
    assert (await database_sync_to_async(old.get)("/rooms/test-room/")).status_code == 403
    token = row.join_url.rstrip("/").rsplit("/", 1)[1]
    new = await database_sync_to_async(join)(token)
    assert (await database_sync_to_async(new.get)("/rooms/test-room/")).status_code == 200


async def test_a_late_notice_of_an_old_link_spares_the_sockets_of_the_new_one(cast, sockets):
    """The notice of a new link travels after commit; a socket opened with that new link in
    the meantime is not the notice's to close."""
    old = await database_sync_to_async(join)(cast.tokens["cora"])
    stale, _, _ = await sockets(None, session=session_key(old))
    await stale.recv_type("welcome")

    def bump_without_notice() -> None:
        Seat.objects.filter(pk=cast.cora.pk).update(link_generation=F("link_generation") + 1)

    await database_sync_to_async(bump_without_notice)()
    current, _, _ = await sockets(cast.cora)  # signed in under the new generation
    await current.recv_type("welcome")

    def late_notice() -> None:
        with transaction.atomic():
            seat = Seat.objects.get(pk=cast.cora.pk)
            seat_end_sessions(seat, lambda: "Your join link has been replaced.")

    await database_sync_to_async(late_notice)()
    await refused_and_closed(stale, "replaced")
    await still_open(current)


async def test_a_lost_notice_is_made_up_by_the_hubs_look_at_the_database(cast, sockets, settings):
    """Channel layers may drop a message; each hub compares its sockets' links with the
    database every HUB_POLL_SECONDS and closes those whose link has ended."""
    settings.ROUNDTABLES = {**settings.ROUNDTABLES, "HUB_POLL_SECONDS": 0.2}
    old = await database_sync_to_async(join)(cast.tokens["cora"])
    sock, _, _ = await sockets(None, session=session_key(old))
    await sock.recv_type("welcome")
    other, _, _ = await sockets(cast.gus)
    await other.recv_type("welcome")
    await database_sync_to_async(Seat.objects.filter(pk=cast.cora.pk).update)(
        link_generation=F("link_generation") + 1
    )  # a new link whose notice never came
    await refused_and_closed(sock, "no longer opens")
    await still_open(other)


# -- signing out ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/rooms/test-room/",
        "/rooms/test-room/minutes/",
        "/rooms/test-room/outcomes/",
        "/rooms/test-room/audit/",
    ],
)
def test_every_page_of_a_seat_holder_has_the_sign_out_button(cast, path):
    body = join(cast.tokens["chloe"]).get(path).content.decode()
    assert '<form class="sign-out" action="/sign-out/" method="post">' in body
    assert ">Sign out</button>" in body


def test_signing_out_ends_the_session(cast):
    client = join(cast.tokens["cora"])
    key = session_key(client)
    response = client.post("/sign-out/", follow=True)
    assert response.redirect_chain == [("/", 302)]
    assert "You are signed out." in response.content.decode()
    assert signed_in_user(client) is None
    assert client.get("/rooms/test-room/").status_code == 403
    assert (
        Client(headers={"cookie": f"{SESSION}={key}"}).get("/rooms/test-room/").status_code == 403
    )
    assert "Sign out" not in client.get("/").content.decode()


def test_signing_out_is_a_post_from_this_site(cast):
    client = join(cast.tokens["cora"])
    assert client.get("/sign-out/").status_code == 405
    guarded = Client(enforce_csrf_checks=True)
    guarded.cookies = client.cookies
    assert guarded.post("/sign-out/").status_code == 403  # another site's form, no token
    assert client.get("/rooms/test-room/").status_code == 200


async def test_signing_out_closes_this_browsers_sockets_and_no_other(cast, sockets):
    here = await database_sync_to_async(join)(cast.tokens["cora"])
    there = await database_sync_to_async(join)(cast.tokens["cora"])  # the same link, another device
    mine, _, _ = await sockets(None, session=session_key(here))
    theirs, _, _ = await sockets(None, session=session_key(there))
    await mine.recv_type("welcome")
    await theirs.recv_type("welcome")
    assert (await database_sync_to_async(here.post)("/sign-out/")).status_code == 302
    await refused_and_closed(mine, "signed out")
    await still_open(theirs)
    assert (await database_sync_to_async(there.get)("/rooms/test-room/")).status_code == 200


# -- the secretariat's sign-in page ---------------------------------------------------------


def test_staff_sign_in_on_the_products_page_and_land_on_the_secretariat(cast, sam):
    client = Client()
    page = client.get("/sign-in/")
    assert page.status_code == 200
    assert "Secretariat sign-in" in page.content.decode()
    response = client.post("/sign-in/", {"username": "sam", "password": "a-long-staff-password"})
    assert (response.status_code, response["Location"]) == (302, "/secretariat/")
    assert client.get("/secretariat/").status_code == 200
    assert "Sign out" in client.get("/secretariat/").content.decode()


def test_the_sign_in_page_goes_on_to_the_page_asked_for_on_this_site_only(cast, sam):
    client = Client()
    fields = {"username": "sam", "password": "a-long-staff-password"}
    response = client.post("/sign-in/?next=/secretariat/rooms/test-room/", fields)
    assert response["Location"] == "/secretariat/rooms/test-room/"
    elsewhere = Client().post("/sign-in/", {**fields, "next": "https://evil.example/"})
    assert elsewhere["Location"] == "/secretariat/"


def test_the_sign_in_page_refuses_a_wrong_password_and_accounts_that_are_not_staff(cast, sam):
    wrong = Client().post("/sign-in/", {"username": "sam", "password": "guess"})
    assert wrong.status_code == 200 and "correct username and password" in wrong.content.decode()
    person = User.objects.create_user(
        username="pat", email="pat@example.org", password="a-long-password-too"
    )
    client = Client()
    refused = client.post(
        "/sign-in/", {"username": person.username, "password": "a-long-password-too"}
    )
    assert refused.status_code == 200
    assert "for the secretariat's staff accounts" in unescape(refused.content.decode())
    assert signed_in_user(client) is None


def test_a_seat_holders_account_cannot_sign_in_with_a_password(cast):
    # A seat holder's account has no usable password; a guess opens nothing.
    response = Client().post("/sign-in/", {"username": "cora@example.org", "password": ""})
    assert response.status_code == 200 and SESSION not in response.cookies


def test_a_staff_session_only_reads_a_room_and_a_seat_session_opens_no_secretariat_page(cast, sam):
    staff = Client()
    staff.post("/sign-in/", {"username": "sam", "password": "a-long-staff-password"})
    # The secretariat reads any room without a seat, and takes no part in it.
    assert staff.get("/rooms/test-room/").status_code == 200
    assert staff.post("/rooms/test-room/minutes/", {"action": "save"}).status_code == 403
    seat = join(cast.tokens["chloe"])
    assert seat.get("/secretariat/").status_code == 403
    assert seat.get("/admin/").status_code == 302  # to the admin's sign-in: not staff


def test_a_seat_that_ends_up_on_a_staff_account_opens_nothing(cast):
    client = join(cast.tokens["cora"])
    User.objects.filter(pk=cast.cora.user_id).update(is_staff=True)  # behind the product's back
    assert client.get("/rooms/test-room/").status_code == 403
    assert Client().get(f"/join/{cast.tokens['cora']}/").status_code == 404


def test_a_session_signed_in_without_a_join_link_opens_no_room(cast):
    assert client_for(cast.cora).get("/rooms/test-room/").status_code == 200
    plain = Client()
    plain.force_login(cast.cora.user)  # the person, but no seat named in the session
    assert plain.get("/rooms/test-room/").status_code == 403


def test_running_seed_demo_again_keeps_the_demo_sessions():
    """`make run` seeds the demo each time it starts; the demo's open sessions survive it."""
    import io
    import re

    from django.core.management import call_command

    def seed() -> str:
        out = io.StringIO()
        call_command("seed_demo", stdout=out, stderr=io.StringIO())
        return out.getvalue()

    token = re.search(r"/join/([A-Za-z0-9_-]+)/", seed()).group(1)
    client = join(token)
    seed()
    assert client.get("/rooms/demo-roundtable/").status_code == 200


# -- a role or sector change reaches the open sockets --------------------------------------


async def changed_and_closed(sock) -> dict:
    """The socket is told `seat_changed` and closed with 4409 (the page reloads)."""
    error = await sock.recv_type("error", timeout=5)
    assert error["code"] == "seat_changed", error
    assert await sock.comm.receive_output(timeout=5) == {"type": "websocket.close", "code": 4409}
    sock.closed = True
    return error


def change_seat(
    seat: Seat, *, role: str | None = None, sector: str | None = None, actor=None
) -> None:
    from forum.models import Sector
    from forum.services.seats import seat_save

    seat = Seat.objects.select_related("user", "sector", "organization").get(pk=seat.pk)
    new_sector = Sector.objects.get(slug=sector) if sector else seat.sector
    organization = seat.organization if new_sector == seat.sector else None
    seat_save(
        room=seat.room,
        user=seat.user,
        role=role or seat.role,
        sector=new_sector,
        organization=organization,
        actor=actor,
        via="import_participants",
    )


async def test_a_role_change_closes_the_seats_sockets_and_the_next_one_has_the_new_role(
    cast, sockets
):
    old, _, _ = await sockets(cast.cora)
    welcome = await old.recv_type("welcome")
    assert welcome["you"]["role"] == "delegate"
    other, _, _ = await sockets(cast.gus)
    await other.recv_type("welcome")
    session = await database_sync_to_async(session_key_of)(cast.cora)
    await database_sync_to_async(change_seat)(cast.cora, role="observer")
    error = await changed_and_closed(old)
    assert "role" in error["message"]
    again, _, _ = await sockets(None, session=session)  # the same session, the same link
    assert (await again.recv_type("welcome"))["you"]["role"] == "observer"
    await still_open(other)


async def test_a_sector_change_closes_the_seats_sockets(cast, sockets):
    sock, _, _ = await sockets(cast.cora)
    assert (await sock.recv_type("welcome"))["you"]["sector"] == "civil-society"
    await database_sync_to_async(change_seat)(cast.cora, sector="academia")
    await changed_and_closed(sock)
    again, _, _ = await sockets(cast.cora)
    assert (await again.recv_type("welcome"))["you"]["sector"] == "academia"


async def test_saving_a_seat_as_it_is_leaves_its_sockets_open(cast, sockets):
    sock, _, _ = await sockets(cast.cora)
    await sock.recv_type("welcome")
    await database_sync_to_async(change_seat)(cast.cora)
    await asyncio.sleep(0.5)  # any notice would have arrived by now; still_open fails on one
    await still_open(sock)


async def test_a_lost_role_change_notice_is_made_up_by_the_hubs_look_at_the_database(
    cast, sockets, settings
):
    settings.ROUNDTABLES = {**settings.ROUNDTABLES, "HUB_POLL_SECONDS": 0.2}
    sock, _, _ = await sockets(cast.cora)
    await sock.recv_type("welcome")
    other, _, _ = await sockets(cast.gus)
    await other.recv_type("welcome")
    # Changed without the service, so no notice travels: only the database says so.
    await database_sync_to_async(Seat.objects.filter(pk=cast.cora.pk).update)(role="observer")
    await changed_and_closed(sock)
    await still_open(other)


def session_key_of(seat: Seat) -> str:
    return seat_session(seat)


# -- a session gone from the database closes its sockets ------------------------------------


async def test_a_session_deleted_without_a_notice_closes_its_sockets(cast, sockets, settings):
    """A sign-out's notice may be lost like any layer message; each hub also checks every
    HUB_POLL_SECONDS that its sockets' sessions still exist."""
    from django.contrib.sessions.models import Session

    settings.ROUNDTABLES = {**settings.ROUNDTABLES, "HUB_POLL_SECONDS": 0.2}
    here = await database_sync_to_async(join)(cast.tokens["cora"])
    there = await database_sync_to_async(join)(cast.tokens["cora"])  # another device
    mine, _, _ = await sockets(None, session=session_key(here))
    theirs, _, _ = await sockets(None, session=session_key(there))
    await mine.recv_type("welcome")
    await theirs.recv_type("welcome")
    await database_sync_to_async(Session.objects.filter(session_key=session_key(here)).delete)()
    await refused_and_closed(mine, "signed out")
    await still_open(theirs)


async def test_an_expired_session_closes_its_sockets(cast, sockets, settings):
    import datetime as dt

    from django.contrib.sessions.models import Session
    from django.utils import timezone

    settings.ROUNDTABLES = {**settings.ROUNDTABLES, "HUB_POLL_SECONDS": 0.2}
    client = await database_sync_to_async(join)(cast.tokens["cora"])
    sock, _, _ = await sockets(None, session=session_key(client))
    await sock.recv_type("welcome")
    await database_sync_to_async(Session.objects.filter(session_key=session_key(client)).update)(
        expire_date=timezone.now() - dt.timedelta(seconds=1)
    )
    await refused_and_closed(sock)
