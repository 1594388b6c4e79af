"""Limits: the per-seat post bucket, slow mode, the per-socket frame bucket and the cap on
sockets per seat. Time is moved by editing the seat's row backwards, never by sleeping.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from forum.errors import ServiceError
from forum.models import Intervention, Seat
from forum.services import moderator_actions as moderation
from forum.services.interventions import intervention_post
from tests.support.state import snapshot

CLEAN = "Early warning only works when the alerts reach the districts in time."


@pytest.fixture
def tight(settings):
    """A burst of 3 posts, then one more a minute."""
    settings.ROUNDTABLES = {**settings.ROUNDTABLES, "POST_BURST": 3, "POST_REFILL_SECONDS": 60}
    return settings


@pytest.fixture
def consented(cast):
    Seat.objects.filter(room=cast.room).update(consented_at=timezone.now())
    return cast


def post_as(seat: Seat, client_id: uuid.UUID | None = None):
    return intervention_post(seat_id=seat.pk, client_id=client_id or uuid.uuid4(), body=CLEAN)


def refused(seat: Seat, code: str = "rate_limited") -> ServiceError:
    """`seat` posts and is refused with `code`; nothing at all is written."""
    before = snapshot(seat.room)
    with pytest.raises(ServiceError) as caught:
        post_as(seat)
    assert caught.value.code == code
    assert snapshot(seat.room) == before
    return caught.value


def rewind(seat: Seat, seconds: float, *fields: str) -> None:
    """Pretend `seconds` have passed since the seat's bucket (or last post) was written."""
    row = Seat.objects.get(pk=seat.pk)
    Seat.objects.filter(pk=seat.pk).update(
        **{name: getattr(row, name) - timedelta(seconds=seconds) for name in fields}
    )


# -- the per-seat post bucket --------------------------------------------------------------


@pytest.mark.django_db
def test_a_burst_of_three_posts_passes_and_the_fourth_is_rate_limited(consented, tight):
    gus = consented.gus
    for _ in range(3):
        post_as(gus)
    error = refused(gus)
    assert 0 < error.extra["retry_after"] <= 60
    assert "Try again" in error.message
    assert Intervention.objects.filter(seat=gus).count() == 3


@pytest.mark.django_db
def test_the_bucket_is_per_seat(consented, tight):
    for _ in range(3):
        post_as(consented.gus)
    refused(consented.gus)
    for _ in range(3):
        post_as(consented.cora)
    refused(consented.cora)


@pytest.mark.django_db
def test_a_repeated_client_id_is_acknowledged_even_when_the_bucket_is_empty(consented, tight):
    gus = consented.gus
    results = [post_as(gus, client_id=uuid.uuid4()) for _ in range(3)]
    refused(gus)
    again = post_as(
        gus, client_id=Intervention.objects.get(public_id=results[-1].intervention_id).client_id
    )
    assert (again.seq, again.created) == (results[-1].seq, False)


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["chloe", "mona"])
def test_the_chair_and_moderators_are_exempt_from_the_bucket(consented, tight, persona):
    for _ in range(8):
        assert post_as(consented.seats[persona]).created


@pytest.mark.django_db
def test_the_bucket_refills_one_post_per_refill_period(consented, tight):
    gus = consented.gus
    for _ in range(3):
        post_as(gus)
    refused(gus)
    rewind(gus, 61, "rate_updated_at")  # a minute later: one token
    post_as(gus)
    error = refused(gus)
    assert 0 < error.extra["retry_after"] <= 60


@pytest.mark.django_db
def test_the_bucket_refills_to_the_burst_and_no_further(consented, tight):
    gus = consented.gus
    for _ in range(3):
        post_as(gus)
    rewind(gus, 3600, "rate_updated_at")  # an hour would be 60 tokens; the burst caps it at 3
    for _ in range(3):
        post_as(gus)
    refused(gus)


@pytest.mark.django_db
def test_a_half_refilled_bucket_says_how_long_to_wait(consented, tight):
    gus = consented.gus
    for _ in range(3):
        post_as(gus)
    rewind(gus, 30, "rate_updated_at")  # half a token
    error = refused(gus)
    assert 25 <= error.extra["retry_after"] <= 31


@pytest.mark.django_db(transaction=True)
async def test_a_rate_limited_post_is_an_error_frame_with_a_retry_time(consented, tight, sockets):
    sock, _, _ = await sockets(consented.gus.user)
    await sock.recv_type("welcome")
    for _ in range(3):
        await sock.send({"type": "post", "client_id": str(uuid.uuid4()), "body": CLEAN})
        await sock.recv_type("ack")
    before = await database_sync_to_async(snapshot)(consented.room)
    frame = {"type": "post", "client_id": str(uuid.uuid4()), "body": CLEAN}
    await sock.send(frame)
    error = await sock.recv_type("error")
    assert (error["code"], error["client_id"]) == ("rate_limited", frame["client_id"])
    assert 0 < error["retry_after"] <= 60
    assert await database_sync_to_async(snapshot)(consented.room) == before


# -- slow mode -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_slow_mode_spaces_a_delegates_posts(consented):
    gus = consented.gus
    moderation.room_set_slow_mode(actor_seat_id=consented.chloe.pk, seconds=30)
    post_as(gus)
    error = refused(gus)
    assert 0 < error.extra["retry_after"] <= 30
    assert "Slow mode" in error.message
    post_as(consented.cora)  # another seat has its own clock
    rewind(gus, 31, "last_post_at")
    post_as(gus)
    refused(gus)


@pytest.mark.django_db
def test_slow_mode_says_how_long_is_left(consented):
    gus = consented.gus
    moderation.room_set_slow_mode(actor_seat_id=consented.chloe.pk, seconds=30)
    post_as(gus)
    rewind(gus, 20, "last_post_at")
    assert refused(gus).extra["retry_after"] in (10, 11)


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["chloe", "mona"])
def test_the_chair_and_moderators_are_exempt_from_slow_mode(consented, persona):
    moderation.room_set_slow_mode(actor_seat_id=consented.chloe.pk, seconds=600)
    for _ in range(3):
        post_as(consented.seats[persona])


@pytest.mark.django_db
def test_slow_mode_zero_is_off(consented):
    moderation.room_set_slow_mode(actor_seat_id=consented.chloe.pk, seconds=30)
    post_as(consented.gus)
    refused(consented.gus)
    moderation.room_set_slow_mode(actor_seat_id=consented.chloe.pk, seconds=0)
    post_as(consented.gus)
    post_as(consented.gus)


@pytest.mark.django_db
@pytest.mark.parametrize("seconds", [-1, 3601, True, 1.5, "30"])
def test_slow_mode_refuses_a_bad_number_of_seconds(consented, seconds):
    before = snapshot(consented.room)
    with pytest.raises(ServiceError) as caught:
        moderation.room_set_slow_mode(actor_seat_id=consented.chloe.pk, seconds=seconds)
    assert (caught.value.code, caught.value.extra["field"]) == ("invalid_frame", "seconds")
    assert snapshot(consented.room) == before


# -- the per-socket frame bucket -----------------------------------------------------------


@pytest.fixture
def few_frames(settings):
    settings.ROUNDTABLES = {**settings.ROUNDTABLES, "FRAME_BURST": 5, "FRAME_RATE": 0.001}
    return settings


@pytest.mark.django_db(transaction=True)
async def test_the_sixth_frame_of_a_burst_of_five_is_rate_limited(cast, few_frames, sockets):
    sock, _, _ = await sockets(cast.gus.user)
    await sock.recv_type("welcome")
    for _ in range(5):
        await sock.send({"type": "ping"})
        await sock.recv_type("pong")
    await sock.send({"type": "ping"})
    error = await sock.recv_type("error")
    assert error["code"] == "rate_limited"
    assert error["retry_after"] > 0


@pytest.mark.django_db(transaction=True)
async def test_a_frame_over_the_socket_limit_is_not_acted_on(consented, few_frames, sockets):
    sock, _, _ = await sockets(consented.gus.user)
    await sock.recv_type("welcome")
    for _ in range(5):
        await sock.send({"type": "ping"})
        await sock.recv_type("pong")
    before = await database_sync_to_async(snapshot)(consented.room)
    await sock.send({"type": "post", "client_id": str(uuid.uuid4()), "body": CLEAN})
    assert (await sock.recv_type("error"))["code"] == "rate_limited"
    assert await database_sync_to_async(snapshot)(consented.room) == before


@pytest.mark.django_db(transaction=True)
async def test_the_frame_bucket_is_per_socket(cast, few_frames, sockets):
    first, _, _ = await sockets(cast.gus.user)
    await first.recv_type("welcome")
    for _ in range(5):
        await first.send({"type": "ping"})
        await first.recv_type("pong")
    await first.send({"type": "ping"})
    assert (await first.recv_type("error"))["code"] == "rate_limited"
    second, _, _ = await sockets(cast.gus.user)
    await second.recv_type("welcome")
    await second.send({"type": "ping"})
    await second.recv_type("pong")


# -- sockets per seat ----------------------------------------------------------------------


@pytest.fixture
def two_sockets(settings):
    settings.ROUNDTABLES = {**settings.ROUNDTABLES, "MAX_SOCKETS_PER_SEAT": 2}
    return settings


async def welcomed(sockets, user):
    sock, connected, _ = await sockets(user)
    assert connected
    await sock.recv_type("welcome")
    return sock


@pytest.mark.django_db(transaction=True)
async def test_a_third_socket_of_a_seat_is_refused_until_one_closes(cast, two_sockets, sockets):
    first = await welcomed(sockets, cast.gus.user)
    await welcomed(sockets, cast.gus.user)
    third, connected, _ = await sockets(cast.gus.user)
    assert connected  # accepted only to say why, then closed
    error = await third.recv_type("error")
    assert (error["code"], error["limit"]) == ("too_many_sockets", 2)
    assert await third.comm.receive_output(timeout=3) == {"type": "websocket.close", "code": 4429}
    third.closed = True

    # Another seat is not affected by gus's sockets.
    await welcomed(sockets, cast.cora.user)

    await first.close()
    fourth = await welcomed(sockets, cast.gus.user)
    await fourth.send({"type": "ping"})
    await fourth.recv_type("pong")
