"""Join links, the room page and /healthz, through Django's test client."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client, override_settings

from forum.models import Seat
from forum.services.seats import seat_issue_token, seat_revoke_token
from moderation.attribution import attribute
from tests.support.personas import PERSONAS, build_cast, client_for

pytestmark = pytest.mark.django_db

SESSION = settings.SESSION_COOKIE_NAME


def signed_in(client: Client) -> str | None:
    """The user id the client's session is signed in as, if any."""
    if SESSION not in client.cookies:
        return None
    return client.session.get("_auth_user_id")


def assert_no_session(client: Client, response) -> None:
    assert SESSION not in response.cookies
    assert SESSION not in client.cookies
    assert signed_in(client) is None


# join links


def test_a_valid_join_link_shows_where_it_leads_and_signs_no_one_in(cast):
    client = Client()
    response = client.get(f"/join/{cast.tokens['cora']}/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Round table “Test round table”, as Civil society · Delegate" in body
    assert 'method="post"' in body and "csrfmiddlewaretoken" in body
    assert "no-store" in response["Cache-Control"]  # the token-bearing URL is never cached
    assert_no_session(client, response)


def test_pressing_the_join_button_signs_in_and_redirects_to_the_room(cast):
    client = Client()
    response = client.post(f"/join/{cast.tokens['cora']}/")
    assert response.status_code == 302
    assert response["Location"] == "/rooms/test-room/"
    assert SESSION in response.cookies
    assert signed_in(client) == str(cast.cora.user.pk)
    assert "no-store" in response["Cache-Control"]


def test_following_a_join_link_and_its_button_lands_on_the_room_page(cast):
    client = Client()
    response = client.post(f"/join/{cast.tokens['gus']}/", follow=True)
    assert response.status_code == 200
    assert response.redirect_chain == [("/rooms/test-room/", 302)]
    assert "Test round table" in response.content.decode()


@pytest.mark.parametrize("method", ["get", "post"])
@pytest.mark.parametrize(
    "token",
    ["not-a-token", "A" * 43, "x", "%20", "A" * 250],
    ids=["garbage", "token-shaped", "short", "space", "oversized"],
)
def test_a_bad_join_link_gives_a_helpful_404_and_no_session(cast, token, method):
    client = Client()
    response = getattr(client, method)(f"/join/{token}/")
    assert response.status_code == 404
    body = response.content.decode()
    assert "join link is not valid" in body
    assert "secretariat" in body
    assert_no_session(client, response)


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_revoked_join_link_gives_a_404_and_no_session(cast, method):
    seat_revoke_token(seat=cast.cora)
    client = Client()
    response = getattr(client, method)(f"/join/{cast.tokens['cora']}/")
    assert response.status_code == 404
    assert "revoked" in response.content.decode()
    assert_no_session(client, response)


def test_a_replaced_join_link_stops_working_and_the_new_one_works(cast):
    old = cast.tokens["cora"]
    new = seat_issue_token(seat=cast.cora)
    client = Client()
    assert client.get(f"/join/{old}/").status_code == 404
    assert_no_session(client, client.post(f"/join/{old}/"))
    assert client.post(f"/join/{new}/").status_code == 302
    assert signed_in(client) == str(cast.cora.user.pk)


def test_a_bad_join_link_does_not_sign_out_someone_already_signed_in(cast):
    client = Client()
    client.post(f"/join/{cast.tokens['cora']}/")
    response = client.post("/join/not-a-token/")
    assert response.status_code == 404
    assert SESSION not in response.cookies  # no new cookie was set
    assert signed_in(client) == str(cast.cora.user.pk)


def test_a_join_link_switches_the_session_to_its_seat_holder(cast):
    client = Client()
    client.post(f"/join/{cast.tokens['cora']}/")
    client.post(f"/join/{cast.tokens['gus']}/")
    assert signed_in(client) == str(cast.gus.user.pk)


def test_a_join_link_answers_get_and_post_only(cast):
    client = Client()
    for method in ("put", "delete", "patch"):
        response = getattr(client, method)(f"/join/{cast.tokens['cora']}/")
        assert response.status_code == 405
        assert_no_session(client, response)


# the room page


def room_page(user=None, slug="test-room"):
    return client_for(user, slug).get(f"/rooms/{slug}/")


def test_a_seat_holder_sees_the_room_page_with_its_title_and_agenda(cast):
    response = room_page(cast.cora.user)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Test round table" in body
    assert "General discussion" in body
    assert 'data-slug="test-room"' in body


def test_someone_without_a_seat_is_refused_with_403(cast, outsider):
    response = room_page(outsider)  # signed in, but not with a join link of this room
    assert response.status_code == 403
    assert "Sign in with your personal join link" in response.content.decode()
    assert "Test round table" not in response.content.decode()


def test_an_anonymous_visitor_is_refused_with_403_and_told_to_use_their_link(cast):
    response = room_page(None)
    assert response.status_code == 403
    assert "join link" in response.content.decode()
    assert "Test round table" not in response.content.decode()


@pytest.mark.parametrize("signed_in_as", ["anonymous", "delegate"])
def test_an_unknown_room_is_404(cast, signed_in_as):
    user = cast.cora.user if signed_in_as == "delegate" else None
    response = room_page(user, slug="no-such-room")
    assert response.status_code == 404


def test_a_seat_in_another_room_does_not_open_this_one(cast):
    build_cast("other-room")  # the same people, seated in another room
    other = Seat.objects.get(room__slug="other-room", user=cast.cora.user)
    Seat.objects.filter(room=cast.room, user=cast.cora.user).delete()
    assert room_page(other.user, slug="test-room").status_code == 403
    assert room_page(other.user, slug="other-room").status_code == 200


def test_a_revoked_seat_no_longer_opens_the_room_page_even_with_a_session(cast):
    client = Client()
    client.post(f"/join/{cast.tokens['cora']}/")
    assert client.get("/rooms/test-room/").status_code == 200
    seat_revoke_token(seat=cast.cora)
    assert client.get("/rooms/test-room/").status_code == 403


def identities(cast, exclude: str | None = None) -> dict[str, list[str]]:
    """Name, e-mail and organization of every seat holder, by persona."""
    out = {}
    for persona, (name, org, _sector, _role) in PERSONAS.items():
        if persona == exclude:
            continue
        out[persona] = [s for s in (name, f"{persona}@example.org", org) if s]
    return out


@pytest.mark.parametrize("persona", ["cora", "gus", "ada", "pia", "oscar", "chloe"])
def test_a_chatham_house_room_page_names_nobody_not_even_the_viewer(cast, persona):
    body = room_page(cast.seats[persona].user).content.decode()
    for other, strings in identities(cast, exclude=persona).items():
        for text in strings:
            assert text not in body, f"{persona}'s page reveals {other}: {text!r}"
    name, _org, _sector, _role = PERSONAS[persona]
    assert name not in body
    assert name.split()[0] not in body
    assert f"{persona}@example.org" not in body


def test_a_delegate_page_shows_their_attribution_label_instead_of_their_name(cast):
    body = room_page(cast.cora.user).content.decode()
    label = attribute(cast.cora).label
    assert label.startswith("Civil society · Delegate ")
    assert f'<strong id="you-label">{label}</strong>' in body


def test_a_delegate_below_k_is_shown_as_a_participant_on_their_page(cast):
    body = room_page(cast.ada.user).content.decode()
    assert '<strong id="you-label">A participant</strong>' in body
    assert "Academia · Delegate" not in body


def test_a_chatham_house_page_shows_the_rule_and_the_consent_button(cast):
    body = room_page(cast.cora.user).content.decode()
    assert "Chatham House Rule" in body
    assert 'id="consent-button"' in body


def test_an_open_room_page_shows_the_delegate_by_name():
    cast = build_cast("open-room", rule="open")
    body = room_page(cast.cora.user, slug="open-room").content.decode()
    assert "Cora Civil (Peace Network of Nowhere)" in body
    assert 'id="consent-button"' not in body


def test_an_observer_page_has_no_post_box(cast):
    body = room_page(cast.oscar.user).content.decode()
    assert 'id="post-form"' not in body
    assert 'id="post-form"' in room_page(cast.cora.user).content.decode()


# health


def test_healthz_reports_the_database_and_the_channel_layer_ok():
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["channel_layer"] == "ok"


def test_healthz_reports_503_when_the_channel_layer_does_not_answer():
    unreachable = {
        "default": {
            "BACKEND": "realtime.layers.PooledRedisChannelLayer",
            # Port 1 on the loopback: nothing listens, the connection is refused at once.
            "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"], "pool_timeout": 1},
        }
    }
    with override_settings(CHANNEL_LAYERS=unreachable):
        response = Client().get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["database"] == "ok"
    assert body["channel_layer"] == "error"
