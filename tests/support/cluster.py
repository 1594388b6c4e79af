"""A real cluster for tests and benchmarks: N Daphne processes, one Redis, one PostgreSQL.

Nothing here touches Django in the calling process: the product runs in subprocesses
(`manage.py` for setup, `python -m daphne` for serving) and is reached over HTTP and
websockets, exactly as browsers and outside scripts reach it.

    cluster = Cluster(processes=2)
    cluster.start()                      # fresh database, migrations, Daphne processes
    room = cluster.add_room("plenary", seats_per_sector=5, delegates=10)
    session = cluster.sign_in(room.seats[0], process=0)
    peer = await cluster.connect(session, room.slug, process=1)
    await peer.wait_for(lambda p: p.first("welcome"), what="welcome")
    ...
    cluster.stop()                       # processes, database and Redis keys go away

`service_problems()` says what is missing (Redis, PostgreSQL); `require_services()`
turns that into a skip (or a failure under CI=true) inside pytest.

For fault tests: `RedisServer` is a private redis-server that can be killed and restarted
without touching the shared one; `TcpProxy` stands between the Daphne processes and
PostgreSQL and can be cut and restored (`Cluster(database_via=proxy.address)`);
`Cluster.kill(i)` and `Cluster.restart(i)` act on one Daphne process; `Cluster.room_log(slug)`
reads the room's event log and interventions straight from the database.
"""

from __future__ import annotations

import asyncio
import csv
import http.client
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/15")
POSTGRES_URL = os.environ.get("POSTGRES_TEST_URL", "postgres://postgres@127.0.0.1:5432/test")
SECTORS = ("government", "intergovernmental", "civil-society", "private-sector", "academia")
HOST = "127.0.0.1"
SESSION_COOKIE = "sessionid"


def python() -> str:
    """The project's virtualenv interpreter (the one `make` installs into), else ours."""
    venv = ROOT / ".venv" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


# -- services ---------------------------------------------------------------------------


def first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [""])[0]


def redis_problem(url: str = REDIS_URL) -> str | None:
    try:
        import redis
    except ImportError:  # pragma: no cover - a dependency of the product
        return "the redis package is not installed"
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
        try:
            client.ping()
        finally:
            client.close()
    except Exception as exc:  # noqa: BLE001
        return f"cannot reach {url}: {exc.__class__.__name__}: {first_line(exc)}"
    return None


def postgres_problem(url: str = POSTGRES_URL) -> str | None:
    try:
        import psycopg
    except ImportError:  # pragma: no cover - a dependency of the product
        return "the psycopg package is not installed"
    try:
        with psycopg.connect(url, connect_timeout=3, autocommit=True) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001
        return f"cannot reach {url}: {exc.__class__.__name__}: {first_line(exc)}"
    return None


def service_problems() -> dict[str, str]:
    """{service: reason} for each service the cluster needs and cannot reach."""
    problems = {}
    for name, check in (("Redis", redis_problem), ("PostgreSQL", postgres_problem)):
        problem = check()
        if problem:
            problems[name] = problem
    return problems


def require_services() -> None:
    """Inside pytest: skip (or fail under CI=true) unless Redis and PostgreSQL answer."""
    from tests.support.services import require

    problems = service_problems()
    for name in ("Redis", "PostgreSQL"):
        require(name, name not in problems, problems.get(name, ""))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def address_of(url: str) -> tuple[str, int]:
    """(host, port) of a postgres:// or redis:// URL."""
    parts = urlsplit(url)
    default = 6379 if parts.scheme.startswith("redis") else 5432
    return parts.hostname or HOST, parts.port or default


def with_address(url: str, host: str, port: int) -> str:
    """`url` dialling host:port instead, with the same user, password, path and query."""
    parts = urlsplit(url)
    credentials = parts.netloc.rpartition("@")[0]
    netloc = f"{credentials}@{host}:{port}" if credentials else f"{host}:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


# -- services a fault test may break ----------------------------------------------------


def redis_server_problem() -> str | None:
    if shutil.which("redis-server") is None:
        return "no redis-server on PATH (a private one is started for fault tests)"
    return None


class RedisServer:
    """A private redis-server on a free port: killed and restarted at will, never the shared one.

    No persistence (`--save "" --appendonly no`): a restart comes back empty, as a Redis that
    lost its memory does, which is the harder case for the channel layer.
    """

    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.workdir = Path(tempfile.mkdtemp(prefix="rt-redis-"))
        self.popen: subprocess.Popen | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def start(self, timeout: float = 10) -> RedisServer:
        log = open(self.workdir / "redis.log", "ab")  # noqa: SIM115 - the child holds it
        try:
            self.popen = subprocess.Popen(
                [
                    "redis-server",
                    "--port",
                    str(self.port),
                    "--bind",
                    HOST,
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--daemonize",
                    "no",
                    "--dir",
                    str(self.workdir),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        finally:
            log.close()
        self.starts += 1
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen.poll() is not None:
                raise ClusterError(
                    f"redis-server exited with {self.popen.returncode}:\n{self.log()}"
                )
            if redis_problem(self.url) is None:
                return self
            time.sleep(0.05)
        raise ClusterError(f"redis-server on port {self.port} not answering after {timeout}s")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.send_signal(sig)
            self.popen.wait(timeout=10)

    def restart(self, sig: int = signal.SIGKILL) -> None:
        """Kill it and start it again on the same port, empty."""
        self.kill(sig)
        self.start()

    def stop(self) -> None:
        self.kill(signal.SIGTERM)
        shutil.rmtree(self.workdir, ignore_errors=True)

    def log(self) -> str:
        try:
            return (self.workdir / "redis.log").read_text(errors="replace")
        except OSError:
            return ""


class TcpProxy:
    """A TCP relay in front of a server, in a thread with its own event loop, that can be cut.

    `cut()` drops every relayed connection at once (both ends see the socket go) and, until
    `restore()`, answers each new connection by closing it: what clients of a database that
    restarts, or sits behind a flapping network, see. The tests' own event loop may block
    (the cluster's setup is synchronous) without stalling the relay.
    """

    def __init__(self, target: tuple[str, int], host: str = HOST):
        self.target = target
        self.host = host
        self.port = 0
        self.is_cut = False
        self.relayed = 0  # connections relayed to the target
        self.refused = 0  # connections closed at once while cut
        self._links: set[asyncio.StreamWriter] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port

    def start(self) -> TcpProxy:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="tcp-proxy", daemon=True
        )
        self._thread.start()
        self._call(self._listen())
        return self

    def _call(self, coro: Any, timeout: float = 10) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._accept, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.is_cut:
            self.refused += 1
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        if self.is_cut:  # cut while we were dialling
            self.refused += 1
            writer.transport.abort()
            up_writer.transport.abort()
            return
        self.relayed += 1
        self._links.update((writer, up_writer))
        try:
            await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))
        finally:
            for end in (writer, up_writer):
                self._links.discard(end)
                end.transport.abort()

    @staticmethod
    async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.transport.abort()

    async def _drop_all(self) -> None:
        self.is_cut = True
        for end in list(self._links):
            end.transport.abort()
        self._links.clear()

    def cut(self) -> None:
        self._call(self._drop_all())

    def restore(self) -> None:
        self.is_cut = False

    def stop(self) -> None:
        if self._loop is None:
            return

        async def close() -> None:
            await self._drop_all()
            if self._server is not None:
                self._server.close()

        try:
            self._call(close())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            if self._thread is not None:
                self._thread.join(timeout=5)
            self._loop.close()
            self._loop = None


# -- the migrated template database ----------------------------------------------------

_templates: dict[str, str] = {}  # PostgreSQL server URL -> this process's template database


def migrated_template(postgres_url: str, env: dict[str, str]) -> str:
    """The name of a database on `postgres_url` with every migration applied and nothing else,
    made once per process with the product's own `manage.py migrate` and dropped when the
    process exits. Each process (each pytest-xdist worker) has its own: PostgreSQL copies a
    template only while nobody else is connected to it."""
    if postgres_url in _templates:
        return _templates[postgres_url]
    import atexit

    import psycopg
    from psycopg import sql

    name = f"rt_cluster_template_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    atexit.register(drop_database, postgres_url, name)
    done = subprocess.run(
        [python(), "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env={**env, "DATABASE_URL": with_database(postgres_url, name)},
        capture_output=True,
        text=True,
        timeout=180,
    )
    if done.returncode != 0:
        raise ClusterError(f"manage.py migrate failed ({done.returncode}):\n{done.stderr}")
    _templates[postgres_url] = name
    return name


def drop_database(postgres_url: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    try:
        with psycopg.connect(postgres_url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
    except Exception:  # noqa: BLE001 - at exit, PostgreSQL may be gone already
        pass


# -- rooms and seats --------------------------------------------------------------------


@dataclass(frozen=True)
class SeatLink:
    name: str
    email: str
    sector: str
    role: str
    join_url: str

    @property
    def token(self) -> str:
        return urlsplit(self.join_url).path.rstrip("/").rsplit("/", 1)[-1]


@dataclass
class Room:
    slug: str
    rule: str
    seats: list[SeatLink] = field(default_factory=list)

    def in_sector(self, sector: str) -> list[SeatLink]:
        return [s for s in self.seats if s.sector == sector]


class ClusterError(RuntimeError):
    pass


def set_cookies(headers: http.client.HTTPMessage) -> dict[str, str]:
    """name -> value of every cookie a response sets."""
    cookies = SimpleCookie()
    for value in headers.get_all("Set-Cookie") or []:
        cookies.load(value)
    return {name: morsel.value for name, morsel in cookies.items()}


def cookie_header(jar: dict[str, str]) -> dict[str, str]:
    return {"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())} if jar else {}


# -- websocket peers --------------------------------------------------------------------


class Peer:
    """One websocket to one process; a reader task keeps every frame it receives."""

    def __init__(
        self, ws: Any, *, process: int, label: str, on_frame: Callable[[dict], None] | None = None
    ):
        self.ws = ws
        self.process = process
        self.label = label
        # Called with each frame as it arrives, for clients that react to frames (a gap).
        self.on_frame = on_frame
        self.frames: list[dict] = []
        self.closed: str | None = None
        self._changed = asyncio.Event()
        self._reader = asyncio.create_task(self._read(), name=f"peer-{label}")

    async def _read(self) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            async for text in self.ws:
                frame = json.loads(text)
                self.frames.append(frame)
                if self.on_frame is not None:
                    self.on_frame(frame)
                self._changed.set()
        except ConnectionClosed as exc:
            self.closed = f"closed: {exc}"
        except Exception as exc:  # noqa: BLE001 - reported by wait_for
            self.closed = f"reader failed: {exc!r}"
        else:
            self.closed = f"closed: code {self.ws.close_code} {self.ws.close_reason!r}"
        finally:
            self._changed.set()

    # what arrived

    def of_type(self, frame_type: str) -> list[dict]:
        return [f for f in self.frames if f.get("type") == frame_type]

    def first(self, frame_type: str) -> dict | None:
        return next((f for f in self.frames if f.get("type") == frame_type), None)

    def last(self, frame_type: str) -> dict | None:
        return next((f for f in reversed(self.frames) if f.get("type") == frame_type), None)

    @property
    def events(self) -> list[dict]:
        return self.of_type("event")

    @property
    def seqs(self) -> list[int]:
        return [f["seq"] for f in self.events]

    @property
    def acks(self) -> dict[str, int]:
        return {f["client_id"]: f["seq"] for f in self.of_type("ack")}

    @property
    def errors(self) -> list[dict]:
        return self.of_type("error")

    # talking

    async def send(self, frame: dict) -> None:
        await self.ws.send(json.dumps(frame))

    async def post(self, body: str, client_id: str | None = None) -> str:
        client_id = client_id or str(uuid.uuid4())
        await self.send({"type": "post", "client_id": client_id, "body": body})
        return client_id

    async def consent(self, rule: str = "chatham-house", timeout: float = 10) -> None:
        seen = len(self.frames)
        await self.send({"type": "consent", "rule": rule})
        answer = await self.wait_for(
            lambda p: next(
                (f for f in p.frames[seen:] if f.get("type") in {"consented", "error"}), None
            ),
            timeout,
            "consented",
        )
        if answer["type"] != "consented":
            raise AssertionError(f"{self.label}: consent refused: {answer}")

    async def wait_for(
        self, predicate: Callable[[Peer], Any], timeout: float = 10, what: str = ""
    ) -> Any:
        """Wait until predicate(self) is truthy and return it; fail with the frames seen."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            result = predicate(self)
            if result:
                return result
            remaining = deadline - loop.time()
            if self.closed or remaining <= 0:
                why = self.closed or f"nothing after {timeout}s"
                tail = self.frames[-5:]
                raise AssertionError(
                    f"{self.label}: waiting for {what or predicate}: {why}; "
                    f"{len(self.frames)} frames, the last ones: {tail}"
                )
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except TimeoutError:
                pass

    async def close(self) -> None:
        try:
            await asyncio.wait_for(self.ws.close(), 5)
        except Exception:  # noqa: BLE001 - closing is best effort
            pass
        self._reader.cancel()
        try:
            await self._reader
        except (asyncio.CancelledError, Exception):  # noqa: BLE001
            pass


# -- the cluster ------------------------------------------------------------------------


@dataclass
class Process:
    index: int
    port: int
    log_path: Path
    popen: subprocess.Popen

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""


class Cluster:
    """N Daphne processes on one fresh PostgreSQL database and one Redis key prefix."""

    def __init__(
        self,
        processes: int = 2,
        *,
        redis_url: str = REDIS_URL,
        postgres_url: str = POSTGRES_URL,
        env: dict[str, str] | None = None,
        startup_timeout: float = 60,
        database_via: tuple[str, int] | None = None,
    ):
        self.count = processes
        self.redis_url = redis_url
        self.postgres_url = postgres_url
        self.startup_timeout = startup_timeout
        tag = uuid.uuid4().hex[:10]
        self.db_name = f"rt_cluster_{tag}"
        self.prefix = f"rtc{tag}"
        self.database_url = with_database(postgres_url, self.db_name)
        # The Daphne processes may reach PostgreSQL through another address (a TcpProxy that
        # a test cuts); setup, `manage` and `room_log` keep the direct one.
        self.daphne_database_url = (
            with_address(self.database_url, *database_via) if database_via else self.database_url
        )
        self.workdir = Path(tempfile.mkdtemp(prefix="rt-cluster-"))
        self.processes: list[Process] = []
        self.stopped: list[Process] = []  # kept for their logs until the files are removed
        self.ports = [free_port() for _ in range(processes)]
        self.extra_env = dict(env or {})
        self._db_created = False

    # lifecycle

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                # The production settings, not the test suite's (pytest exports its own).
                "DJANGO_SETTINGS_MODULE": "forum.settings",
                "DATABASE_URL": self.database_url,
                "REDIS_URL": self.redis_url,
                "CHANNEL_PREFIX": self.prefix,
                "SECRET_KEY": "cluster-tests-only-secret-" + "x" * 40,
                "AUDIT_KEY": "cluster-tests-only-audit-key-" + "x" * 40,
                "DEBUG": "0",
                "ALLOWED_HOSTS": f"{HOST},localhost",
                "BASE_URL": f"http://{HOST}:{self.ports[0]}",
                "DATA_DIR": str(self.workdir / "data"),
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(self.extra_env)
        return env

    def daphne_env(self) -> dict[str, str]:
        return {**self.env(), "DATABASE_URL": self.daphne_database_url}

    def start(self) -> Cluster:
        try:
            self._create_database()
            for index, port in enumerate(self.ports):
                self.processes.append(self._spawn(index, port))
            for proc in self.processes:
                self._wait_healthy(proc)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, *, remove_files: bool = True) -> None:
        """Stop the processes, drop the database, delete the Redis keys (and the logs)."""
        for proc in self.processes:
            if proc.popen.poll() is None:
                proc.popen.send_signal(signal.SIGTERM)
        for proc in self.processes:
            try:
                proc.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.popen.kill()
                proc.popen.wait(timeout=5)
        self.stopped = list(self.processes)
        self.processes = []
        if self._db_created:
            self._drop_database()
        self._delete_redis_keys()
        if remove_files:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _create_database(self) -> None:
        """A fresh database with every migration applied: a copy of this process's migrated
        template (`manage.py migrate` into a new database once per process, not per cluster:
        it costs seconds of CPU and every cluster would run the same migrations)."""
        import psycopg
        from psycopg import sql

        template = migrated_template(self.postgres_url, self.env())
        with psycopg.connect(self.postgres_url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(self.db_name), sql.Identifier(template)
                )
            )
        self._db_created = True

    def _drop_database(self) -> None:
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.postgres_url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(self.db_name)
                )
            )
        self._db_created = False

    def _delete_redis_keys(self) -> None:
        import redis

        try:
            client = redis.Redis.from_url(self.redis_url, socket_timeout=5)
            try:
                keys = list(client.scan_iter(match=self.prefix + "*", count=500))
                for start in range(0, len(keys), 500):
                    client.delete(*keys[start : start + 500])
            finally:
                client.close()
        except Exception:  # noqa: BLE001 - keys expire by themselves (group_expiry)
            pass

    def kill(self, process: int, sig: int = signal.SIGKILL) -> None:
        """Signal one Daphne process (SIGKILL by default: no goodbye) and wait for it to go.
        It keeps its index and port; `restart` brings it back there."""
        popen = self.processes[process].popen
        if popen.poll() is None:
            popen.send_signal(sig)
        popen.wait(timeout=15)

    def restart(self, process: int) -> None:
        """Start process `process` again on its port (killing it first if it still runs)."""
        if self.processes[process].popen.poll() is None:
            self.kill(process)
        self.stopped.append(self.processes[process])  # its log stays readable
        self.processes[process] = self._spawn(process, self.ports[process])
        self._wait_healthy(self.processes[process])

    def _spawn(self, index: int, port: int) -> Process:
        log_path = self.workdir / f"daphne-{index}.log"
        # Appended to: a restarted process's log follows the killed one's.
        log = open(log_path, "ab")  # noqa: SIM115 - the child holds it
        try:
            popen = subprocess.Popen(
                [
                    python(),
                    "-m",
                    "daphne",
                    "-e",
                    f"tcp:port={port}:interface={HOST}:backlog=1024",
                    "forum.asgi:application",
                ],
                cwd=ROOT,
                env=self.daphne_env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        finally:
            log.close()
        return Process(index, port, log_path, popen)

    def _wait_healthy(self, proc: Process) -> None:
        deadline = time.monotonic() + self.startup_timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if proc.popen.poll() is not None:
                raise ClusterError(
                    f"daphne {proc.index} on port {proc.port} exited with "
                    f"{proc.popen.returncode}:\n" + proc.log()[-3000:]
                )
            try:
                status, _, body = self.http("GET", "/healthz", process=proc.index, timeout=5)
                if status == 200:
                    return
                last = f"{status} {body[:200]!r}"
            except OSError as exc:
                last = repr(exc)
            time.sleep(0.2)
        raise ClusterError(
            f"daphne {proc.index} on port {proc.port} not healthy after {self.startup_timeout}s "
            f"({last}):\n" + proc.log()[-3000:]
        )

    # setup through the product's own commands

    def manage(self, *args: str, timeout: float = 120) -> str:
        done = subprocess.run(
            [python(), "manage.py", *args],
            cwd=ROOT,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise ClusterError(
                f"manage.py {' '.join(args)} failed "
                f"({done.returncode}):\n{done.stdout}\n{done.stderr}"
            )
        return done.stdout

    def add_room(
        self,
        slug: str,
        *,
        rule: str = "open",
        seats_per_sector: int = 5,
        delegates: int = 5,
        title: str | None = None,
    ) -> Room:
        """Create a room with `delegates` delegates spread over the five sectors, in turn."""
        if delegates > seats_per_sector * len(SECTORS):
            raise ValueError("more delegates than seats")
        self.manage(
            "create_room",
            slug,
            title or f"Round table {slug}",
            "--rule",
            rule,
            "--seats-per-sector",
            str(seats_per_sector),
        )
        people = io.StringIO()
        writer = csv.writer(people)
        writer.writerow(["name", "email", "organization", "sector", "role"])
        for i in range(delegates):
            sector = SECTORS[i % len(SECTORS)]
            writer.writerow(
                [
                    f"Delegate {i:03d}",
                    f"d{i:03d}.{slug}@example.org",
                    f"Org of {sector}",
                    sector,
                    "delegate",
                ]
            )
        source = self.workdir / f"{slug}.csv"
        links = self.workdir / f"{slug}-links.csv"
        source.write_text(people.getvalue(), encoding="utf-8")
        self.manage(
            "import_participants",
            slug,
            str(source),
            "--out",
            str(links),
            "--base-url",
            f"http://{HOST}:{self.ports[0]}",
        )
        sector_of = {
            f"d{i:03d}.{slug}@example.org": SECTORS[i % len(SECTORS)] for i in range(delegates)
        }
        with open(links, newline="", encoding="utf-8") as fh:
            seats = [
                SeatLink(
                    row["name"], row["email"], sector_of[row["email"]], row["role"], row["join_url"]
                )
                for row in csv.DictReader(fh)
            ]
        if len(seats) != delegates or not all(s.join_url for s in seats):
            raise ClusterError(
                f"import_participants gave {len(seats)} links for {delegates} delegates"
            )
        return Room(slug, rule, seats)

    def room_log(self, slug: str) -> dict:
        """The room as the database holds it, read by a fresh `manage.py shell` (never through
        the Daphne processes under test): the counter, every RoomEvent's seq and kind, and every
        intervention's seq, client_id, status and public id."""
        code = (
            "import json\n"
            "from forum.models import Intervention, RoomEvent, RoundTable\n"
            f"room = RoundTable.objects.get(slug={slug!r})\n"
            "events = list(RoomEvent.objects.filter(room=room).order_by('seq')"
            ".values_list('seq', 'kind', 'participants__id'))\n"
            "posts = list(Intervention.objects.filter(room=room).order_by('seq')"
            ".values_list('seq', 'client_id', 'status', 'public_id'))\n"
            "print(json.dumps({'last_seq': room.last_seq,"
            " 'events': [list(e) for e in events],"
            " 'interventions': [[s, str(c), st, p] for s, c, st, p in posts]}))\n"
        )
        return json.loads(self.manage("shell", "-c", code).strip().splitlines()[-1])

    # HTTP

    def http(
        self,
        method: str,
        path: str,
        *,
        process: int = 0,
        headers: dict | None = None,
        timeout: float = 10,
        body: str | None = None,
    ) -> tuple[int, http.client.HTTPMessage, str]:
        """One request without following redirects or consulting proxy settings."""
        conn = http.client.HTTPConnection(HOST, self.ports[process], timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            body = response.read().decode("utf-8", "replace")
            return response.status, response.headers, body
        finally:
            conn.close()

    def post_form(
        self,
        path: str,
        fields: dict[str, str] | Callable[[str], dict[str, str]],
        *,
        process: int = 0,
        cookies: dict[str, str] | None = None,
    ) -> tuple[int, http.client.HTTPMessage, str]:
        """GET the page at `path` and send its form back as a browser would: with the CSRF
        cookie and token the page gave, `fields` (or what `fields(page)` picks from the page),
        and this site as the Origin."""
        jar = dict(cookies or {})
        status, headers, page = self.http("GET", path, process=process, headers=cookie_header(jar))
        if status != 200:
            raise ClusterError(f"GET {path} answered {status}: {page[:300]}")
        jar.update(set_cookies(headers))
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        if token is None or "csrftoken" not in jar:
            raise ClusterError(f"GET {path} gave no CSRF token")
        if callable(fields):
            fields = fields(page)
        body = urlencode({"csrfmiddlewaretoken": token.group(1), **fields})
        return self.http(
            "POST",
            path,
            process=process,
            body=body,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Origin": f"http://{HOST}:{self.ports[process]}",
                **cookie_header(jar),
            },
        )

    def sign_in(self, seat: SeatLink, *, process: int = 0) -> str:
        """Open the seat's join link and press its button (not following the redirect to
        the room); return the session id."""
        status, headers, body = self.post_form(urlsplit(seat.join_url).path, {}, process=process)
        if status != 302:
            raise ClusterError(f"join link of {seat.email} answered {status}: {body[:300]}")
        session = set_cookies(headers).get(SESSION_COOKIE)
        if not session:
            raise ClusterError(f"join link of {seat.email} set no session cookie")
        return session

    def sign_in_many(self, seats: Iterable[SeatLink], *, workers: int = 16) -> list[str]:
        """Sessions for many seats, 16 join clicks at a time (what once exhausted PostgreSQL
        connections: each ASGI request runs in its own thread), spread over the processes."""
        seats = list(seats)
        with ThreadPoolExecutor(max_workers=workers) as pool:
            return list(
                pool.map(
                    lambda pair: self.sign_in(pair[1], process=pair[0] % self.count),
                    enumerate(seats),
                )
            )

    # websockets

    async def connect(
        self,
        session: str,
        slug: str,
        *,
        process: int = 0,
        after: int | None = None,
        label: str | None = None,
        open_timeout: float = 30,
        on_frame: Callable[[dict], None] | None = None,
    ) -> Peer:
        from websockets.asyncio.client import connect

        port = self.ports[process]
        query = f"?after={after}" if after is not None else ""
        ws = await connect(
            f"ws://{HOST}:{port}/ws/rooms/{slug}/{query}",
            origin=f"http://{HOST}:{port}",
            additional_headers={"Cookie": f"{SESSION_COOKIE}={session}"},
            compression=None,
            proxy=None,
            open_timeout=open_timeout,
            max_size=2**20,
        )
        return Peer(ws, process=process, label=label or f"{slug}@{process}", on_frame=on_frame)

    # diagnostics

    def logs(self) -> dict[int, str]:
        procs = self.processes or self.stopped
        return {p.index: p.log() for p in procs}

    def alive(self) -> list[bool]:
        return [p.popen.poll() is None for p in self.processes]
