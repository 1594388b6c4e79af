"""Fan-out benchmark: many listeners in one room, one poster, loss, latency and server CPU.

Run by `make bench` (BENCH_ARGS="--listeners 100 --duration 5" for a quick look). By
default it builds its own embedded server in a temporary directory (SQLite, in-memory
channel layer, one Daphne process), signs every listener in through a join link, opens
the websockets, posts at a fixed rate and prints a summary. See bench/README.md.

The client is built to cost little per frame: a listener recognises an intervention
event by its prefix and slices the seq and the send time out of the text without
decoding the JSON. Listeners run in `--client-processes` separate processes so that the
client does not become the bottleneck it is trying to measure.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import http.client
import json
import math
import multiprocessing
import os
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from array import array
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
SECTORS = ("government", "intergovernmental", "civil-society", "private-sector", "academia")
SEATS_PER_SECTOR = 250

# The frames as realtime/log.py encodes them (compact separators, "type" first).
EVENT_PREFIX = '{"type":"event","seq":'
SEQ_AT = len(EVENT_PREFIX)
POSTED = '"kind":"intervention.posted"'
MARK = "@t="  # the body carries "@t=<time.time_ns() at send>@"

CONNECT_CONCURRENCY = 50  # handshakes in flight per client process
CONNECT_TIMEOUT = 60.0  # one socket's handshake + welcome
HEALTH_TIMEOUT = 60.0
SETTLE_SECONDS = 1.5  # lets the join storm's presence broadcasts pass before measuring
ACK_TIMEOUT = 30.0
DRAIN_TIMEOUT = 20.0
PIPE_TIMEOUT = 30.0
CPU_TARGET_MS = 0.06
P99_TARGET_MS = 200.0

CLK_TCK = os.sysconf("SC_CLK_TCK")

# Loaded into the Daphne processes only (PYTHONPATH), never into the product: records the
# garbage collector's pauses, which show up as latency tails. (The product sets its own
# threshold in forum/asgi.py from GC_THRESHOLD0; --gc-threshold0 passes that variable.)
GC_PROBE = """\
import gc, os, time

_log = os.environ.get("BENCH_GC_LOG")
if _log:
    _began = [0.0]

    def _bench_gc(phase, info):
        if phase == "start":
            _began[0] = time.perf_counter()
            return
        ms = (time.perf_counter() - _began[0]) * 1000
        if info["generation"] == 2 or ms >= 5:
            with open(f"{_log}.{os.getpid()}", "a") as f:
                f.write(f"{time.time():.3f} {info['generation']} {ms:.1f}\\n")

    gc.callbacks.append(_bench_gc)
"""


class BenchError(Exception):
    pass


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- the server ---------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        stat = f.read().decode()
    # The command name is in parentheses and may hold spaces: split after the last ")".
    fields = stat[stat.rindex(")") + 2 :].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / CLK_TCK


class Server:
    """A temporary data directory, the room, its participants and N Daphne processes."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.tmp = Path(tempfile.mkdtemp(prefix="roundtables-bench-"))
        self.ports = [free_port() for _ in range(args.processes)]
        self.procs: list[subprocess.Popen] = []
        self.env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
        self.env.update(
            DATA_DIR=str(self.tmp / "data"),
            SECRET_KEY="bench-" + secrets.token_hex(24),
            DEBUG="0",
            ALLOWED_HOSTS="127.0.0.1",
            BASE_URL=self.url(0),
            LOG_LEVEL="WARNING",
            CHANNEL_PREFIX=f"rtbench{os.getpid()}x{secrets.token_hex(3)}",
            PYTHONUNBUFFERED="1",
        )
        self.env.pop("DJANGO_SETTINGS_MODULE", None)
        if args.database_url:
            self.env["DATABASE_URL"] = args.database_url
        if args.redis:
            self.env["REDIS_URL"] = args.redis

    def url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.ports[index]}"

    def manage(self, *argv: str) -> str:
        cmd = [sys.executable, "manage.py", *argv]
        done = subprocess.run(
            cmd, check=False, cwd=REPO, env=self.env, capture_output=True, text=True, timeout=600
        )
        if done.returncode != 0:
            raise BenchError(f"manage.py {argv[0]} failed:\n{done.stderr.strip()[-3000:]}")
        return done.stdout

    def prepare(self, delegates: int) -> list[tuple[str, str]]:
        """Migrate, create the room, import `delegates` seats; return (email, join_url) rows."""
        log("migrating the database")
        self.manage("migrate", "--noinput", "-v0")
        log(f"creating the room {self.args.room}")
        try:
            self.manage(
                "create_room", self.args.room, "Bench", "--rule", "open",
                "--seats-per-sector", str(SEATS_PER_SECTOR),
            )
        except BenchError as exc:
            if self.args.database_url and "already exists" in str(exc):
                raise BenchError(f"{exc}\nUse a fresh database, or another --room.") from None
            raise
        source = self.tmp / "participants.csv"
        links = self.tmp / "links.csv"
        with open(source, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["name", "email", "organization", "sector", "role"])
            for i in range(delegates):
                sector = SECTORS[i % len(SECTORS)]
                # Seat 0 posts 5 times a second: the room's pace, not one delegate's, so
                # it is a moderator (exempt from the per-seat post rate limit).
                writer.writerow(
                    [f"Bench Delegate {i:04d}", f"bench-{i:04d}@example.org",
                     f"Bench {sector} organization", sector, "moderator" if i == 0 else "delegate"]
                )
        log(f"importing {delegates} participants")
        self.manage(
            "import_participants", self.args.room, str(source), "--out", str(links),
            "--base-url", self.url(0),
        )
        with open(links, newline="", encoding="utf-8") as f:
            rows = [(r["email"], r["join_url"]) for r in csv.DictReader(f)]
        by_email = dict(rows)
        ordered = [by_email.get(f"bench-{i:04d}@example.org", "") for i in range(delegates)]
        if not all(ordered):
            raise BenchError("import_participants did not print a join link for every delegate")
        return [(f"bench-{i:04d}@example.org", url) for i, url in enumerate(ordered)]

    def start(self) -> None:
        for index, port in enumerate(self.ports):
            cmd = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                   "forum.asgi:application"]
            if index == 0 and self.args.profile:
                profile = str(Path(self.args.profile).resolve())
                cmd[1:1] = ["-m", "cProfile", "-o", profile]
            with open(self.tmp / f"daphne-{index}.log", "wb") as out:
                self.procs.append(
                    subprocess.Popen(
                        cmd, cwd=REPO, env=self.daphne_env(), stdout=out,
                        stderr=subprocess.STDOUT,
                    )
                )
        for index in range(len(self.procs)):
            self.wait_healthy(index)

    def daphne_env(self) -> dict[str, str]:
        probe = self.tmp / "gcprobe"
        probe.mkdir(exist_ok=True)
        (probe / "sitecustomize.py").write_text(GC_PROBE)
        env = dict(self.env)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(probe), env.get("PYTHONPATH")]))
        env["BENCH_GC_LOG"] = str(self.tmp / "gc")
        if self.args.gc_threshold0:
            env["GC_THRESHOLD0"] = str(self.args.gc_threshold0)
        return env

    def gc_pauses(self, start: float, end: float) -> list[tuple[int, float]]:
        """(generation, ms) of the Daphne collections between two time.time() stamps."""
        pauses = []
        for path in self.tmp.glob("gc.*"):
            for line in path.read_text().splitlines():
                at, generation, ms = line.split()
                if start <= float(at) <= end:
                    pauses.append((int(generation), float(ms)))
        return pauses

    def wait_healthy(self, index: int) -> None:
        deadline = time.monotonic() + HEALTH_TIMEOUT
        last = "no answer"
        while time.monotonic() < deadline:
            if self.procs[index].poll() is not None:
                raise BenchError(f"Daphne {index} exited:\n{self.log_tail(index)}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.ports[index], timeout=5)
                conn.request("GET", "/healthz")
                resp = conn.getresponse()
                body = resp.read()
                conn.close()
                if resp.status == 200:
                    return
                last = f"{resp.status} {body[:200]!r}"
            except OSError as exc:
                last = str(exc)
            time.sleep(0.2)
        raise BenchError(f"Daphne {index} not healthy after {HEALTH_TIMEOUT:.0f} s ({last})")

    def log_tail(self, index: int, chars: int = 3000) -> str:
        try:
            return (self.tmp / f"daphne-{index}.log").read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def cpu_seconds(self) -> float:
        return sum(proc_cpu_seconds(p.pid) for p in self.procs)

    def alive(self) -> bool:
        return all(p.poll() is None for p in self.procs)

    def stop(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=10)
        shutil.rmtree(self.tmp, ignore_errors=True)
        if self.args.redis:
            self.forget_redis_keys()

    def forget_redis_keys(self) -> None:
        """Drop this run's channel-layer keys (they would expire by themselves anyway)."""
        try:
            import redis

            client = redis.Redis.from_url(self.args.redis, socket_timeout=5)
            keys = list(client.scan_iter(match=self.env["CHANNEL_PREFIX"] + "*", count=500))
            if keys:
                client.delete(*keys[:10_000])
            client.close()
        except Exception as exc:  # noqa: BLE001 - best effort
            log(f"could not remove this run's Redis keys: {exc}")


def sign_in(port: int, join_url: str) -> str:
    """GET /join/<token>/ without following the redirect; return the Cookie header value."""
    path = urlsplit(join_url).path
    error = "no answer"
    for _attempt in range(3):
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("GET", path)
            resp = conn.getresponse()
            resp.read()
            conn.close()
        except OSError as exc:
            error = str(exc)
            time.sleep(0.2)
            continue
        if resp.status not in (301, 302, 303):
            raise BenchError(f"GET {path} answered {resp.status}, not a redirect")
        for header in resp.headers.get_all("Set-Cookie") or []:
            if header.startswith("sessionid="):
                return header.split(";", 1)[0]
        raise BenchError(f"GET {path} set no sessionid cookie")
    raise BenchError(f"GET {path} failed: {error}")


# -- listeners (in client processes) ------------------------------------------------


@dataclass
class Target:
    ws_url: str
    cookie: str
    origin: str


@dataclass
class ListenerState:
    welcomed: bool = False
    closed: bool = False
    first_after: int = 0  # the welcome's last_seq
    prev: int = 0  # the last event seq received in order
    got: int = 0  # event frames received in order with seq > first_after
    dupes: int = 0  # event frames with seq <= prev (a repeat, or out of order)
    gap: int = 0  # seqs skipped over
    errors: int = 0
    error_sample: str = ""


def ws_connect(target: Target):
    from websockets.asyncio.client import connect

    return connect(
        target.ws_url,
        additional_headers={"Cookie": target.cookie, "Origin": target.origin},
        compression=None,
        ping_interval=None,
        open_timeout=CONNECT_TIMEOUT,
        close_timeout=2,
        max_size=2**20,
    )


async def listen(target: Target, state: ListenerState, latencies: array, seqs: array,
                 gate: asyncio.Semaphore, conns: list, stop: asyncio.Event) -> None:
    """Connect, wait for the welcome, then count events until the socket closes."""
    async with gate:
        ws = await ws_connect(target)
        conns.append(ws)
        welcome = json.loads(await asyncio.wait_for(ws.recv(), CONNECT_TIMEOUT))
        if welcome.get("type") != "welcome":
            raise BenchError(f"first frame is not a welcome: {welcome}")
        state.first_after = state.prev = int(welcome["last_seq"])
        state.welcomed = True
    recv = ws.recv
    time_ns = time.time_ns
    try:
        while not stop.is_set():
            text = await recv()
            now = time_ns()
            if not text.startswith(EVENT_PREFIX):
                if text.startswith('{"type":"error"'):
                    state.errors += 1
                    state.error_sample = text[:300]
                continue
            comma = text.find(",", SEQ_AT)
            seq = int(text[SEQ_AT:comma])
            prev = state.prev
            if seq == prev + 1:
                state.prev = seq
                state.got += 1
            elif seq <= prev:
                state.dupes += 1
                continue
            else:
                state.gap += seq - prev - 1
                state.prev = seq
                state.got += 1
            if text.startswith(POSTED, comma + 1):
                i = text.find(MARK, comma)
                if i >= 0:
                    j = i + len(MARK)
                    latencies.append((now - int(text[j : text.index("@", j)])) // 1000)
                    seqs.append(seq)
    except Exception:  # noqa: BLE001 - a closed socket ends the listener; counted as closed
        state.closed = True


def loadavg() -> float:
    """The machine's 1-minute load average: other work competing for the same cores."""
    try:
        with open("/proc/loadavg") as f:
            return float(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return float("nan")


def rusage_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


async def _worker(conn, index: int) -> None:
    loop = asyncio.get_running_loop()

    async def receive(timeout: float):
        ready = await loop.run_in_executor(None, conn.poll, timeout)
        if not ready:
            raise BenchError(f"client process {index}: no word from the coordinator")
        return conn.recv()

    setup = await receive(PIPE_TIMEOUT)
    targets = [Target(*t) for t in setup["targets"]]
    # The coordinator is bounded; this only guards against waiting forever on a lost pipe
    # (a coordinator that dies closes the pipe, which ends the wait at once).
    window_wait = setup["duration"] + ACK_TIMEOUT + CONNECT_TIMEOUT + 120
    states = [ListenerState() for _ in targets]
    latencies = array("q")
    seqs = array("q")
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    conns: list = []
    stop = asyncio.Event()
    tasks = [
        asyncio.create_task(listen(t, s, latencies, seqs, gate, conns, stop))
        for t, s in zip(targets, states, strict=True)
    ]
    # Ready when every listener is welcomed or has failed.
    deadline = time.monotonic() + CONNECT_TIMEOUT + len(targets) * 0.2
    while time.monotonic() < deadline:
        pending = sum(1 for s, t in zip(states, tasks, strict=True) if not s.welcomed and not t.done())
        if pending == 0:
            break
        await asyncio.sleep(0.05)
    failures = [repr(t.exception())[:300] for t in tasks if t.done() and t.exception()]
    conn.send({"welcomed": sum(s.welcomed for s in states), "failed": failures[:3],
               "failures": len(failures),
               "last_seq": sorted({s.first_after for s in states if s.welcomed})})

    await receive(window_wait)  # "mark": the measured window begins
    cpu0, wall0 = rusage_cpu(), time.monotonic()
    msg = await receive(window_wait)  # "drain" up to the final seq
    final = msg["final_seq"]
    deadline = time.monotonic() + msg["timeout"]
    while time.monotonic() < deadline:
        if all(s.prev >= final or s.closed or not s.welcomed for s in states):
            break
        await asyncio.sleep(0.02)
    cpu1, wall1 = rusage_cpu(), time.monotonic()
    conn.send({"drained": sum(1 for s in states if s.welcomed and s.prev >= final)})

    await receive(PIPE_TIMEOUT)  # "report"
    welcomed = [s for s in states if s.welcomed]
    report = {
        "listeners": len(welcomed),
        "closed_early": sum(1 for s in welcomed if s.closed),
        "expected": sum(max(0, final - s.first_after) for s in welcomed),
        "delivered": sum(min(s.got, max(0, final - s.first_after)) for s in welcomed),
        "gaps": sum(s.gap for s in welcomed),
        "dupes": sum(s.dupes for s in welcomed),
        "errors": sum(s.errors for s in welcomed),
        "error_sample": next((s.error_sample for s in welcomed if s.error_sample), ""),
        "latencies_us": latencies.tobytes(),
        "seqs": seqs.tobytes(),
        "cpu_window": cpu1 - cpu0,
        "wall_window": wall1 - wall0,
    }
    stop.set()
    closing = [asyncio.create_task(ws.close()) for ws in conns]
    if closing:
        await asyncio.wait(closing, timeout=10)
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    report["cpu_total"] = rusage_cpu()
    conn.send(report)


def client_process(conn, index: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the coordinator handles Ctrl-C
    try:
        asyncio.run(_worker(conn, index))
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
    """The listener processes and the pipes to them."""

    def __init__(self, count: int):
        ctx = multiprocessing.get_context("spawn")
        self.pipes = []
        self.procs = []
        for i in range(count):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=client_process, args=(child, i), daemon=True)
            proc.start()
            child.close()
            self.pipes.append(parent)
            self.procs.append(proc)

    def send(self, message) -> None:
        for pipe in self.pipes:
            pipe.send(message)

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
        for proc in self.procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
                proc.join(timeout=5)


# -- the poster and the measured window ---------------------------------------------


@dataclass
class PostOutcome:
    sent: int = 0
    acked: int = 0
    refused: list = field(default_factory=list)
    first_seq: int = 0
    final_seq: int = 0
    ack_ms: list = field(default_factory=list)  # send -> ack, per post
    ack_by_seq: dict = field(default_factory=dict)
    sent_by_seq: dict = field(default_factory=dict)  # seq -> send time, s after the first post
    window_wall: float = 0.0
    window_epoch: tuple = (0.0, 0.0)  # time.time() at the start and the end of the window
    loadavg: list = field(default_factory=list)  # 1-minute load at the start and the end
    server_cpu: float = 0.0
    post_span: float = 0.0


async def run_window(args, server: Server, clients: Clients, poster: Target) -> PostOutcome:
    out = PostOutcome()
    acks: dict[str, int] = {}
    sent_at: dict[str, int] = {}
    refused: list[str] = []
    async with ws_connect(poster) as ws:
        welcome = json.loads(await asyncio.wait_for(ws.recv(), CONNECT_TIMEOUT))
        if welcome.get("type") != "welcome":
            raise BenchError(f"poster: first frame is not a welcome: {welcome}")
        all_acked = asyncio.Event()
        total = max(1, round(args.rate * args.duration))

        async def read_acks() -> None:
            async for text in ws:
                if text.startswith('{"type":"ack"'):
                    now = time.time_ns()
                    frame = json.loads(text)
                    acks[frame["client_id"]] = frame["seq"]
                    out.ack_ms.append((now - sent_at[frame["client_id"]]) / 1e6)
                    out.ack_by_seq[frame["seq"]] = out.ack_ms[-1]
                    out.sent_by_seq[frame["seq"]] = (sent_at[frame["client_id"]] - t0_ns) / 1e9
                elif text.startswith('{"type":"error"'):
                    refused.append(text[:300])
                if len(acks) + len(refused) >= total:
                    all_acked.set()

        reader = asyncio.create_task(read_acks())
        await asyncio.sleep(SETTLE_SECONDS)
        clients.send({"mark": True})
        cpu0, wall0 = server.cpu_seconds(), time.monotonic()
        out.loadavg.append(loadavg())
        epoch0 = time.time()
        log(f"posting {total} interventions at {args.rate:g}/s")
        start, t0_ns = time.monotonic(), time.time_ns()
        for i in range(total):
            delay = start + i / args.rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            client_id = str(uuid.uuid4())
            sent_at[client_id] = now = time.time_ns()
            body = f"Bench intervention {i + 1} of {total}. @t={now}@"
            await ws.send(json.dumps({"type": "post", "client_id": client_id, "body": body}))
            out.sent += 1
        out.post_span = time.monotonic() - start
        try:
            await asyncio.wait_for(all_acked.wait(), ACK_TIMEOUT)
        except TimeoutError:
            log(f"only {len(acks)} acks and {len(refused)} refusals after {ACK_TIMEOUT:.0f} s")
        out.acked, out.refused = len(acks), refused
        seqs = sorted(acks.values())
        out.first_seq = seqs[0] if seqs else 0
        out.final_seq = seqs[-1] if seqs else int(welcome["last_seq"])
        clients.send({"final_seq": out.final_seq, "timeout": DRAIN_TIMEOUT})
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, clients.gather, DRAIN_TIMEOUT + PIPE_TIMEOUT)
        out.server_cpu = server.cpu_seconds() - cpu0
        out.window_wall = time.monotonic() - wall0
        out.window_epoch = (epoch0, time.time())
        out.loadavg.append(loadavg())
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
    return out


# -- the report -----------------------------------------------------------------------


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def summarise(args, posted: PostOutcome, reports: list[dict], client_main_cpu: float,
              gc_pauses: list[tuple[int, float]]) -> dict:
    latencies, seqs = array("q"), array("q")
    for r in reports:
        latencies.frombytes(r["latencies_us"])
        seqs.frombytes(r["seqs"])
    lat_ms = sorted(v / 1000 for v in latencies)
    # Per post: when its first listener got it, and how long the fan-out to all of them took.
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    for seq, us in zip(seqs, latencies, strict=True):
        if us < first.get(seq, 1 << 62):
            first[seq] = us
        if us > last.get(seq, -1):
            last[seq] = us
    first_ms = sorted(v / 1000 for v in first.values())
    spread_ms = sorted((last[k] - first[k]) / 1000 for k in first)
    ack_ms = sorted(posted.ack_ms)

    def pcts(values: list[float]) -> dict:
        return {
            "p50": percentile(values, 50), "p90": percentile(values, 90),
            "p99": percentile(values, 99), "max": values[-1] if values else float("nan"),
        }

    def total(key: str) -> int:
        return sum(r[key] for r in reports)

    delivered = total("delivered")
    expected = total("expected")
    cpu_ms = posted.server_cpu * 1000
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
        "setup": {
            "daphne_processes": args.processes,
            "database": "postgresql" if args.database_url else "sqlite",
            "channel_layer": "redis" if args.redis else "in-memory",
            "client_processes": args.client_processes,
            "cpus": os.cpu_count(),
            "loadavg_1min_start_end": posted.loadavg,
        },
        "listeners_requested": args.listeners,
        "listeners": total("listeners"),
        "rate_per_s": args.rate,
        "duration_s": args.duration,
        "posts_sent": posted.sent,
        "posts_acked": posted.acked,
        "posts_refused": len(posted.refused),
        "seq_range": [posted.first_seq, posted.final_seq],
        "expected": expected,
        "delivered": delivered,
        "lost": expected - delivered,
        "gaps": total("gaps"),
        "duplicates": total("dupes"),
        "sockets_closed_early": total("closed_early"),
        "error_frames": total("errors"),
        "latency_samples": len(lat_ms),
        # One row per post: seq, sent (s into the window), ack, first and last delivery (ms).
        "per_post": [
            [k, round(posted.sent_by_seq.get(k, float("nan")), 3),
             round(posted.ack_by_seq.get(k, float("nan")), 1),
             round(first[k] / 1000, 1), round(last[k] / 1000, 1)]
            for k in sorted(first)
        ],
        "latency_ms": pcts(lat_ms),
        "ack_ms": pcts(ack_ms),
        "first_delivery_ms": pcts(first_ms),
        "fanout_spread_ms": pcts(spread_ms),
        "server_gc": {
            "gen0_threshold": args.gc_threshold0 or "default",
            "full_collections": sum(1 for g, _ in gc_pauses if g == 2),
            "pauses_over_5ms": sum(1 for _, ms in gc_pauses if ms >= 5),
            "longest_ms": max((ms for _, ms in gc_pauses), default=0.0),
            "total_ms": round(sum(ms for _, ms in gc_pauses), 1),
        },
        "window_s": posted.window_wall,
        "server_cpu_s": posted.server_cpu,
        "server_cpu_ms_per_frame": cpu_ms / delivered if delivered else float("nan"),
        "client_cpu_window_s": [r["cpu_window"] for r in reports],
        "client_cpu_total_s": sum(r["cpu_total"] for r in reports) + client_main_cpu,
        "targets": {"cpu_ms_per_frame": CPU_TARGET_MS, "p99_ms": P99_TARGET_MS, "lost": 0},
    }


def json_safe(value):
    """NaN (no samples) is not JSON: write null instead."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_safe(v) for v in value]
    return value


def print_summary(s: dict, refused_sample: list[str], error_sample: str) -> None:
    lat = s["latency_ms"]
    ack, first, spread = s["ack_ms"], s["first_delivery_ms"], s["fanout_spread_ms"]
    gc = s["server_gc"]
    setup = s["setup"]
    window = s["window_s"] or float("nan")
    per_frame = s["server_cpu_ms_per_frame"]
    ok_cpu = per_frame < CPU_TARGET_MS
    ok_p99 = lat["p99"] < P99_TARGET_MS
    ok_loss = s["lost"] == 0 and s["duplicates"] == 0 and s["listeners"] == s["listeners_requested"]
    client_share = ", ".join(
        f"{c:.2f} s ({100 * c / window:.0f}% of a core)" for c in s["client_cpu_window_s"]
    )
    lines = [
        "",
        f"Fan-out benchmark, {s['date']}",
        (f"  setup          {setup['daphne_processes']} Daphne process(es), {setup['database']}, "
         f"{setup['channel_layer']} channel layer; {setup['client_processes']} client process(es)"),
        (f"  machine        {setup['cpus']} CPUs, 1-min load average "
         + " -> ".join(f"{v:.2f}" for v in setup["loadavg_1min_start_end"])),
        f"  listeners      {s['listeners']} welcomed of {s['listeners_requested']}",
        f"  rate           {s['rate_per_s']:g} posts/s for {s['duration_s']:g} s",
        (f"  posts          {s['posts_sent']} sent, {s['posts_acked']} acked, "
         f"{s['posts_refused']} refused (seq {s['seq_range'][0]}..{s['seq_range'][1]})"),
        (f"  deliveries     {s['expected']} expected, {s['delivered']} delivered, "
         f"{s['lost']} lost, {s['duplicates']} duplicates"),
        (f"  latency ms     p50 {lat['p50']:.1f}   p90 {lat['p90']:.1f}   p99 {lat['p99']:.1f}   "
         f"max {lat['max']:.1f}   ({s['latency_samples']} samples)"),
        (f"  post -> ack    p50 {ack['p50']:.1f}   p99 {ack['p99']:.1f} ms; first listener p50 "
         f"{first['p50']:.1f}   p99 {first['p99']:.1f} ms; first to last listener p50 "
         f"{spread['p50']:.1f}   p99 {spread['p99']:.1f} ms"),
        (f"  server CPU     {s['server_cpu_s']:.2f} s over a {window:.1f} s window "
         f"({100 * s['server_cpu_s'] / window:.0f}% of a core)"),
        f"  CPU per frame  {per_frame:.4f} ms of server CPU per delivered frame",
        (f"  server GC      {gc['full_collections']} full collections in the window, pauses of "
         f"5 ms or more: {gc['pauses_over_5ms']}, longest {gc['longest_ms']:.0f} ms"),
        f"  client CPU     window: {client_share}; whole run {s['client_cpu_total_s']:.1f} s",
        (f"  targets        CPU/frame < {CPU_TARGET_MS} ms: {'met' if ok_cpu else 'MISSED'}; "
         f"p99 < {P99_TARGET_MS:.0f} ms: {'met' if ok_p99 else 'MISSED'}; "
         f"nothing lost: {'met' if ok_loss else 'MISSED'}"),
    ]
    if s["gaps"] or s["sockets_closed_early"] or s["error_frames"]:
        lines.append(
            f"  anomalies      {s['gaps']} seqs skipped, {s['sockets_closed_early']} sockets closed "
            f"early, {s['error_frames']} error frames {error_sample}"
        )
    if refused_sample:
        lines.append(f"  refused posts  e.g. {refused_sample[0]}")
    print("\n".join(lines), flush=True)


# -- main -------------------------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--listeners", type=int, default=1000, help="listening sockets (default 1000)")
    p.add_argument("--rate", type=float, default=5.0, help="posts per second (default 5)")
    p.add_argument("--duration", type=float, default=30.0, help="seconds of posting (default 30)")
    p.add_argument("--redis", metavar="URL", help="use channels-redis at URL instead of in-memory")
    p.add_argument("--database-url", metavar="URL",
                   help="use this (empty, disposable) database instead of a temporary SQLite file")
    p.add_argument("--processes", type=int, default=1,
                   help="Daphne processes (more than 1 needs --redis and a PostgreSQL database)")
    p.add_argument("--client-processes", type=int, default=1,
                   help="processes the listeners are spread over (default 1; see bench/README.md)")
    p.add_argument("--room", default="bench-room", help="room slug (default bench-room)")
    p.add_argument("--json", metavar="FILE", help="also write the summary to FILE as JSON")
    p.add_argument("--gc-threshold0", type=int, metavar="N",
                   help="GC_THRESHOLD0 for the Daphne processes (the product default is 100000; 700 is "
                        "Python's own default)")
    p.add_argument("--profile", metavar="FILE",
                   help="run the (first) Daphne process under cProfile and save its stats to FILE "
                        "(main thread only; inflates the CPU figures)")
    args = p.parse_args(argv)
    if not 1 <= args.listeners <= 5 * SEATS_PER_SECTOR - 1:
        p.error(f"--listeners must be between 1 and {5 * SEATS_PER_SECTOR - 1}")
    if not 0 < args.rate <= 200:
        p.error("--rate must be above 0 and at most 200")
    if not 0 < args.duration <= 600:
        p.error("--duration must be above 0 and at most 600")
    if not 1 <= args.processes <= 8:
        p.error("--processes must be between 1 and 8")
    if args.gc_threshold0 is not None and args.gc_threshold0 < 1:
        p.error("--gc-threshold0 must be 1 or more")
    if not 1 <= args.client_processes <= 8:
        p.error("--client-processes must be between 1 and 8")
    if args.processes > 1:
        scheme = urlsplit(args.database_url or "").scheme
        if not args.redis or not scheme.startswith("postgres"):
            p.error("--processes above 1 needs --redis URL and a PostgreSQL --database-url")
    for url in (args.redis, args.database_url):
        host = urlsplit(url).hostname if url else None
        if host is not None and host not in ("127.0.0.1", "localhost"):
            p.error(f"this benchmark only talks to 127.0.0.1, not {host}")
    return args


def raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 65536 if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    raise_fd_limit()  # inherited by Daphne and the client processes
    signal.signal(signal.SIGTERM, _interrupt)  # stop as on Ctrl-C: clean up, then exit
    server = Server(args)
    clients: Clients | None = None
    try:
        rows = server.prepare(args.listeners + 1)
        log(f"starting {args.processes} Daphne process(es) on ports {server.ports}")
        server.start()

        log(f"signing in {len(rows)} seats")
        ports = [server.ports[i % args.processes] for i in range(len(rows))]
        with ThreadPoolExecutor(max_workers=8) as pool:
            cookies = list(pool.map(sign_in, ports, [url for _, url in rows]))
        targets = [
            Target(f"ws://127.0.0.1:{port}/ws/rooms/{args.room}/", cookie, f"http://127.0.0.1:{port}")
            for port, cookie in zip(ports, cookies, strict=True)
        ]
        poster, listeners = targets[0], targets[1:]

        log(f"opening {len(listeners)} listener sockets in {args.client_processes} process(es)")
        clients = Clients(args.client_processes)
        for i, pipe in enumerate(clients.pipes):
            share = listeners[i :: args.client_processes]
            pipe.send(
                {"targets": [(t.ws_url, t.cookie, t.origin) for t in share],
                 "duration": args.duration}
            )
        ready = clients.gather(CONNECT_TIMEOUT + len(listeners) * 0.2 + PIPE_TIMEOUT)
        welcomed = sum(r["welcomed"] for r in ready)
        log(f"{welcomed} listeners welcomed")
        for r in ready:
            if r["failures"]:
                log(f"{r['failures']} listeners failed, e.g. {r['failed'][0]}")
        if welcomed == 0:
            raise BenchError("no listener was welcomed")
        if not server.alive():
            raise BenchError(f"Daphne died:\n{server.log_tail(0)}")

        posted = asyncio.run(run_window(args, server, clients, poster))
        clients.send({"report": True})
        reports = clients.gather(PIPE_TIMEOUT + 15)
        summary = summarise(
            args, posted, reports, rusage_cpu(), server.gc_pauses(*posted.window_epoch)
        )
        error_sample = next((r["error_sample"] for r in reports if r["error_sample"]), "")
        print_summary(summary, posted.refused, error_sample)
        if args.json:
            Path(args.json).write_text(json.dumps(json_safe(summary), indent=2) + "\n")
        complete = summary["lost"] == 0 and summary["duplicates"] == 0
        return 0 if complete and summary["listeners"] == args.listeners else 1
    except BenchError as exc:
        log(f"failed: {exc}")
        return 2
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        if clients is not None:
            clients.stop()
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
