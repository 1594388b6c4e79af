"""The secretariat's room page sends invitations: every seat without a link, chosen seats,
one seat again; cancels; and shows per seat invited, bounced, link opened, joined, accepted."""

from __future__ import annotations

import pytest
from django.test import Client

from forum.models import OutboxMessage, Sector, User
from forum.services.mail import send_due
from forum.services.seats import seat_upsert, user_upsert
from tests.support.secretariat import page
from tests.support.smtp import smtp_server

ROOM = "/secretariat/rooms/test-room/"


@pytest.fixture
def sam(db) -> User:
    return User.objects.create_user(
        username="sam", email="sam@example.org", password="x", is_staff=True
    )


@pytest.fixture
def staff(sam) -> Client:
    client = Client()
    client.force_login(sam)
    return client


@pytest.fixture
def newcomers(cast):
    """Two delegates seated without a link yet (as the import leaves them unless asked)."""
    sector = Sector.objects.get(slug="academia")
    seats = []
    for email, name in [("nadia@example.org", "Nadia New"), ("noor@example.org", "Noor Next")]:
        seat, _ = seat_upsert(
            room=cast.room,
            user=user_upsert(email=email, name=name),
            role="delegate",
            sector=sector,
            organization=None,
        )
        seats.append(seat)
    return seats


def test_invite_every_seat_without_a_link(staff, cast, newcomers):
    response = staff.post(ROOM, {"action": "invite_missing"}, follow=True)
    assert "2 invitations are queued" in page(response)
    assert {m.recipient for m in OutboxMessage.objects.all()} == {
        "nadia@example.org",
        "noor@example.org",
    }
    assert page(response).count('data-invitation="queued"') == 2


def test_invite_chosen_seats_and_refuse_a_seat_of_another_room(staff, cast, newcomers):
    response = staff.post(
        ROOM, {"action": "invite_chosen", "seats": [cast.ada.public_id, newcomers[0].public_id]}
    )
    assert response.status_code == 302
    assert OutboxMessage.objects.count() == 2
    none = staff.post(ROOM, {"action": "invite_chosen"})
    assert none.status_code == 400 and "no_seats" in page(none)
    stranger = staff.post(ROOM, {"action": "invite_chosen", "seats": ["nope"]})
    assert stranger.status_code == 400 and "not_found" in page(stranger)
    assert OutboxMessage.objects.count() == 2  # refusals queue nothing


def test_a_seat_without_an_address_refuses_the_whole_invitation(staff, cast, newcomers):
    User.objects.filter(pk=newcomers[1].user_id).update(email="")
    response = staff.post(
        ROOM,
        {"action": "invite_chosen", "seats": [newcomers[0].public_id, newcomers[1].public_id]},
    )
    assert response.status_code == 400 and "not_invitable" in page(response)
    assert "Noor Next" in page(response)
    assert not OutboxMessage.objects.exists()
    newcomers[0].refresh_from_db()
    assert newcomers[0].token_hash is None  # no link issued either


def test_the_seats_table_shows_bounced_opened_joined_and_accepted(staff, cast, newcomers, settings):
    staff.post(ROOM, {"action": "invite_chosen", "seats": [n.public_id for n in newcomers]})
    with smtp_server(settings) as inbox:
        inbox.refuse = ["550 5.1.1 No such mailbox"]
        send_due()
    nadia, noor = (OutboxMessage.objects.get(seat=s) for s in newcomers)
    assert {nadia.status, noor.status} == {"failed", "sent"}
    bounced_seat = nadia.seat if nadia.status == "failed" else noor.seat
    fine = noor if bounced_seat == nadia.seat else nadia
    token = inbox.received[0].get_body(("plain",)).get_content().split("/join/")[1].split("/")[0]
    joiner = Client()
    joiner.get(f"/join/{token}/")
    joiner.post(f"/join/{token}/")

    text = page(staff.get(ROOM))
    row = text.split(f'data-seat="{bounced_seat.public_id}"')[1].split("</tr>")[0]
    assert 'data-invitation="bounced"' in row
    row = text.split(f'data-seat="{fine.seat.public_id}"')[1].split("</tr>")[0]
    assert 'data-invitation="sent"' in row and "data-opened" in row


def test_cancel_from_the_page_closes_and_refuses_opening(staff, cast, newcomers):
    cast.room.status = "scheduled"
    cast.room.save(update_fields=["status"])
    staff.post(ROOM, {"action": "invite_missing"})
    response = staff.post(ROOM, {"action": "cancel"}, follow=True)
    assert "2 cancellations are queued" in page(response)
    assert OutboxMessage.objects.filter(kind="cancellation").count() == 2
    assert 'value="open"' not in page(response)  # a cancelled round table has no Open button
    reopened = staff.post(ROOM, {"action": "open"})
    assert reopened.status_code == 409 and "room_cancelled" in page(reopened)
    cast.room.refresh_from_db()
    assert cast.room.status == "closed"


def test_an_invitation_that_would_name_another_participant_is_refused(staff, cast, newcomers):
    cast.room.agenda_items.create(position=9, title="Report by Cora Civil")
    response = staff.post(ROOM, {"action": "invite_missing"})
    assert response.status_code == 400 and "names_participant" in page(response)
    assert not OutboxMessage.objects.exists()
    for seat in newcomers:
        seat.refresh_from_db()
        assert seat.token_hash is None  # no link issued
