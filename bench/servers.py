"""The servers under test: Daphne processes, and the product's throw-away site around them.

`Daphnes` starts N Daphne processes serving one ASGI app (the product's
`forum.asgi:application` or a reference app in bench/refapps/) and reads their own
accounting from /proc: CPU seconds and resident memory. `ProductSite` is the embedded
setup of `make run` in a temporary directory: the database, the rooms, the participants,
their join links and sessions.
"""

from __future__ import annotations

import csv
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from .common import BenchError, free_port, log, proc_cpu_seconds, proc_cpu_split, proc_rss_kib

REPO = Path(__file__).resolve().parent.parent
SECTORS = ("government", "intergovernmental", "civil-society", "private-sector", "academia")
HEALTH_TIMEOUT = 60.0
PRODUCT_APP = "forum.asgi:application"
IMPORT_ROWS_PER_FILE = 5000  # import_participants' own limit per file

# Loaded into every Daphne process under test (PYTHONPATH), never into the product: records
# the garbage collector's pauses, which show up as latency tails.
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


class Daphnes:
    """`count` Daphne processes serving `app`, each on a free port of 127.0.0.1."""

    def __init__(
        self,
        app: str,
        env: dict[str, str],
        workdir: Path,
        *,
        count: int = 1,
        name: str = "daphne",
        profile: str | None = None,
    ):
        self.app = app
        self.workdir = workdir
        self.name = name
        self.profile = profile
        self.ports = [free_port() for _ in range(count)]
        self.procs: list[subprocess.Popen] = []
        probe = workdir / "gcprobe"
        probe.mkdir(parents=True, exist_ok=True)
        (probe / "sitecustomize.py").write_text(GC_PROBE)
        self.gc_log = workdir / f"gc-{name}"
        self.env = dict(env)
        self.env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(probe), env.get("PYTHONPATH")]))
        self.env["BENCH_GC_LOG"] = str(self.gc_log)

    def url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.ports[index]}"

    def start(self) -> Daphnes:
        for index, port in enumerate(self.ports):
            cmd = [
                sys.executable,
                "-m",
                "daphne",
                "-e",
                f"tcp:port={port}:interface=127.0.0.1:backlog=1024",
                self.app,
            ]
            if index == 0 and self.profile:
                cmd[1:1] = ["-m", "cProfile", "-o", str(Path(self.profile).resolve())]
            with open(self.workdir / f"{self.name}-{index}.log", "wb") as out:
                self.procs.append(
                    subprocess.Popen(
                        cmd, cwd=REPO, env=self.env, stdout=out, stderr=subprocess.STDOUT
                    )
                )
        for index in range(len(self.procs)):
            self.wait_healthy(index)
        return self

    def wait_healthy(self, index: int) -> None:
        deadline = time.monotonic() + HEALTH_TIMEOUT
        last = "no answer"
        while time.monotonic() < deadline:
            if self.procs[index].poll() is not None:
                raise BenchError(f"{self.name} {index} exited:\n{self.log_tail(index)}")
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
        raise BenchError(f"{self.name} {index} not healthy after {HEALTH_TIMEOUT:.0f} s ({last})")

    def log_tail(self, index: int = 0, chars: int = 3000) -> str:
        try:
            return (self.workdir / f"{self.name}-{index}.log").read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def cpu_by_process(self) -> list[float]:
        return [proc_cpu_seconds(p.pid) for p in self.procs]

    def cpu_split(self) -> tuple[float, float]:
        """(event-loop threads, other threads) CPU seconds, summed over the processes."""
        splits = [proc_cpu_split(p.pid) for p in self.procs]
        return sum(s[0] for s in splits), sum(s[1] for s in splits)

    def rss_kib(self) -> int:
        return sum(proc_rss_kib(p.pid) for p in self.procs)

    def alive(self) -> bool:
        return all(p.poll() is None for p in self.procs)

    def gc_pauses(self, start: float, end: float) -> list[tuple[int, float]]:
        """(generation, ms) of the collections between two time.time() stamps."""
        pauses = []
        for path in self.workdir.glob(f"{self.gc_log.name}.*"):
            for line in path.read_text().splitlines():
                at, generation, ms = line.split()
                if start <= float(at) <= end:
                    pauses.append((int(generation), float(ms)))
        return pauses

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
        self.procs = []


class ProductSite:
    """A temporary data directory with the rooms and participants the benchmarks use."""

    def __init__(
        self, *, database_url: str | None, redis_url: str | None, gc_threshold0: int | None
    ):
        self.tmp = Path(tempfile.mkdtemp(prefix="roundtables-bench-"))
        self.redis_url = redis_url
        self.env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
        self.env.pop("DJANGO_SETTINGS_MODULE", None)
        self.env.update(
            DATA_DIR=str(self.tmp / "data"),
            SECRET_KEY="bench-" + secrets.token_hex(24),
            AUDIT_KEY="bench-audit-" + secrets.token_hex(24),
            DEBUG="0",
            ALLOWED_HOSTS="127.0.0.1",
            LOG_LEVEL="WARNING",
            CHANNEL_PREFIX=f"rtbench{os.getpid()}x{secrets.token_hex(3)}",
            PYTHONUNBUFFERED="1",
        )
        if database_url:
            self.env["DATABASE_URL"] = database_url
        if redis_url:
            self.env["REDIS_URL"] = redis_url
        if gc_threshold0:
            self.env["GC_THRESHOLD0"] = str(gc_threshold0)

    def daphnes(self, count: int = 1, profile: str | None = None) -> Daphnes:
        return Daphnes(
            PRODUCT_APP, self.env, self.tmp, count=count, name="product", profile=profile
        )

    def manage(self, *argv: str, env: dict[str, str] | None = None, timeout: float = 900) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *argv],
            check=False,
            cwd=REPO,
            env={**self.env, **(env or {})},
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise BenchError(f"manage.py {argv[0]} failed:\n{done.stderr.strip()[-3000:]}")
        return done.stdout

    def shell(self, code: str, env: dict[str, str] | None = None) -> str:
        """Run `code` in `manage.py shell -c` with the bench package importable."""
        prelude = f"import sys; sys.path.insert(0, {str(REPO)!r}); "
        return self.manage("shell", "-c", prelude + code, env=env)

    def migrate(self) -> None:
        log("migrating the database")
        self.manage("migrate", "--noinput", "-v0")

    def create_room(self, slug: str, *, seats_per_sector: int, base_url: str) -> None:
        try:
            self.manage(
                "create_room",
                slug,
                f"Bench {slug}",
                "--rule",
                "open",
                "--seats-per-sector",
                str(seats_per_sector),
                env={"BASE_URL": base_url},
            )
        except BenchError as exc:
            if "already exists" in str(exc):
                raise BenchError(f"{exc}\nUse a fresh database, or another --room.") from None
            raise

    def import_seats(
        self, slug: str, prefix: str, *, delegates: int, moderators: int, base_url: str
    ) -> list[str]:
        """Import `moderators` moderator seats, then `delegates` delegate seats spread over
        the five sectors; return their join URLs in that order."""
        rows = []
        for i in range(moderators + delegates):
            sector = SECTORS[i % len(SECTORS)]
            role = "moderator" if i < moderators else "delegate"
            rows.append(
                [
                    f"{prefix} {i:05d}",
                    f"{prefix}-{i:05d}@example.org",
                    f"Bench {sector} organization",
                    sector,
                    role,
                ]
            )
        log(f"importing {len(rows)} participants into {slug}")
        by_email: dict[str, str] = {}
        for start in range(0, len(rows), IMPORT_ROWS_PER_FILE):
            by_email.update(
                self._import(slug, rows[start : start + IMPORT_ROWS_PER_FILE], base_url, start)
            )
        urls = [by_email.get(row[1], "") for row in rows]
        if not all(urls):
            raise BenchError(
                f"import_participants did not print a join link for every seat of {slug}"
            )
        return urls

    def _import(self, slug: str, rows: list[list[str]], base_url: str, part: int) -> dict[str, str]:
        source = self.tmp / f"{slug}-participants-{part}.csv"
        links = self.tmp / f"{slug}-links-{part}.csv"
        with open(source, "w", newline="", encoding="utf-8") as f:
            writer = csv.writer(f)
            writer.writerow(["name", "email", "organization", "sector", "role"])
            writer.writerows(rows)
        self.manage(
            "import_participants", slug, str(source), "--out", str(links), "--base-url", base_url
        )
        with open(links, newline="", encoding="utf-8") as f:
            return {r["email"]: r["join_url"] for r in csv.DictReader(f)}

    def post_events(self, slug: str, join_url: str, count: int) -> float:
        """Post `count` interventions through the real service; return the seconds it took."""
        token = urlsplit(join_url).path.rstrip("/").rsplit("/", 1)[-1]
        started = time.monotonic()
        out = self.shell(
            f"from bench.django_side import post_events; post_events({token!r}, {count})",
            env={"POST_BURST": "1000000", "POST_REFILL_SECONDS": "0.001"},
        )
        if f"posted {count}" not in out:
            raise BenchError(f"posting {count} events in {slug} failed: {out[-500:]}")
        return time.monotonic() - started

    def sessions(self, join_urls: list[str]) -> tuple[list[str], float]:
        """Sign seats in without HTTP: one process logs each seat's user in as the join view
        does (bench/django_side.py). Return the Cookie header values and the seconds taken."""
        tokens = self.tmp / "tokens.json"
        tokens.write_text(
            json.dumps([urlsplit(u).path.rstrip("/").rsplit("/", 1)[-1] for u in join_urls])
        )
        started = time.monotonic()
        out = self.shell(f"from bench.django_side import sign_in_all; sign_in_all({str(tokens)!r})")
        keys = json.loads(out.strip().splitlines()[-1])
        if len(keys) != len(join_urls):
            raise BenchError(f"{len(keys)} sessions created for {len(join_urls)} seats")
        return [f"sessionid={key}" for key in keys], time.monotonic() - started

    def cleanup(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)
        if self.redis_url:
            self.forget_redis_keys()

    def forget_redis_keys(self) -> None:
        """Drop this run's channel-layer keys (they would expire by themselves anyway)."""
        try:
            import redis

            client = redis.Redis.from_url(self.redis_url, socket_timeout=5)
            keys = list(client.scan_iter(match=self.env["CHANNEL_PREFIX"] + "*", count=500))
            if keys:
                client.delete(*keys[:10_000])
            client.close()
        except Exception as exc:  # noqa: BLE001 - best effort
            log(f"could not remove this run's Redis keys: {exc}")


def sign_in(port: int, join_url: str) -> str:
    """Open /join/<token>/ and press its button (the page's CSRF-checked POST), not following
    the redirect to the room; return the Cookie header value of the session."""
    path = urlsplit(join_url).path
    error = "no answer"
    for _attempt in range(3):
        try:
            status, headers, page = _request(port, "GET", path)
            csrf = next((c for c in _cookies(headers) if c.startswith("csrftoken=")), None)
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
            if status != 200 or csrf is None or token is None:
                raise BenchError(f"GET {path} answered {status} without the join form")
            status, headers, _ = _request(
                port,
                "POST",
                path,
                body=urlencode({"csrfmiddlewaretoken": token.group(1)}),
                headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Cookie": csrf,
                    "Origin": f"http://127.0.0.1:{port}",
                },
            )
        except OSError as exc:
            error = str(exc)
            time.sleep(0.2)
            continue
        if status not in (301, 302, 303):
            raise BenchError(f"POST {path} answered {status}, not a redirect")
        for cookie in _cookies(headers):
            if cookie.startswith("sessionid="):
                return cookie
        raise BenchError(f"POST {path} set no sessionid cookie")
    raise BenchError(f"GET {path} failed: {error}")


def _request(
    port: int, method: str, path: str, body: str | None = None, headers: dict | None = None
):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.headers, resp.read().decode("utf-8", "replace")
    finally:
        conn.close()


def _cookies(headers) -> list[str]:
    """The name=value part of every Set-Cookie."""
    return [header.split(";", 1)[0] for header in headers.get_all("Set-Cookie") or []]
