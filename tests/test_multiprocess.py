"""Two real Daphne processes on one real Redis and one real PostgreSQL (tests/support/cluster.py).

Each test gets its own room, created with the product's commands; sockets are real
websockets signed in through real join links. The hubs' periodic look at the log is
slowed to 30 s here, so an event can only reach the other process in time through the
channel layer (Redis), which is what these tests are about.
"""

from __future__ import annotations

import asyncio

import pytest

from tests.support.cluster import Cluster, require_services

pytestmark = [pytest.mark.multiprocess, pytest.mark.redis, pytest.mark.postgres]

A, B = 0, 1
TIMEOUT = 20  # generous waits; a healthy cluster answers in well under a second


@pytest.fixture(scope="module")
def cluster():
    require_services()
    # Slow log polling so only the Redis fan-out can deliver; room for bulk posting (these
    # tests are about delivery, not about the per-seat post rate limit).
    cluster = Cluster(
        processes=2,
        env={"HUB_POLL_SECONDS": "30", "POST_BURST": "1000", "FRAME_BURST": "1000"},
    )
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(autouse=True)
def daphne_output(cluster):
    """Print what the Daphne processes logged during the test (shown when it fails)."""
    before = {i: len(text) for i, text in cluster.logs().items()}
    yield
    for index, text in cluster.logs().items():
        new = text[before.get(index, 0) :]
        if new.strip():
            print(f"--- daphne {index} ---\n{new[-5000:]}")
    assert all(cluster.alive()), "a Daphne process died during the test"


@pytest.fixture
async def peers(cluster):
    """Open websockets through this fixture; they are all closed after the test."""
    opened = []

    async def open_peer(session: str, slug: str, **kwargs):
        peer = await cluster.connect(session, slug, **kwargs)
        opened.append(peer)
        return peer

    yield open_peer
    await asyncio.gather(*(peer.close() for peer in opened))


async def sessions(cluster: Cluster, seats) -> list[str]:
    return await asyncio.to_thread(cluster.sign_in_many, seats)


async def welcomed(peer, slug: str) -> dict:
    welcome = await peer.wait_for(lambda p: p.first("welcome"), TIMEOUT, "welcome")
    assert welcome["room"] == slug
    return welcome


def ack_or_error(client_id: str):
    def check(peer):
        if client_id in peer.acks:
            return {"type": "ack", "seq": peer.acks[client_id]}
        return next((e for e in peer.errors if e.get("client_id") == client_id), None)

    return check


def event_with_seq(seq: int):
    return lambda peer: next((e for e in peer.events if e["seq"] == seq), None)


async def test_an_intervention_posted_on_one_process_reaches_the_other_with_the_same_seq(
    cluster, peers
):
    room = cluster.add_room("relay", rule="open", seats_per_sector=1, delegates=2)
    first, second = await sessions(cluster, room.seats)
    on_a = await peers(first, room.slug, process=A, label="government@A")
    on_b = await peers(second, room.slug, process=B, label="intergovernmental@B")
    for peer in (on_a, on_b):
        welcome = await welcomed(peer, room.slug)
        assert welcome["last_seq"] == 0
        assert welcome["you"]["role"] == "delegate"

    client_id = await on_a.post("Early **warning** from process A")
    ack = await on_a.wait_for(ack_or_error(client_id), TIMEOUT, "ack")
    assert ack["type"] == "ack", ack
    seq = ack["seq"]

    event = await on_b.wait_for(event_with_seq(seq), TIMEOUT, f"seq {seq} on B")
    assert event["kind"] == "intervention.posted"
    assert "<strong>warning</strong>" in event["data"]["body_html"]
    assert "process A" in event["data"]["body_html"]
    # The very frame the poster's own process delivered.
    assert (await on_a.wait_for(event_with_seq(seq), TIMEOUT, f"seq {seq} on A")) == event

    # And back: posted on B, heard on A with B's ack seq.
    client_id = await on_b.post("Reply from process B")
    ack = await on_b.wait_for(ack_or_error(client_id), TIMEOUT, "ack")
    assert ack["type"] == "ack", ack
    assert ack["seq"] == seq + 1
    event = await on_a.wait_for(event_with_seq(ack["seq"]), TIMEOUT, f"seq {ack['seq']} on A")
    assert "Reply from process B" in event["data"]["body_html"]
    for peer in (on_a, on_b):
        await peer.wait_for(lambda p: len(p.events) >= ack["seq"], TIMEOUT, "every event")
        assert peer.seqs == [1, 2]
        assert not peer.errors


async def test_consent_and_post_in_a_chatham_house_room_across_processes(cluster, peers):
    room = cluster.add_room("chatham", rule="chatham-house", seats_per_sector=1, delegates=2)
    first, second = await sessions(cluster, room.seats)
    on_a = await peers(first, room.slug, process=A, label="government@A")
    on_b = await peers(second, room.slug, process=B, label="intergovernmental@B")
    for peer in (on_a, on_b):
        welcome = await welcomed(peer, room.slug)
        assert welcome["you"]["consented"] is False

    # Before consent the post is refused; consent is a moderator-only event (a stub here).
    client_id = await on_a.post("Too early")
    refused = await on_a.wait_for(ack_or_error(client_id), TIMEOUT, "refusal")
    assert refused["type"] == "error" and refused["code"] == "consent_required", refused
    await on_a.consent()
    client_id = await on_a.post("Under the **rule**")
    ack = await on_a.wait_for(ack_or_error(client_id), TIMEOUT, "ack")
    assert ack["type"] == "ack", ack
    assert ack["seq"] == 2

    event = await on_b.wait_for(event_with_seq(2), TIMEOUT, "seq 2 on B")
    assert on_b.seqs == [1, 2]
    assert on_b.events[0] == {"type": "event", "seq": 1, "kind": "redacted", "data": {}}
    assert event["kind"] == "intervention.posted"
    assert room.seats[0].name not in str(event)  # sector attribution: no names


async def test_concurrent_posts_on_both_processes_give_every_socket_one_gapless_sequence(
    cluster, peers
):
    posters, per_poster, listeners = 4, 25, 4
    total = posters * per_poster
    room = cluster.add_room(
        "chorus", rule="open", seats_per_sector=2, delegates=posters + listeners
    )
    keys = await sessions(cluster, room.seats)
    everyone = [
        await peers(
            key,
            room.slug,
            process=i % 2,
            label=f"{'poster' if i < posters else 'listener'}{i}@{'AB'[i % 2]}",
        )
        for i, key in enumerate(keys)
    ]
    for peer in everyone:
        assert (await welcomed(peer, room.slug))["last_seq"] == 0
    speaking = everyone[:posters]

    async def burst(index: int, peer) -> dict[str, str]:
        sent = {}
        for n in range(per_poster):  # sent back to back, no waiting for acks
            body = f"poster {index} intervention {n}"
            sent[await peer.post(body)] = body
        return sent

    sent_by = await asyncio.gather(*(burst(i, peer) for i, peer in enumerate(speaking)))

    for peer in everyone:
        await peer.wait_for(lambda p: len(p.events) >= total, 60, f"{total} events")
    for peer, sent in zip(speaking, sent_by, strict=True):
        await peer.wait_for(
            lambda p, sent=sent: len(p.acks) + len(p.errors) >= len(sent), 30, "acks"
        )

    # Every socket, on either process: 1..N once each, in order, the same events everywhere.
    order = [e["data"]["id"] for e in everyone[0].events]
    for peer in everyone:
        assert not peer.errors, peer.errors[:3]
        assert peer.seqs == list(range(1, total + 1)), f"{peer.label}: {peer.seqs}"
        assert [e["data"]["id"] for e in peer.events] == order, peer.label
        assert all(e["kind"] == "intervention.posted" for e in peer.events)
    assert len(set(order)) == total

    # Every ack's seq appears exactly once, and names the intervention that was sent.
    acks = {}
    for peer, sent in zip(speaking, sent_by, strict=True):
        assert set(peer.acks) == set(sent), peer.label
        acks.update(peer.acks)
    assert sorted(acks.values()) == list(range(1, total + 1))
    bodies = {e["seq"]: e["data"]["body_html"] for e in everyone[-1].events}
    sent = {cid: body for batch in sent_by for cid, body in batch.items()}
    for client_id, seq in acks.items():
        assert sent[client_id] in bodies[seq]


async def test_three_hundred_sockets_joining_at_once_over_both_processes_are_all_welcomed(
    cluster, peers
):
    count = 300
    room = cluster.add_room("storm", rule="open", seats_per_sector=count // 5, delegates=count)
    keys = await sessions(cluster, room.seats)  # one seat each: distinct seats, distinct sessions
    assert len(set(keys)) == count

    results = await asyncio.gather(
        *(
            peers(key, room.slug, process=i % 2, label=f"storm{i}@{'AB'[i % 2]}")
            for i, key in enumerate(keys)
        ),
        return_exceptions=True,
    )
    failed = [r for r in results if isinstance(r, BaseException)]
    assert not failed, f"{len(failed)} of {count} sockets failed to open, e.g. {failed[0]!r}"
    storm = results
    assert {p.process for p in storm} == {A, B}

    welcomes = await asyncio.gather(
        *(
            p.wait_for(lambda p: p.first("welcome") or p.first("error"), TIMEOUT, "welcome")
            for p in storm
        ),
        return_exceptions=True,
    )
    refused = [w for w in welcomes if isinstance(w, BaseException) or w.get("type") != "welcome"]
    assert not refused, f"{len(refused)} of {count} sockets not welcomed, e.g. {refused[0]!r}"
    assert all(w["room"] == room.slug and w["last_seq"] == 0 for w in welcomes)

    # Everyone who joined is live: one intervention reaches all of them, on both processes.
    client_id = await storm[-1].post("Welcome, all three hundred")
    ack = await storm[-1].wait_for(ack_or_error(client_id), TIMEOUT, "ack")
    assert ack["type"] == "ack", ack
    await asyncio.gather(
        *(p.wait_for(event_with_seq(ack["seq"]), TIMEOUT, "the intervention") for p in storm)
    )

    for index, text in cluster.logs().items():
        assert "Too many connections" not in text, f"daphne {index}: {text[-2000:]}"


async def test_presence_counts_sockets_connected_on_both_processes(cluster, peers):
    room = cluster.add_room("presence", rule="open", seats_per_sector=1, delegates=4)
    government, intergovernmental, civil, private = await sessions(cluster, room.seats)
    on_a = await peers(government, room.slug, process=A, label="government@A")
    await welcomed(on_a, room.slug)
    on_b = [
        await peers(key, room.slug, process=B, label=f"{name}@B")
        for key, name in (
            (intergovernmental, "intergovernmental"),
            (civil, "civil"),
            (private, "private"),
        )
    ]
    for peer in on_b:
        await welcomed(peer, room.slug)

    everyone = {"government": 1, "intergovernmental": 1, "civil-society": 1, "private-sector": 1}

    def counts(sectors: dict[str, int]):
        def check(peer):
            frame = peer.last("presence")
            return frame if frame and frame["sectors"] == sectors else None

        return check

    # Presence is debounced (~0.5 s) and travels between the processes' hubs.
    seen_on_a = await on_a.wait_for(counts(everyone), TIMEOUT, f"presence {everyone}")
    assert seen_on_a["total"] == 4 and seen_on_a["others"] == 0
    seen_on_b = await on_b[0].wait_for(counts(everyone), TIMEOUT, f"presence {everyone}")
    assert seen_on_b == seen_on_a
    for frame in on_a.of_type("presence"):
        assert set(frame) == {"type", "sectors", "others", "total"}  # counts, never identities

    # B's sockets leave: A's count follows.
    await asyncio.gather(*(peer.close() for peer in on_b))
    alone = await on_a.wait_for(counts({"government": 1}), TIMEOUT, "presence after B left")
    assert alone["total"] == 1
