"""The load client: listener sockets in worker processes, and posters in the coordinator.

A listener does as little per frame as it can: it recognises an event by the prefix that
realtime/log.py always encodes (`{"type":"event","seq":`), slices the seq, and for an
`intervention.posted` the send time the poster wrote into the body (`@t=<time_ns>@`),
without decoding the JSON. The reference apps in bench/refapps/ encode their frames the
same way, so one client measures all three servers.

Worker processes take commands over a pipe, one phase at a time: `connect` (open the
sockets, wait for every welcome), `mark` (the measured window begins), `drain` (wait until
every socket has reached a seq), `report`, `close`. Every wait has a timeout.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import signal
import time
import uuid
from array import array
from dataclasses import dataclass, field

from .common import BenchError, rusage_cpu

# The frames as realtime/log.py encodes them (compact separators, "type" first).
EVENT_PREFIX = '{"type":"event","seq":'
SEQ_AT = len(EVENT_PREFIX)
POSTED = '"kind":"intervention.posted"'
MARK = "@t="  # the body carries "@t=<time.time_ns() at send>@"

CONNECT_TIMEOUT = 60.0  # one socket's handshake + welcome
PIPE_TIMEOUT = 30.0
ACK_TIMEOUT = 30.0


@dataclass(frozen=True)
class Target:
    """One socket to open. `cookie` is None for the reference apps (no sign-in)."""

    ws_url: str
    origin: str
    cookie: str | None = None
    process: int = 0  # which server process it talks to


def ws_connect(target: Target, open_timeout: float = CONNECT_TIMEOUT):
    from websockets.asyncio.client import connect

    headers = {"Origin": target.origin}
    if target.cookie:
        headers["Cookie"] = target.cookie
    return connect(
        target.ws_url,
        additional_headers=headers,
        compression=None,
        ping_interval=None,
        open_timeout=open_timeout,
        close_timeout=2,
        max_size=2**20,
    )


async def welcome_of(ws) -> dict:
    welcome = json.loads(await asyncio.wait_for(ws.recv(), CONNECT_TIMEOUT))
    if welcome.get("type") != "welcome":
        raise BenchError(f"first frame is not a welcome: {str(welcome)[:300]}")
    return welcome


@dataclass
class Stream:
    """What one socket received: contiguity by seq, and the latency samples."""

    first_after: int = 0  # the welcome's last_seq
    prev: int = 0  # the last event seq received in order
    got: int = 0  # event frames received in order with seq > first_after
    dupes: int = 0  # event frames with seq <= prev (a repeat, or out of order)
    gap: int = 0  # seqs skipped over
    errors: int = 0
    error_sample: str = ""

    def take(self, text: str, now_ns: int, latencies: array | None, seqs: array | None) -> int:
        """Count one frame; return its seq (0 for anything but an event)."""
        if not text.startswith(EVENT_PREFIX):
            if text.startswith('{"type":"error"'):
                self.errors += 1
                self.error_sample = text[:300]
            return 0
        comma = text.find(",", SEQ_AT)
        seq = int(text[SEQ_AT:comma])
        prev = self.prev
        if seq <= prev:
            self.dupes += 1
            return seq
        if seq > prev + 1:
            self.gap += seq - prev - 1
        self.prev = seq
        self.got += 1
        if latencies is not None and text.startswith(POSTED, comma + 1):
            i = text.find(MARK, comma)
            if i >= 0:
                j = i + len(MARK)
                latencies.append((now_ns - int(text[j : text.index("@", j)])) // 1000)
                seqs.append(seq)
        return seq


@dataclass
class Listener:
    target: Target
    stream: Stream = field(default_factory=Stream)
    welcomed: bool = False
    closed: bool = False
    connect_ms: float = float("nan")  # handshake + welcome
    welcomed_at: float = 0.0  # time.monotonic()


async def listen(
    lst: Listener, sink: dict, gate: asyncio.Semaphore, conns: list, stop: asyncio.Event
) -> None:
    """Connect, wait for the welcome, then count events until the socket closes."""
    async with gate:
        started = time.monotonic()
        ws = await ws_connect(lst.target)
        conns.append(ws)
        welcome = await welcome_of(ws)
        lst.welcomed_at = time.monotonic()
        lst.connect_ms = (lst.welcomed_at - started) * 1000
        lst.stream.first_after = lst.stream.prev = int(welcome["last_seq"])
        lst.welcomed = True
    recv, time_ns, take = ws.recv, time.time_ns, lst.stream.take
    latencies, seqs = sink["latencies"], sink["seqs"]
    try:
        while not stop.is_set():
            text = await recv()
            take(text, time_ns(), latencies, seqs)
    except Exception:  # noqa: BLE001 - a closed socket ends the listener; counted as closed
        lst.closed = True


class Worker:
    """The listener sockets of one client process."""

    def __init__(self, conn):
        self.conn = conn
        self.loop = asyncio.get_running_loop()
        self.listeners: list[Listener] = []
        self.tasks: list[asyncio.Task] = []
        self.conns: list = []
        self.stop = asyncio.Event()
        self.sink = {"latencies": array("q"), "seqs": array("q")}
        self.window = (0.0, 0.0, 0.0, 0.0)  # cpu and wall at mark and at drain

    async def receive(self, timeout: float) -> dict:
        ready = await self.loop.run_in_executor(None, self.conn.poll, timeout)
        if not ready:
            raise BenchError("no word from the coordinator")
        return self.conn.recv()

    async def run(self) -> None:
        while True:
            # The coordinator bounds every phase itself; a coordinator that dies closes the
            # pipe, which ends this wait at once (EOFError).
            msg = await self.receive(3600)
            command = msg["command"]
            if command == "close":
                await self.close()
                self.conn.send({"closed": True, "cpu_total": rusage_cpu()})
                return
            self.conn.send(await getattr(self, f"on_{command}")(msg))

    async def on_connect(self, msg: dict) -> dict:
        """Open the sockets (at most `gate` handshakes in flight); answer when every one is
        welcomed or has failed."""
        targets = [Target(*t) for t in msg["targets"]]
        gate = asyncio.Semaphore(msg["gate"])
        new = [Listener(t) for t in targets]
        started = time.monotonic()
        tasks = [
            asyncio.create_task(listen(lst, self.sink, gate, self.conns, self.stop)) for lst in new
        ]
        self.listeners += new
        self.tasks += tasks
        deadline = started + CONNECT_TIMEOUT + len(new) * 0.1
        while time.monotonic() < deadline:
            if all(lst.welcomed or t.done() for lst, t in zip(new, tasks, strict=True)):
                break
            await asyncio.sleep(0.01)
        failures = [repr(t.exception())[:300] for t in tasks if t.done() and t.exception()]
        welcomed = [lst for lst in new if lst.welcomed]
        return {
            "welcomed": len(welcomed),
            "failures": len(failures),
            "failed": failures[:3],
            "connect_ms": array("d", (lst.connect_ms for lst in welcomed)).tobytes(),
            "started": started,
            "last_welcome": max((lst.welcomed_at for lst in welcomed), default=float("nan")),
        }

    async def on_mark(self, msg: dict) -> dict:
        self.window = (rusage_cpu(), time.monotonic(), 0.0, 0.0)
        return {"marked": True}

    async def on_drain(self, msg: dict) -> dict:
        final = msg["final_seq"]
        deadline = time.monotonic() + msg["timeout"]
        live = [lst for lst in self.listeners if lst.welcomed]
        while time.monotonic() < deadline:
            if all(lst.stream.prev >= final or lst.closed for lst in live):
                break
            await asyncio.sleep(0.02)
        self.final = final
        self.window = (*self.window[:2], rusage_cpu(), time.monotonic())
        return {"drained": sum(1 for lst in live if lst.stream.prev >= final)}

    async def on_report(self, msg: dict) -> dict:
        final = self.final
        welcomed = [lst for lst in self.listeners if lst.welcomed]
        delivered_by_process: dict[int, int] = {}
        for lst in welcomed:
            s = lst.stream
            n = min(s.got, max(0, final - s.first_after))
            delivered_by_process[lst.target.process] = (
                delivered_by_process.get(lst.target.process, 0) + n
            )
        return {
            "listeners": len(welcomed),
            "closed_early": sum(1 for lst in welcomed if lst.closed),
            "expected": sum(max(0, final - lst.stream.first_after) for lst in welcomed),
            "delivered": sum(delivered_by_process.values()),
            "delivered_by_process": delivered_by_process,
            "gaps": sum(lst.stream.gap for lst in welcomed),
            "dupes": sum(lst.stream.dupes for lst in welcomed),
            "errors": sum(lst.stream.errors for lst in welcomed),
            "error_sample": next(
                (lst.stream.error_sample for lst in welcomed if lst.stream.error_sample), ""
            ),
            "latencies_us": self.sink["latencies"].tobytes(),
            "seqs": self.sink["seqs"].tobytes(),
            "cpu_window": self.window[2] - self.window[0],
            "wall_window": self.window[3] - self.window[1],
        }

    async def close(self) -> None:
        self.stop.set()
        closing = [asyncio.create_task(ws.close()) for ws in self.conns]
        if closing:
            await asyncio.wait(closing, timeout=15)
        for t in self.tasks:
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


def client_process(conn) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the coordinator handles Ctrl-C

    async def main() -> None:
        await Worker(conn).run()

    try:
        asyncio.run(main())
    except EOFError:
        pass  # the coordinator is gone
    except Exception as exc:  # noqa: BLE001 - reported by the coordinator
        try:
            conn.send({"error": f"{type(exc).__name__}: {exc}"})
        except OSError:
            pass
    finally:
        conn.close()


class Clients:
    """The listener processes and the pipes to them; targets are dealt round-robin."""

    def __init__(self, count: int):
        ctx = multiprocessing.get_context("spawn")
        self.pipes, self.procs = [], []
        for _ in range(count):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=client_process, args=(child,), daemon=True)
            proc.start()
            child.close()
            self.pipes.append(parent)
            self.procs.append(proc)

    def command(self, command: str, wait: float, **fields) -> list[dict]:
        """Send one command to every worker; their answers within `wait` seconds."""
        for pipe in self.pipes:
            pipe.send({"command": command, **fields})
        return self.gather(wait)

    def connect(self, targets: list[Target], gate: int, timeout: float) -> list[dict]:
        n = len(self.pipes)
        for i, pipe in enumerate(self.pipes):
            share = [(t.ws_url, t.origin, t.cookie, t.process) for t in targets[i::n]]
            pipe.send({"command": "connect", "targets": share, "gate": max(1, gate // n)})
        return self.gather(timeout)

    def gather(self, timeout: float) -> list[dict]:
        deadline = time.monotonic() + timeout
        answers = []
        for i, pipe in enumerate(self.pipes):
            if not pipe.poll(max(0.0, deadline - time.monotonic())):
                raise BenchError(f"client process {i} did not answer within {timeout:.0f} s")
            try:
                answer = pipe.recv()
            except EOFError:
                raise BenchError(f"client process {i} exited early") from None
            if "error" in answer:
                raise BenchError(f"client process {i}: {answer['error']}")
            answers.append(answer)
        return answers

    def stop(self) -> None:
        for pipe in self.pipes:
            try:
                pipe.send({"command": "close"})
            except OSError:
                pass
        for proc in self.procs:
            proc.join(timeout=20)
            if proc.is_alive():
                proc.kill()
                proc.join(timeout=5)


# -- posters (in the coordinator) -----------------------------------------------------


@dataclass
class Posted:
    """What the posters saw: acks, refusals, and the event frames their own sockets got."""

    sent: int = 0
    acks: dict = field(default_factory=dict)  # client_id -> seq
    refused: list = field(default_factory=list)
    ack_ms: list = field(default_factory=list)
    ack_by_seq: dict = field(default_factory=dict)
    sent_by_seq: dict = field(default_factory=dict)  # seq -> s after the first post
    streams: list = field(default_factory=list)  # one Stream per poster socket


class Posters:
    """P sockets that post, round-robin, `rate` posts per second in total."""

    def __init__(self, targets: list[Target]):
        self.targets = targets
        self.sockets: list = []
        self.readers: list[asyncio.Task] = []
        self.out = Posted()
        self.sent_at: dict[str, int] = {}
        self.t0_ns = 0
        self.expected = 0
        self.all_acked = asyncio.Event()

    async def connect(self) -> None:
        for target in self.targets:
            ws = await ws_connect(target)
            self.sockets.append(ws)
            stream = Stream()
            stream.first_after = stream.prev = int((await welcome_of(ws))["last_seq"])
            self.out.streams.append(stream)
            self.readers.append(asyncio.create_task(self._read(ws, stream)))

    async def _read(self, ws, stream: Stream) -> None:
        out = self.out
        async for text in ws:
            if text.startswith(EVENT_PREFIX):
                stream.take(text, 0, None, None)
            elif text.startswith('{"type":"ack"'):
                now = time.time_ns()
                frame = json.loads(text)
                cid = frame["client_id"]
                out.acks[cid] = frame["seq"]
                out.ack_ms.append((now - self.sent_at[cid]) / 1e6)
                out.ack_by_seq[frame["seq"]] = out.ack_ms[-1]
                out.sent_by_seq[frame["seq"]] = (self.sent_at[cid] - self.t0_ns) / 1e9
            elif text.startswith('{"type":"error"'):
                out.refused.append(text[:300])
            if self.expected and len(out.acks) + len(out.refused) >= self.expected:
                self.all_acked.set()

    async def post(self, rate: float, duration: float) -> float:
        """Post for `duration` seconds; return the wall time it took."""
        total = max(1, round(rate * duration))
        self.expected = total
        start, self.t0_ns = time.monotonic(), time.time_ns()
        for i in range(total):
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            client_id = str(uuid.uuid4())
            self.sent_at[client_id] = now = time.time_ns()
            body = f"Bench intervention {i + 1} of {total}. @t={now}@"
            ws = self.sockets[i % len(self.sockets)]
            await ws.send(json.dumps({"type": "post", "client_id": client_id, "body": body}))
            self.out.sent += 1
        return time.monotonic() - start

    async def wait_acks(self) -> None:
        try:
            await asyncio.wait_for(self.all_acked.wait(), ACK_TIMEOUT)
        except TimeoutError:
            pass

    async def close(self) -> None:
        for task in self.readers:
            task.cancel()
        await asyncio.gather(*self.readers, return_exceptions=True)
        await asyncio.gather(*(ws.close() for ws in self.sockets), return_exceptions=True)
