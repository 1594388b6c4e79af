"""The secretariat's admin changes room state only through the services."""

import pytest
from django.test import Client

from forum.models import RoomEvent, RoundTable, Seat, User
from forum.services.seats import seat_by_token


@pytest.fixture
def secretariat(db):
    return User.objects.create_superuser("sec@example.org", "sec@example.org", "pw-for-tests-only")


@pytest.fixture
def admin_client(secretariat):
    client = Client()
    client.force_login(secretariat)
    return client


def test_closing_a_room_in_the_admin_goes_through_the_log(cast, admin_client):
    response = admin_client.post(
        "/admin/forum/roundtable/", {"action": "close_rooms", "_selected_action": [cast.room.pk]}
    )
    assert response.status_code == 302
    assert RoundTable.objects.get(pk=cast.room.pk).status == "closed"
    event = RoomEvent.objects.get(room=cast.room)
    assert (event.seq, event.kind, event.participants) == (
        1,
        "room.status_changed",
        {"status": "closed"},
    )


def test_revoking_a_link_in_the_admin_makes_it_stop_working(cast, admin_client):
    assert seat_by_token(cast.tokens["cora"]) is not None
    admin_client.post(
        "/admin/forum/seat/", {"action": "revoke_links", "_selected_action": [cast.cora.pk]}
    )
    assert seat_by_token(cast.tokens["cora"]) is None
    assert Client().get(f"/join/{cast.tokens['cora']}/").status_code == 404


def test_issuing_a_new_link_replaces_the_old_one(cast, admin_client):
    response = admin_client.post(
        "/admin/forum/seat/",
        {"action": "issue_links", "_selected_action": [cast.gus.pk]},
        follow=True,
    )
    text = response.content.decode()
    assert "Join link for gus@example.org: http://" in text
    assert seat_by_token(cast.tokens["gus"]) is None
    token = text.split("Join link for gus@example.org: ")[1].split("/join/")[1].split("/")[0]
    assert seat_by_token(token).pk == cast.gus.pk


def test_the_event_log_cannot_be_edited_in_the_admin(cast, admin_client):
    from forum.services.rooms import room_set_status

    room_set_status(room=cast.room, status="closed")
    event = RoomEvent.objects.get(room=cast.room)
    assert admin_client.get(f"/admin/forum/roomevent/{event.pk}/delete/").status_code == 403
    admin_client.post(f"/admin/forum/roomevent/{event.pk}/change/", {"kind": "forged"})
    assert RoomEvent.objects.get(pk=event.pk).kind == "room.status_changed"
    assert Seat.objects.count() == len(cast.seats)
