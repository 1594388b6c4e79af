"""Resume: a reconnecting client gets exactly what it missed, in order, then live."""

import asyncio
import uuid

import pytest
from channels.db import database_sync_to_async
from django.utils import timezone

from forum.models import Seat
from forum.services.interventions import intervention_post

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.asyncio]

_post = database_sync_to_async(intervention_post)


@database_sync_to_async
def consent_all(*seats):
    Seat.objects.filter(pk__in=[s.pk for s in seats]).update(consented_at=timezone.now())


async def post_many(seat, count, pause=0.0):
    seqs = []
    for i in range(count):
        result = await _post(seat_id=seat.pk, client_id=uuid.uuid4(), body=f"point {i}")
        seqs.append(result.seq)
        if pause:
            await asyncio.sleep(pause)
    return seqs


async def test_reconnect_with_after_gets_the_200_missed_events_while_new_ones_arrive(
    cast, sockets, settings
):
    # Small replay chunks make the replay span many reads, interleaved with new posts.
    settings.ROUNDTABLES = {**settings.ROUNDTABLES, "REPLAY_CHUNK": 15}
    await consent_all(cast.cora, cast.pia)
    gus, _, _ = await sockets(cast.gus.user)
    welcome = await gus.recv_type("welcome")
    seen = welcome["last_seq"]
    await gus.close()

    missed = await post_many(cast.cora, 200)
    assert missed == list(range(seen + 1, seen + 201))

    # Keep posting from another seat while gus comes back and replays.
    live_poster = asyncio.create_task(post_many(cast.pia, 40, pause=0.005))
    back, _, _ = await sockets(cast.gus.user, after=seen)
    await back.recv_type("welcome")
    live = await live_poster
    events = await back.events(200 + len(live), timeout=10)
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(seen + 1, seen + 241))
    assert all(e["kind"] == "intervention.posted" for e in events)
    assert await back.nothing()


async def test_resume_frame_replays_inside_an_open_connection_without_gap_or_duplicate(
    cast, sockets, settings
):
    settings.ROUNDTABLES = {**settings.ROUNDTABLES, "REPLAY_CHUNK": 7}
    await consent_all(cast.cora)
    ada, _, _ = await sockets(cast.ada.user, after=0)
    await ada.recv_type("welcome")
    await post_many(cast.cora, 30)
    first = await ada.events(30)
    assert [e["seq"] for e in first] == list(range(1, 31))

    # The client believes it lost everything after 10 (say it saw a gap) and asks again.
    poster = asyncio.create_task(post_many(cast.cora, 20, pause=0.005))
    await ada.send({"type": "resume", "after": 10})
    await poster
    seqs = []
    while 11 not in seqs or seqs[-1] != 50:
        seqs.append((await ada.events(1, timeout=10))[0]["seq"])
    # Events that went out live before the server read the resume frame come first and
    # continue the old stream; from the resume on, the stream restarts at 11, gapless.
    restart = seqs.index(11)
    assert seqs[:restart] == list(range(31, 31 + restart))
    assert seqs[restart:] == list(range(11, 51))
    assert await ada.nothing()


async def test_a_new_socket_without_after_gets_only_live_events(cast, sockets):
    await consent_all(cast.cora)
    await post_many(cast.cora, 5)
    gil, _, _ = await sockets(cast.gil.user)
    welcome = await gil.recv_type("welcome")
    assert welcome["last_seq"] == 5
    await post_many(cast.cora, 1)
    (event,) = await gil.events(1)
    assert event["seq"] == 6


async def test_replay_gives_each_audience_its_own_rendering(cast, sockets):
    from forum.services.seats import seat_consent

    await database_sync_to_async(seat_consent)(seat_id=cast.gus.pk, rule="chatham-house")
    chloe, _, _ = await sockets(cast.chloe.user, after=0)
    ada, _, _ = await sockets(cast.ada.user, after=0)
    await chloe.recv_type("welcome")
    await ada.recv_type("welcome")
    (for_chair,) = await chloe.events(1)
    (for_delegate,) = await ada.events(1)
    assert for_chair["kind"] == "seat.consented"
    assert for_delegate == {"type": "event", "seq": 1, "kind": "redacted", "data": {}}
