"""Nothing is lost when parts fail, against real processes.

Real Daphne processes, a real PostgreSQL and a real Redis (tests/support/cluster.py). What fails is
real too: a private redis-server killed and started again, a Daphne process sent SIGKILL,
a TCP proxy between the Daphne processes and PostgreSQL cut and restored. The shared Redis
and PostgreSQL are never stopped or flushed.

The clients do what the room page does (static/room/): place events by seq,
ask for a gap again with a `resume` frame, reconnect with `?after=<last seq>` when the
socket drops, and resend every post not yet acknowledged (same client_id) once welcomed.

Every test ends with the same account: each client placed the one sequence 1..N, each
connection's stream was gapless and without a repeat, and the database (read by a fresh
`manage.py shell`, not through the processes under test) holds a gapless log in which every
acknowledged post appears once, with the seq its ack gave.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from websockets.exceptions import InvalidHandshake, WebSocketException

from tests.support.cluster import (
    POSTGRES_URL,
    Cluster,
    Peer,
    RedisServer,
    TcpProxy,
    address_of,
    redis_server_problem,
    require_services,
)
from tests.support.services import require

pytestmark = [pytest.mark.multiprocess, pytest.mark.redis, pytest.mark.postgres]

A, B = 0, 1
TIMEOUT = 30  # generous: a healthy cluster answers in well under a second
# These tests are about delivery, not about the per-seat post rate or the frame rate.
ENV = {"POST_BURST": "1000", "FRAME_BURST": "1000", "FRAME_RATE": "1000"}
ACCESS_LOG = re.compile(r"^\d+\.\d+\.\d+\.\d+:\d+ - - \[")


def room_js_delay(attempt: int) -> float:
    """room.js's reconnect delay: 0.5 s doubling to 10 s, with jitter."""
    return min(10.0, 0.5 * 2 ** min(attempt, 5)) * (0.5 + random.random() / 2)


# -- a client that does what room.js does -----------------------------------------------


@dataclass
class Link:
    """One websocket of a client: where it went, from where it resumed, what came down it."""

    process: int
    after: int
    peer: Peer | None = None
    welcome: dict | None = None
    welcomed_at: float | None = None
    seqs: list[int] = field(default_factory=list)  # every event frame's seq, as received
    resumes: list[int] = field(default_factory=list)  # `resume` frames sent on it (after=)

    @property
    def close_code(self) -> int | None:
        return self.peer.ws.close_code if self.peer is not None and self.peer.closed else None


class Delegate:
    def __init__(
        self,
        cluster: Cluster,
        session: str,
        slug: str,
        *,
        process: int,
        label: str,
        retry_delay: Callable[[int], float] = room_js_delay,
        reconnect_deadline: float = 60,
    ):
        self.cluster = cluster
        self.session = session
        self.slug = slug
        self.process = process
        self.label = label
        self.retry_delay = retry_delay
        self.reconnect_deadline = reconnect_deadline
        self.last_seq = 0
        self.placed: list[int] = []
        self.events: dict[int, dict] = {}
        self.pending: dict[str, str] = {}  # client_id -> body, until acknowledged or refused
        self.sent: dict[str, str] = {}  # every client_id this client ever posted
        self.acks: list[tuple[str, int]] = []
        self.errors: list[dict] = []
        self.pongs = 0
        self.links: list[Link] = []
        self.resuming = False
        self.failure: str | None = None
        self.failed_connects: list[str] = []  # attempts to reconnect that a process refused
        self.stopping = False
        self._changed = asyncio.Event()
        self._tasks: set[asyncio.Task] = set()
        self._supervisor: asyncio.Task | None = None

    # -- what arrived ----------------------------------------------------------------

    @property
    def link(self) -> Link:
        return self.links[-1]

    @property
    def acked(self) -> dict[str, int]:
        return dict(self.acks)

    @property
    def connected(self) -> bool:
        return bool(self.links) and self.link.welcome is not None and not self.link.peer.closed

    def _on_frame(self, link: Link, frame: dict) -> None:
        kind = frame.get("type")
        if kind == "welcome":
            link.welcome = frame
            link.welcomed_at = time.monotonic()
            self.resuming = False
            for client_id, body in self.pending.items():
                self._send(link, {"type": "post", "client_id": client_id, "body": body})
        elif kind == "event":
            seq = frame["seq"]
            link.seqs.append(seq)
            if seq <= self.last_seq:
                pass  # already placed
            elif seq > self.last_seq + 1:  # a gap means loss: ask for it again
                if not self.resuming:
                    self.resuming = True
                    link.resumes.append(self.last_seq)
                    self._send(link, {"type": "resume", "after": self.last_seq})
            else:
                self.resuming = False
                self.last_seq = seq
                self.placed.append(seq)
                self.events[seq] = frame
        elif kind == "ack":
            self.acks.append((frame["client_id"], frame["seq"]))
            self.pending.pop(frame["client_id"], None)
        elif kind == "error":
            self.errors.append(frame)
            self.pending.pop(frame.get("client_id"), None)
        elif kind == "pong":
            self.pongs += 1
        self._changed.set()

    def _send(self, link: Link, frame: dict) -> None:
        async def send() -> None:
            try:
                await link.peer.send(frame)
            except WebSocketException:
                pass  # the socket is going; a pending post is resent after the reconnect

        task = asyncio.get_running_loop().create_task(send())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- talking ---------------------------------------------------------------------

    async def start(self, attempts: int = 5) -> Delegate:
        """Open the first socket. A handshake that a busy machine lets outlast Daphne's 5 s
        timeout (the other test worker may be running a browser meanwhile) is tried again
        after room.js's delay, as room.js does: the join is the setting of these tests, and
        reconnects they are about keep their own loop and count their refusals."""
        for attempt in range(1, attempts + 1):
            try:
                await self._open(self.process)
                break
            except (OSError, TimeoutError, InvalidHandshake, WebSocketException):
                if attempt == attempts:
                    raise
                await asyncio.sleep(room_js_delay(attempt))
        self._supervisor = asyncio.create_task(self._supervise(), name=f"supervise-{self.label}")
        return self

    async def _open(self, process: int) -> None:
        link = Link(process=process, after=self.last_seq)
        # room.js always asks for ?after=<last seq>, 0 on the first visit.
        link.peer = await self.cluster.connect(
            self.session,
            self.slug,
            process=process,
            after=self.last_seq,
            label=f"{self.label}#{len(self.links)}@{'AB'[process]}",
            on_frame=lambda frame: self._on_frame(link, frame),
        )
        self.process = process
        self.links.append(link)
        self._changed.set()

    async def _supervise(self) -> None:
        while not self.stopping:
            await self.link.peer.wait_for(lambda p: p.closed, 24 * 3600, "the socket to close")
            if self.stopping:
                return
            code = self.link.close_code
            if code is not None and 4400 <= code < 4500:
                self.failure = f"refused with close code {code}: {self.link.peer.frames[-3:]}"
                self._changed.set()
                return
            try:
                await self._reconnect()
            except Exception as exc:  # noqa: BLE001 - reported by until()
                self.failure = f"could not reconnect: {exc!r}"
                self._changed.set()
                return

    async def _reconnect(self) -> None:
        """Try the same process, then the others (what a load balancer in front would do),
        waiting room.js's delay before each round."""
        deadline = time.monotonic() + self.reconnect_deadline
        count = self.cluster.count
        attempt = 0
        last_error: BaseException | None = None
        while time.monotonic() < deadline:
            attempt += 1
            await asyncio.sleep(self.retry_delay(attempt))
            for step in range(count):
                process = (self.process + step) % count
                try:
                    await self._open(process)
                    return
                except (OSError, TimeoutError, InvalidHandshake, WebSocketException) as exc:
                    last_error = exc
                    self.failed_connects.append(f"{'AB'[process]}: {exc!r}")
        raise TimeoutError(
            f"no process took the socket in {self.reconnect_deadline}s: {last_error!r}"
        )

    def post(self, body: str) -> str:
        client_id = str(uuid.uuid4())
        self.sent[client_id] = body
        self.pending[client_id] = body
        if self.connected:
            self._send(self.link, {"type": "post", "client_id": client_id, "body": body})
        self._changed.set()  # a waiter may be looking for a post in flight
        return client_id

    def repost(self, client_id: str) -> None:
        """Send a refused post again with its client_id (the person presses send again)."""
        self.pending[client_id] = self.sent[client_id]
        self._send(
            self.link, {"type": "post", "client_id": client_id, "body": self.sent[client_id]}
        )

    def ping(self) -> None:
        self._send(self.link, {"type": "ping"})

    async def until(
        self, predicate: Callable[[], object], timeout: float = TIMEOUT, what: str = ""
    ) -> object:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = predicate()
            if result:
                return result
            remaining = deadline - loop.time()
            if self.failure or remaining <= 0:
                raise AssertionError(
                    f"{self.label}: waiting for {what}: "
                    f"{self.failure or f'nothing after {timeout}s'}; "
                    f"last_seq {self.last_seq}, {len(self.pending)} pending, errors "
                    f"{self.errors[-3:]}, "
                    f"links {[(link.process, link.after, link.close_code) for link in self.links]}"
                )
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), min(remaining, 0.5))
            except TimeoutError:
                pass

    async def close(self) -> None:
        self.stopping = True
        if self._supervisor is not None:
            self._supervisor.cancel()
            try:
                await self._supervisor
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass
        await asyncio.gather(*(link.peer.close() for link in self.links if link.peer is not None))


# -- checks ------------------------------------------------------------------------------


def assert_every_connection_gapless(people: list[Delegate]) -> None:
    """Each socket got after+1, after+2, ... with nothing skipped or repeated."""
    for person in people:
        for n, link in enumerate(person.links):
            assert link.welcome is not None, f"{person.label} link {n}: never welcomed"
            assert not link.resumes, (
                f"{person.label} link {n}: the client saw a gap and sent resume {link.resumes}"
            )
            expected = list(range(link.after + 1, link.after + 1 + len(link.seqs)))
            assert link.seqs == expected, (
                f"{person.label} link {n} (after={link.after}): {link.seqs}"
            )


def assert_everyone_placed(people: list[Delegate], log: dict) -> None:
    last = log["last_seq"]
    ids = {seq: pid for seq, kind, pid in log["events"]}
    for person in people:
        assert person.placed == list(range(1, last + 1)), f"{person.label}: {person.placed}"
        for seq, frame in person.events.items():
            assert frame["data"].get("id") == ids[seq], (
                f"{person.label}: seq {seq} is not the logged event"
            )


def assert_log_whole(log: dict, people: list[Delegate], refused: set[str] = frozenset()) -> None:
    """The database: a gapless log, one intervention per posted event and per client_id,
    every ack's seq the one the log gave it, every post sent (and not refused) there once."""
    seqs = [seq for seq, _kind, _pid in log["events"]]
    assert seqs == list(range(1, log["last_seq"] + 1)), (
        f"log seqs {seqs}, counter {log['last_seq']}"
    )
    posted = {seq: pid for seq, kind, pid in log["events"] if kind == "intervention.posted"}
    assert len(posted) == len(seqs), Counter(kind for _s, kind, _p in log["events"])
    by_seq = {
        seq: (client_id, public_id) for seq, client_id, _status, public_id in log["interventions"]
    }
    assert len(by_seq) == len(log["interventions"]), "two interventions share a seq"
    assert {seq: pid for seq, (_c, pid) in by_seq.items()} == posted, (
        "an event without its intervention"
    )
    logged = Counter(client_id for client_id, _pid in by_seq.values())
    assert not [c for c, n in logged.items() if n > 1], "a client_id posted twice"
    seq_of = {client_id: seq for seq, (client_id, _pid) in by_seq.items()}
    for person in people:
        for client_id, seq in person.acks:
            assert seq_of.get(client_id) == seq, (
                f"{person.label}: ack {client_id} -> {seq}, log {seq_of.get(client_id)}"
            )
        for client_id in person.sent:
            if client_id not in refused:
                assert client_id in seq_of, (
                    f"{person.label}: {person.sent[client_id]!r} is not in the log"
                )
    assert set(seq_of) <= {c for p in people for c in p.sent}, "an intervention nobody sent"


async def nothing_lost(
    cluster: Cluster, slug: str, people: list[Delegate], refused: set[str] = frozenset()
) -> dict:
    for person in people:
        await person.until(lambda p=person: not p.pending, TIMEOUT, "every post acknowledged")
    log = await asyncio.to_thread(cluster.room_log, slug)
    for person in people:
        await person.until(
            lambda p=person: p.last_seq >= log["last_seq"], TIMEOUT, f"seq {log['last_seq']}"
        )
    assert_log_whole(log, people, refused)
    assert_everyone_placed(people, log)
    assert_every_connection_gapless(people)
    return log


# -- fixtures ----------------------------------------------------------------------------


@pytest.fixture
def clusters():
    """Start a cluster with `clusters(**kwargs)`: each test breaks its own."""
    require_services()
    made: list[Cluster] = []

    def make(**kwargs) -> Cluster:
        env = {**ENV, **kwargs.pop("env", {})}
        cluster = Cluster(processes=kwargs.pop("processes", 2), env=env, **kwargs)
        made.append(cluster)
        cluster.start()
        return cluster

    yield make
    for cluster in made:
        for index, text in cluster.logs().items():  # shown when the test fails
            # Without the access log (hundreds of WSCONNECT lines): warnings and tracebacks.
            text = "\n".join(line for line in text.splitlines() if not ACCESS_LOG.match(line))
            print(f"--- daphne {index} ---\n{text[-8000:]}")
        cluster.stop()


@pytest.fixture
def private_redis():
    problem = redis_server_problem()
    require("redis-server", problem is None, problem or "")
    server = RedisServer().start()
    yield server
    print(f"--- private redis ---\n{server.log()[-2000:]}")
    server.stop()


@pytest.fixture
def database_proxy():
    proxy = TcpProxy(address_of(POSTGRES_URL)).start()
    yield proxy
    proxy.stop()


async def seated(
    cluster: Cluster, slug: str, seats, processes: list[int], **kwargs
) -> list[Delegate]:
    keys = await asyncio.to_thread(cluster.sign_in_many, seats)
    crowd = [
        Delegate(
            cluster,
            key,
            slug,
            process=process,
            label=f"{seat.sector[:5]}{i}@{'AB'[process]}",
            **kwargs,
        )
        for i, (key, seat, process) in enumerate(zip(keys, seats, processes, strict=True))
    ]
    # Joined fifty at a time: the join is the setting here, not what is tested (a storm on a
    # busy two-core machine can outlast Daphne's 5 s handshake timeout; see the storm test).
    for start in range(0, len(crowd), 50):
        await asyncio.gather(*(person.start() for person in crowd[start : start + 50]))
    for person in crowd:
        await person.until(lambda p=person: p.connected, TIMEOUT, "welcome")
    return crowd


async def healthy(cluster: Cluster, process: int, timeout: float = TIMEOUT) -> dict:
    deadline = time.monotonic() + timeout
    answer = None
    while time.monotonic() < deadline:
        try:
            status, _headers, body = await asyncio.to_thread(
                cluster.http, "GET", "/healthz", process=process, timeout=15
            )
            answer = (status, body)
            if status == 200:
                return json.loads(body)
        except OSError as exc:
            answer = repr(exc)
        await asyncio.sleep(0.5)
    raise AssertionError(f"daphne {process} not healthy after {timeout}s: {answer}")


async def speak(posters: list[Delegate], phase: str, count: int, pause: float) -> None:
    for n in range(count):
        for person in posters:
            person.post(f"{phase}: {person.label} says {n}")
        await asyncio.sleep(pause)


# -- the faults --------------------------------------------------------------------------


async def test_a_redis_restart_mid_session_loses_nothing(clusters, private_redis):
    cluster = clusters(redis_url=private_redis.url)
    room = await asyncio.to_thread(
        cluster.add_room, "redis-restart", seats_per_sector=2, delegates=6
    )
    crowd = await seated(cluster, room.slug, room.seats, [A, B, A, B, A, B])
    try:
        posters = crowd[:2]  # one on each process; the other four only listen
        await speak(posters, "before", 5, 0.05)
        for person in crowd:
            await person.until(lambda p=person: p.last_seq >= 10, TIMEOUT, "the first ten")

        private_redis.kill()  # SIGKILL: no goodbye, and it comes back empty
        await speak(posters, "redis down", 5, 0.1)
        await asyncio.sleep(1)
        await asyncio.to_thread(private_redis.start)
        await speak(posters, "redis back", 5, 0.05)

        log = await nothing_lost(cluster, room.slug, crowd)
        assert log["last_seq"] == 30
        # Both processes' channel layers answer again, and a post still reaches everyone.
        for process in (A, B):
            assert (await healthy(cluster, process))["channel_layer"] == "ok"
        await speak(posters, "after", 1, 0)
        log = await nothing_lost(cluster, room.slug, crowd)
        assert log["last_seq"] == 32
        # Nothing dropped the sockets: the hubs bridged the outage from the log.
        print(
            "links per client:",
            [len(p.links) for p in crowd],
            "redis starts:",
            private_redis.starts,
        )
    finally:
        await asyncio.gather(*(p.close() for p in crowd))


async def test_after_a_redis_restart_events_travel_through_redis_again_not_only_the_log(
    clusters, private_redis
):
    # The hubs look at the log only every 30 s here: an event that reaches the other process
    # well before that came through Redis, so the hubs are subscribed again.
    cluster = clusters(redis_url=private_redis.url, env={"HUB_POLL_SECONDS": "30"})
    room = await asyncio.to_thread(cluster.add_room, "resubscribe", seats_per_sector=1, delegates=2)
    crowd = await seated(cluster, room.slug, room.seats, [A, B])
    try:
        on_a, on_b = crowd
        on_a.post("before the restart")
        await on_b.until(lambda: on_b.last_seq >= 1, TIMEOUT, "seq 1 through Redis")

        await asyncio.to_thread(private_redis.restart)
        for process in (A, B):
            assert (await healthy(cluster, process))["channel_layer"] == "ok"
        started = time.monotonic()
        on_a.post("after the restart")
        await on_a.until(lambda: not on_a.pending, TIMEOUT, "the ack")
        await on_b.until(lambda: on_b.last_seq >= 2, 10, "seq 2 on B well before the log poll")
        print(f"seq 2 reached B {time.monotonic() - started:.2f}s after it was posted")
        await nothing_lost(cluster, room.slug, crowd)
    finally:
        await asyncio.gather(*(p.close() for p in crowd))


async def test_a_healthy_idle_redis_is_not_taken_for_a_fault(clusters):
    # channels-redis waits for a hub's messages with BZPOPMIN for 5 s; redis-py 8 gives up on
    # any read after 5 s by default (socket_timeout). An idle hub then drops its connection
    # about every 5 s, and a message popped at that moment is lost to the layer (the log
    # still has it, for the next gap or poll). And /healthz, which a load balancer asks, must
    # not report the layer down while a room's hub waits for messages.
    cluster = clusters(processes=1)
    room = await asyncio.to_thread(cluster.add_room, "idle", seats_per_sector=1, delegates=1)
    crowd = await seated(cluster, room.slug, room.seats, [A])
    try:
        answers = []
        for _ in range(8):
            await asyncio.sleep(1.5)
            status, _headers, body = await asyncio.to_thread(
                cluster.http, "GET", "/healthz", process=A, timeout=15
            )
            answers.append(status if status == 200 else f"{status} {body}")
        log = cluster.logs()[A]
        failures = log.count("channel layer receive failed")
        why = next((line for line in log.splitlines() if "Timeout reading" in line), "")
        assert failures == 0, f"{failures} receive failures in 12 s, Redis healthy and idle: {why}"
        assert answers == [200] * 8, f"/healthz with an idle room's hub: {answers}"
    finally:
        await asyncio.gather(*(p.close() for p in crowd))


async def test_a_daphne_process_killed_mid_post_its_clients_resume_on_the_other(clusters):
    cluster = clusters()
    room = await asyncio.to_thread(cluster.add_room, "sigkill", seats_per_sector=2, delegates=6)
    crowd = await seated(cluster, room.slug, room.seats, [A, B, A, B, A, B])
    try:
        on_a, on_b = crowd[0], crowd[1]
        await speak([on_a, on_b], "before", 5, 0.05)
        for person in crowd:
            await person.until(lambda p=person: p.last_seq >= 10, TIMEOUT, "the first ten")

        async def stream(person: Delegate, count: int) -> None:
            for n in range(count):
                person.post(f"stream: {person.label} says {n}")
                await asyncio.sleep(0.03)

        streams = [asyncio.create_task(stream(person, 40)) for person in (on_a, on_b)]
        # Kill B while its poster has posts on the way (sent, not yet acknowledged).
        await on_b.until(
            lambda: len(on_b.acks) >= 15 and on_b.pending, TIMEOUT, "posts in flight on B"
        )
        in_flight = len(on_b.pending)
        cluster.kill(B)
        await asyncio.gather(*streams)

        log = await nothing_lost(cluster, room.slug, crowd)
        assert log["last_seq"] == 90
        for person in crowd:
            if person.links[0].process == B:
                assert [link.process for link in person.links][-1] == A, person.label
                assert person.links[0].close_code not in range(4400, 4500)
            else:
                assert len(person.links) == 1, f"{person.label} on A was dropped"
        # The posts in flight at the kill were either committed (acknowledged again, with the
        # seq they had) or not (posted once, now): acks never disagree about a client_id.
        for person in (on_a, on_b):
            for client_id, seq in person.acks:
                assert person.acked[client_id] == seq
        print(f"{in_flight} posts in flight on B at the SIGKILL")
    finally:
        await asyncio.gather(*(p.close() for p in crowd))


async def test_three_hundred_clients_whose_process_died_reconnect_at_once_and_resume(clusters):
    count = 300
    cluster = clusters()
    # One poster on A, three hundred listeners on B (seats_per_sector: 301 delegates).
    room = await asyncio.to_thread(
        cluster.add_room, "storm", seats_per_sector=61, delegates=count + 1
    )
    at_once = lambda attempt: 0.0 if attempt == 1 else room_js_delay(attempt)  # noqa: E731
    (poster,) = await seated(cluster, room.slug, room.seats[:1], [A])
    crowd = await seated(cluster, room.slug, room.seats[1:], [B] * count, retry_delay=at_once)
    everyone = [poster, *crowd]
    try:
        await speak([poster], "before", 5, 0.05)
        for person in everyone:
            await person.until(lambda p=person: p.last_seq >= 5, TIMEOUT, "the first five")

        async def stream(n_posts: int) -> None:
            for n in range(n_posts):
                poster.post(f"during the storm: {n}")
                await asyncio.sleep(0.1)

        streaming = asyncio.create_task(stream(20))
        await poster.until(lambda: len(poster.acks) >= 10, TIMEOUT, "ten acks")
        killed_at = time.monotonic()
        cluster.kill(B)
        await streaming
        for person in crowd:
            await person.until(lambda p=person: len(p.links) == 2 and p.connected, 60, "back on A")
        await speak([poster], "after the storm", 1, 0)

        log = await nothing_lost(cluster, room.slug, everyone)
        assert log["last_seq"] == 26
        assert all([link.process for link in p.links] == [B, A] for p in crowd)
        # Each resumed from where it was, which differs between clients that were mid-stream.
        resumed_from = Counter(p.links[1].after for p in crowd)
        assert min(resumed_from) >= 5
        welcomed = sorted(p.links[-1].welcomed_at - killed_at for p in crowd)
        refused = Counter(attempt.split(":")[0] for p in crowd for attempt in p.failed_connects)
        print(
            f"resumed from {dict(resumed_from)}; welcomed on A {welcomed[0]:.2f}s to "
            f"{welcomed[-1]:.2f}s "
            f"after the SIGKILL (median {welcomed[len(welcomed) // 2]:.2f}s); failed attempts "
            f"{dict(refused)} "
            f"({sum(1 for p in crowd if any(a.startswith('A') for a in p.failed_connects))} "
            f"clients had to retry on A)"
        )
        for text in cluster.logs().values():
            assert "Too many connections" not in text
    finally:
        await asyncio.gather(*(p.close() for p in everyone))


async def until_answered(
    person: Delegate, client_id: str, errors_before: int, timeout: float = 45
) -> dict:
    """The answer to one post: its ack, or an error frame (with its client_id, or, as a fallback
    for the check that follows, any error that came after it was sent)."""

    def answer():
        if client_id in person.acked:
            return {"type": "ack", "seq": person.acked[client_id]}
        new = person.errors[errors_before:]
        return next((e for e in new if e.get("client_id") == client_id), None) or (
            new[0] if new else None
        )

    started = time.monotonic()
    found = await person.until(answer, timeout, f"the answer to {client_id}")
    # An error that does not name its post leaves it pending in room.js (resent on the next
    # reconnect); here the person takes it as the answer.
    person.pending.pop(client_id, None)
    return {**found, "_after": round(time.monotonic() - started, 2)}


async def test_a_post_while_the_database_is_unreachable_gets_an_error_frame_naming_it(
    clusters, database_proxy
):
    cluster = clusters(database_via=database_proxy.address)
    room = await asyncio.to_thread(cluster.add_room, "db-error", seats_per_sector=1, delegates=4)
    crowd = await seated(cluster, room.slug, room.seats, [A, B, A, B])
    try:
        posters = crowd[:2]
        await speak(posters, "before", 1, 0)
        for person in crowd:
            await person.until(lambda p=person: p.last_seq >= 2, TIMEOUT, "the first two")

        database_proxy.cut()
        try:
            answers = {}
            for person in posters:
                before = len(person.errors)
                client_id = person.post(f"while the database is away: {person.label}")
                answers[person.label] = (client_id, await until_answered(person, client_id, before))
            # The socket stays open and answers what needs no database.
            for person in posters:
                pongs = person.pongs
                person.ping()
                await person.until(lambda p=person, n=pongs: p.pongs > n, TIMEOUT, "pong")
                assert person.connected
            status, _headers, body = await asyncio.to_thread(
                cluster.http, "GET", "/healthz", process=A, timeout=40
            )
            assert status == 503 and json.loads(body)["database"] == "error", (status, body)
        finally:
            database_proxy.restore()

        for label, (_client_id, answer) in answers.items():
            assert answer["type"] == "error", f"{label}: acknowledged with no database: {answer}"
            assert answer["code"] == "unavailable", answer
            assert answer["message"].strip().endswith("."), answer
            assert answer.get("retry_after", 0) > 0, answer

        # Nothing half-written: the refused posts are nowhere, the log is whole.
        refused = {client_id for client_id, _answer in answers.values()}
        log = await nothing_lost(cluster, room.slug, crowd, refused=refused)
        assert log["last_seq"] == 2
        assert not refused & {client_id for _s, client_id, _st, _p in log["interventions"]}
        print("answers while the database was away:", answers)
        # The protocol: the answer to a post is its ack "or an `error` carrying the same
        # client_id" (docs/protocol.md), so that the page can give the text back to its author.
        for label, (client_id, answer) in answers.items():
            assert answer.get("client_id") == client_id, (
                f"{label}: the error does not name the post: {answer}"
            )
    finally:
        await asyncio.gather(*(p.close() for p in crowd))


async def test_service_resumes_by_itself_once_the_database_is_back(clusters, database_proxy):
    cluster = clusters(database_via=database_proxy.address)
    room = await asyncio.to_thread(cluster.add_room, "db-back", seats_per_sector=1, delegates=4)
    crowd = await seated(cluster, room.slug, room.seats, [A, B, A, B])
    try:
        posters = crowd[:2]
        await speak(posters, "before", 2, 0.05)
        for person in crowd:
            await person.until(lambda p=person: p.last_seq >= 4, TIMEOUT, "the first four")

        database_proxy.cut()
        try:
            refused = {}
            for person in posters:
                before = len(person.errors)
                client_id = person.post(f"lost to the outage? {person.label}")
                answer = await until_answered(person, client_id, before)
                assert answer["type"] == "error", answer
                refused[client_id] = person
            await asyncio.sleep(1)
        finally:
            database_proxy.restore()

        # The very next post on each process goes through: no stale connection is handed out.
        answers = []
        for person in posters:
            before = len(person.errors)
            client_id = person.post(f"the database is back: {person.label}")
            answers.append((person.label, await until_answered(person, client_id, before)))
        assert all(answer["type"] == "ack" for _label, answer in answers), answers

        # A blip (every connection dropped, the database back at once, nothing used in
        # between, as when PostgreSQL restarts quickly): the pooled connections are all dead,
        # and the next post must still not meet one.
        database_proxy.cut()
        await asyncio.sleep(0.2)
        database_proxy.restore()
        for person in posters:
            before = len(person.errors)
            client_id = person.post(f"after the blip: {person.label}")
            answers.append((person.label, await until_answered(person, client_id, before)))
        assert all(answer["type"] == "ack" for _label, answer in answers), answers

        # The post refused during the outage, sent again with its client_id, is posted once.
        for client_id, person in refused.items():
            person.repost(client_id)
        log = await nothing_lost(cluster, room.slug, crowd)
        assert log["last_seq"] == 10
        print("answers after the outage:", answers)
        for process in (A, B):
            assert (await healthy(cluster, process))["database"] == "ok"
        print(
            f"proxy: {database_proxy.relayed} connections relayed, "
            f"{database_proxy.refused} refused while cut"
        )
    finally:
        await asyncio.gather(*(p.close() for p in crowd))
