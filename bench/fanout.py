"""Fan-out benchmark: the product against two reference apps under the same load, then the
product's resume, join storm and idle-socket figures. See bench/README.md.

Run by `make bench` (`make bench BENCH_QUICK=1` for a quick look). It builds its own
embedded server in a temporary directory (SQLite, in-memory channel layer, one Daphne
process), imports the participants, and for each server under test opens the listener
sockets, posts from P posters at a fixed total rate, and reports loss, latency, connect
time, server CPU per delivered frame and server memory per connection, in one table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench import report, scenarios  # noqa: E402
from bench.common import BenchError, fd_limit, json_safe, log, raise_fd_limit  # noqa: E402
from bench.load import Target  # noqa: E402
from bench.servers import Daphnes, ProductSite, sign_in  # noqa: E402
from bench.window import fanout_window, summarise  # noqa: E402

SERVERS = {
    "project": None,  # the product: forum.asgi:application on the site's database
    "channels": "bench.refapps.channels_broadcast:application",
    "raw": "bench.refapps.daphne_raw:application",
}
SCENARIOS = ("resume", "storm", "idle")
MAX_DELEGATES = 5000  # five sectors of at most 1,000 seats
QUICK = {"listeners": 100, "duration": 5.0, "resume_events": 1000, "storm": 200, "idle": 500}
FULL = {"listeners": 1000, "duration": 30.0, "resume_events": 10_000, "storm": 1000, "idle": 5000}


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--quick",
        action="store_true",
        help="a quick look: 100 listeners, 5 s, 1,000 events to resume, a storm of 200, 500 idle",
    )
    p.add_argument("--listeners", type=int, help="listening sockets (default 1000)")
    p.add_argument("--posters", type=int, default=10, help="posting sockets (default 10)")
    p.add_argument(
        "--rate", type=float, default=5.0, help="posts per second over all posters (default 5)"
    )
    p.add_argument("--duration", type=float, help="seconds of posting (default 30)")
    p.add_argument(
        "--servers",
        default=None,
        help="comma-separated: project,channels,raw (default all three; project with "
        "--processes > 1)",
    )
    p.add_argument(
        "--scenarios",
        default=None,
        help="comma-separated: resume,storm,idle, or none (default all; none with --processes > 1)",
    )
    p.add_argument("--resume-events", type=int, help="events to resume (default 10000)")
    p.add_argument("--storm", type=int, help="sockets of the join storm (default 1000)")
    p.add_argument("--idle", type=int, help="idle sockets on one process (default 5000)")
    p.add_argument("--redis", metavar="URL", help="the product uses channels-redis at URL")
    p.add_argument(
        "--database-url",
        metavar="URL",
        help="the product uses this (empty, disposable) database instead of a temporary "
        "SQLite file",
    )
    p.add_argument(
        "--processes",
        type=int,
        default=1,
        help="Daphne processes of the product (more than 1 needs --redis and PostgreSQL)",
    )
    p.add_argument(
        "--client-processes", type=int, default=1, help="processes the listeners are spread over"
    )
    p.add_argument("--room", default="bench-room", help="room slug (default bench-room)")
    p.add_argument("--json", metavar="FILE", help="also write every figure to FILE as JSON")
    p.add_argument(
        "--gc-threshold0",
        type=int,
        metavar="N",
        help="GC_THRESHOLD0 for every Daphne process (the product's default is 100000)",
    )
    p.add_argument(
        "--profile", metavar="FILE", help="run the product's first Daphne process under cProfile"
    )
    args = p.parse_args(argv)
    for key, value in (QUICK if args.quick else FULL).items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    scale_out = args.processes > 1
    args.servers = _choices(
        p, "--servers", args.servers or ("project" if scale_out else ",".join(SERVERS)), SERVERS
    )
    args.scenarios = _choices(
        p,
        "--scenarios",
        args.scenarios or ("none" if scale_out else ",".join(SCENARIOS)),
        SCENARIOS,
    )
    if not 1 <= args.posters <= 50:
        p.error("--posters must be between 1 and 50")
    if not 0 < args.rate <= 200 or not 0 < args.duration <= 600:
        p.error("--rate must be in (0, 200] and --duration in (0, 600]")
    if not 1 <= args.processes <= 8 or not 1 <= args.client_processes <= 8:
        p.error("--processes and --client-processes must be between 1 and 8")
    if args.listeners < 1 or args.resume_events < 1 or args.storm < 1 or args.idle < 1:
        p.error("--listeners, --resume-events, --storm and --idle must be positive")
    if delegates_needed(args) > MAX_DELEGATES:
        p.error(f"--listeners, --storm and --idle may not need more than {MAX_DELEGATES} seats")
    if scale_out:
        if not args.redis or not urlsplit(args.database_url or "").scheme.startswith("postgres"):
            p.error("--processes above 1 needs --redis URL and a PostgreSQL --database-url")
        if set(args.servers) - {"project"} or args.scenarios:
            p.error(
                "the reference apps and the scenarios run on one process: with --processes above 1 "
                "use --servers project --scenarios none (the defaults)"
            )
    for url in (args.redis, args.database_url):
        host = urlsplit(url).hostname if url else None
        if host is not None and host not in ("127.0.0.1", "localhost"):
            p.error(f"this benchmark only talks to 127.0.0.1, not {host}")
    return args


def _choices(p: argparse.ArgumentParser, option: str, value: str, known) -> list[str]:
    chosen = [] if value == "none" else [v.strip() for v in value.split(",") if v.strip()]
    unknown = [v for v in chosen if v not in known]
    if unknown:
        p.error(f"{option}: unknown {', '.join(unknown)} (choose from {', '.join(known)})")
    return [v for v in known if v in chosen]  # in the usual order


def delegates_needed(args: argparse.Namespace) -> int:
    need = args.listeners if "project" in args.servers else 0
    if "storm" in args.scenarios:
        need = max(need, args.storm)
    if "idle" in args.scenarios:
        need = max(need, args.idle)
    return max(need, 1)


class Setup:
    """The site and what was prepared in it: join links, sessions, timings."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.site = ProductSite(
            database_url=args.database_url, redis_url=args.redis, gc_threshold0=args.gc_threshold0
        )
        self.notes: list[str] = []
        self.poster_urls: list[str] = []
        self.listener_urls: list[str] = []
        self.session_cookies: list[str] = []
        self.resume_cookie = ""
        self.warmup_cookie = ""

    def prepare(self) -> None:
        args, site = self.args, self.site
        if "project" not in args.servers and not args.scenarios:
            return  # the reference apps need no database
        base = "http://127.0.0.1"  # only the links' paths are used
        site.migrate()
        delegates = delegates_needed(args)
        started = time.monotonic()
        site.create_room(
            args.room, seats_per_sector=max(10, math.ceil(delegates / 5)), base_url=base
        )
        urls = site.import_seats(
            args.room, "bench", delegates=delegates, moderators=args.posters, base_url=base
        )
        self.notes.append(
            f"{delegates + args.posters} seats imported in {time.monotonic() - started:.0f} s"
        )
        self.poster_urls, self.listener_urls = urls[: args.posters], urls[args.posters :]
        tokens = []
        if "storm" in args.scenarios or "idle" in args.scenarios:
            # The first poster's seat opens the idle scenario's warm-up socket.
            tokens = [self.poster_urls[0]] + self.listener_urls[
                : max(
                    args.storm if "storm" in args.scenarios else 0,
                    args.idle if "idle" in args.scenarios else 0,
                )
            ]
        if "resume" in args.scenarios:
            room = f"{args.room}-resume"
            site.create_room(room, seats_per_sector=10, base_url=base)
            poster, reader = site.import_seats(
                room, "resume", delegates=2, moderators=0, base_url=base
            )
            log(f"posting {args.resume_events} interventions to {room} through the service")
            took = site.post_events(room, poster, args.resume_events)
            self.notes.append(
                f"{args.resume_events} events posted through intervention_post in {took:.0f} s"
            )
            tokens = [*tokens, reader]
        if tokens:
            log(f"creating {len(tokens)} sessions as the join view does")
            cookies, took = site.sessions(tokens)
            self.notes.append(f"{len(tokens)} sessions created in one process in {took:.0f} s")
            if "resume" in args.scenarios:
                self.resume_cookie = cookies.pop()
            if cookies:
                self.warmup_cookie, *self.session_cookies = cookies

    def product_targets(
        self, daphnes: Daphnes, cookies: list[str], room: str, query: str = ""
    ) -> list[Target]:
        n = len(daphnes.ports)
        return [
            Target(
                f"ws://127.0.0.1:{daphnes.ports[i % n]}/ws/rooms/{room}/{query}",
                f"http://127.0.0.1:{daphnes.ports[i % n]}",
                cookie,
                i % n,
            )
            for i, cookie in enumerate(cookies)
        ]


def run_project(setup: Setup) -> dict:
    args = setup.args
    urls = setup.poster_urls + setup.listener_urls[: args.listeners]
    signing = setup.site.daphnes(args.processes)
    try:
        log(f"signing in {len(urls)} seats over HTTP")
        signing.start()
        ports = [signing.ports[i % args.processes] for i in range(len(urls))]
        with ThreadPoolExecutor(max_workers=8) as pool:
            cookies = list(pool.map(sign_in, ports, urls))
    finally:
        signing.stop()
    # Fresh processes for the measurement, as for the reference apps: memory that the
    # sign-ins allocated and freed would otherwise hide part of what the sockets cost.
    daphnes = setup.site.daphnes(args.processes, args.profile)
    try:
        log(f"starting {args.processes} Daphne process(es) of the product")
        daphnes.start()
        # Posters and listeners alike are dealt round-robin over the processes.
        targets = setup.product_targets(daphnes, cookies, args.room)
        posters, listeners = targets[: args.posters], targets[args.posters :]
        return summarise(
            asyncio.run(
                fanout_window(
                    "project",
                    daphnes,
                    posters,
                    listeners,
                    rate=args.rate,
                    duration=args.duration,
                    client_processes=args.client_processes,
                )
            )
        )
    finally:
        daphnes.stop()


def run_reference(setup: Setup, name: str) -> dict:
    args = setup.args
    daphnes = Daphnes(SERVERS[name], setup.site.env, setup.site.tmp, name=name)
    try:
        log(f"starting the reference app {name}")
        daphnes.start()
        port = daphnes.ports[0]
        # No sign-in: the reference apps have no auth and accept any path.
        target = Target(f"ws://127.0.0.1:{port}/ws/rooms/{args.room}/", f"http://127.0.0.1:{port}")
        return summarise(
            asyncio.run(
                fanout_window(
                    name,
                    daphnes,
                    [target] * args.posters,
                    [target] * args.listeners,
                    rate=args.rate,
                    duration=args.duration,
                    client_processes=args.client_processes,
                )
            )
        )
    finally:
        daphnes.stop()


def run_scenarios(setup: Setup) -> dict:
    args, site, out = setup.args, setup.site, {}
    if "resume" in args.scenarios or "storm" in args.scenarios:
        daphnes = site.daphnes().start()
        try:
            if "resume" in args.scenarios:
                log(f"resume: {args.resume_events} events with ?after=0")
                target = setup.product_targets(
                    daphnes, [setup.resume_cookie], f"{args.room}-resume", "?after=0"
                )[0]
                out["resume"] = asyncio.run(scenarios.resume(daphnes, target))
            if "storm" in args.scenarios:
                targets = setup.product_targets(
                    daphnes, setup.session_cookies[: args.storm], args.room
                )
                out["storm"] = scenarios.storm(daphnes, targets, args.client_processes)
        finally:
            daphnes.stop()
    if "idle" in args.scenarios:
        if fd_limit() < args.idle + 200:
            raise BenchError(
                f"idle: {args.idle} sockets need more open files than the limit ({fd_limit()})"
            )
        daphnes = site.daphnes().start()  # a fresh process: nothing freed earlier hides the cost
        try:
            targets = setup.product_targets(
                daphnes, [setup.warmup_cookie, *setup.session_cookies[: args.idle]], args.room
            )
            out["idle"] = scenarios.idle(daphnes, targets[0], targets[1:], args.client_processes)
        finally:
            daphnes.stop()
    return out


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    raise_fd_limit()  # inherited by Daphne and the client processes
    signal.signal(signal.SIGTERM, _interrupt)  # stop as on Ctrl-C: clean up, then exit
    setup = Setup(args)
    started = time.monotonic()
    try:
        setup.prepare()
        rows = []
        for name in args.servers:
            rows.append(run_project(setup) if name == "project" else run_reference(setup, name))
        found = run_scenarios(setup)
        setup.notes.append(f"whole run {time.monotonic() - started:.0f} s")
        report.print_report(rows, found, os.cpu_count() or 0, setup.notes)
        if args.json:
            document = {
                "date": datetime.now(UTC).isoformat(timespec="seconds"),
                "command": " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
                "cpus": os.cpu_count(),
                "database": "postgresql" if args.database_url else "sqlite",
                "channel_layer": "redis" if args.redis else "in-memory",
                "fanout": rows,
                "scenarios": found,
                "setup": setup.notes,
            }
            Path(args.json).write_text(json.dumps(json_safe(document), indent=2) + "\n")
        complete = all(
            r["lost"] == 0 and r["duplicates"] == 0 and r["listeners"] == r["listeners_requested"]
            for r in rows
            if r["name"] == "project"
        )
        return 0 if complete else 1
    except BenchError as exc:
        log(f"failed: {exc}")
        return 2
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        setup.site.cleanup()


if __name__ == "__main__":
    sys.exit(main())
