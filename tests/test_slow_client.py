"""A client that stops reading does not hold up the room, and is let go past a limit.

A real Daphne process (tests/support/cluster.py) with a small SEND_BUFFER_LIMIT; the slow client is
a real websocket whose socket has a tiny receive buffer and whose frames are not read, so
the kernel buffers fill and the server has to keep what is left in its own memory. The
hub (realtime/hub.py) closes it with `too_slow` once that passes the limit; the others get
every event meanwhile; the slow client reads what it had, then resumes with ?after= and
ends with every event exactly once.
"""

from __future__ import annotations

import asyncio
import json
import socket

import pytest

from tests.support.cluster import HOST, SESSION_COOKIE, Cluster, require_services

pytestmark = [pytest.mark.multiprocess, pytest.mark.redis, pytest.mark.postgres]

TIMEOUT = 30
LIMIT = 64 * 1024
# A long intervention (the limit is 10,000 characters), so a few hundred of them are more
# than the kernel's socket buffers on both sides hold.
BODY = ("Early warning only works when the alerts reach the districts in time. " * 120)[:9000]
MAX_POSTS = 1500


@pytest.fixture(scope="module")
def cluster():
    require_services()
    cluster = Cluster(
        processes=1,
        env={
            "SEND_BUFFER_LIMIT": str(LIMIT),
            "POST_BURST": "5000",
            "FRAME_BURST": "5000",
            "FRAME_RATE": "1000",
        },
    )
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


async def stalled_socket(cluster: Cluster, session: str, slug: str):
    """A websocket that reads its welcome, then nothing: a 4 KiB receive buffer, and the
    library stops reading from the socket once one frame waits unread."""
    from websockets.asyncio.client import connect

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((HOST, cluster.ports[0]))
    ws = await connect(
        f"ws://{HOST}:{cluster.ports[0]}/ws/rooms/{slug}/",
        sock=sock,
        origin=f"http://{HOST}:{cluster.ports[0]}",
        additional_headers={"Cookie": f"{SESSION_COOKIE}={session}"},
        compression=None,
        proxy=None,
        max_size=2**20,
        max_queue=1,
    )
    welcome = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT))
    assert welcome["type"] == "welcome"
    return ws, welcome


def presence_of(peer, sector: str) -> int | None:
    frame = peer.last("presence")
    return None if frame is None else frame["sectors"].get(sector, 0)


async def test_a_client_that_stops_reading_is_let_go_and_resumes_without_loss(cluster):
    room = await asyncio.to_thread(cluster.add_room, "slow-room", delegates=3)
    poster_seat, fast_seat, slow_seat = room.seats
    poster_session, fast_session, slow_session = await asyncio.to_thread(
        cluster.sign_in_many, room.seats
    )
    poster = await cluster.connect(poster_session, room.slug, label="poster")
    fast = await cluster.connect(fast_session, room.slug, label="fast")
    try:
        await poster.wait_for(lambda p: p.first("welcome"), TIMEOUT, "welcome")
        await fast.wait_for(lambda p: p.first("welcome"), TIMEOUT, "welcome")
        slow, welcome = await stalled_socket(cluster, slow_session, room.slug)
        start = welcome["last_seq"]
        # The fast listener sees the slow one arrive in its sector's presence count.
        await fast.wait_for(
            lambda p: (presence_of(p, slow_seat.sector) or 0) >= 1, TIMEOUT, "slow socket present"
        )

        acked: list[int] = []
        for i in range(MAX_POSTS):
            client_id = await poster.post(f"{BODY} ({i})")
            ack = await poster.wait_for(lambda p, c=client_id: p.acks.get(c), TIMEOUT, f"ack {i}")
            acked.append(ack)
            if i % 10 == 9 and presence_of(fast, slow_seat.sector) == 0:
                break  # the hub let the slow socket go (its sector's count fell to 0)
        else:
            pytest.fail(f"the slow socket was never let go after {MAX_POSTS} posts")
        last = acked[-1]

        # Nobody waited for it: the fast listener has every event, in order, already.
        await fast.wait_for(lambda p: last in p.seqs, TIMEOUT, "every event on the fast socket")
        assert fast.seqs == list(range(start + 1, last + 1))

        # The slow client reads what it had: contiguous events, then the connection ends.
        # The `too_slow` frame and the 4408 close wait behind everything unread, so a
        # client this far behind usually finds the connection dropped (1006) instead; the
        # server's log says why.
        seen: list[int] = []
        reason = None
        from websockets.exceptions import ConnectionClosed

        try:
            while True:
                frame = json.loads(await asyncio.wait_for(slow.recv(), TIMEOUT))
                if frame["type"] == "event":
                    seen.append(frame["seq"])
                elif frame["type"] == "error":
                    reason = frame
        except ConnectionClosed:
            pass
        assert slow.close_code in {4408, 1006}, (slow.close_code, slow.close_reason)
        if reason is not None:
            assert (reason["code"], reason["after"], slow.close_code) == (
                "too_slow",
                seen[-1] if seen else start,
                4408,
            )
        assert "closed a socket" in cluster.logs()[0] and "bytes behind" in cluster.logs()[0]
        assert seen == list(range(start + 1, start + 1 + len(seen)))
        assert len(seen) < last - start, "it was let go before it had everything"
        resume_from = seen[-1] if seen else start

        # Later it resumes where it stopped and misses nothing.
        again = await cluster.connect(
            slow_session, room.slug, after=resume_from, label="slow again"
        )
        try:
            await again.wait_for(lambda p: last in p.seqs, TIMEOUT, "the rest after resuming")
            assert seen + again.seqs == list(range(start + 1, last + 1))
        finally:
            await again.close()
    finally:
        await poster.close()
        await fast.close()
