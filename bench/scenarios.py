"""The product alone, one Daphne process: a resume of many missed events, a join storm,
and many idle sockets. Each returns a dict of figures (printed by bench/report.py)."""

from __future__ import annotations

import asyncio
import time
from array import array

from .common import BenchError, loadavg, log, pcts
from .load import CONNECT_TIMEOUT, PIPE_TIMEOUT, Clients, Stream, Target, welcome_of, ws_connect
from .servers import Daphnes

RESUME_TARGET_S = 1.0
STORM_TARGET_S = 5.0
IDLE_TARGET_KIB = 50.0
RESUME_TIMEOUT = 60.0
IDLE_CONCURRENCY = 200  # handshakes in flight while the idle sockets connect
IDLE_SETTLE_SECONDS = 2.0  # the joins' presence broadcasts, before reading the memory


async def resume_once(target: Target) -> dict:
    """Connect with ?after=0 and read until the welcome's last_seq has arrived."""
    started = time.monotonic()
    async with ws_connect(target) as ws:
        welcome = await welcome_of(ws)
        welcomed = time.monotonic()
        last = int(welcome["last_seq"])
        stream = Stream()
        deadline = started + RESUME_TIMEOUT
        while stream.prev < last:
            text = await asyncio.wait_for(ws.recv(), max(0.01, deadline - time.monotonic()))
            stream.take(text, 0, None, None)
        done = time.monotonic()
    return {
        "seconds": done - started,  # handshake, welcome and the whole replay
        "replay_seconds": done - welcomed,
        "events": last,
        "received": stream.got,
        "gaps": stream.gap,
        "duplicates": stream.dupes,
    }


async def resume(daphnes: Daphnes, target: Target, runs: int = 3) -> dict:
    """The first run is the one judged: it pays for the room's hub and the process's first
    reads of the log, as a resume after a restart would. The later runs show the warm path."""
    results = []
    for _ in range(runs):
        cpu0 = sum(daphnes.cpu_by_process())
        try:
            result = await resume_once(target)
        except TimeoutError:
            raise BenchError(f"resume: not complete within {RESUME_TIMEOUT:.0f} s") from None
        result["server_cpu_s"] = sum(daphnes.cpu_by_process()) - cpu0
        results.append(result)
        await asyncio.sleep(0.5)
    first = results[0]
    complete = all(
        r["received"] == r["events"] and not r["gaps"] and not r["duplicates"] for r in results
    )
    return {
        "events": first["events"],
        "runs": results,
        "complete": complete,
        "seconds": first["seconds"],
        "target_s": RESUME_TARGET_S,
        "met": complete and first["seconds"] < RESUME_TARGET_S,
    }


def storm(daphnes: Daphnes, targets: list[Target], client_processes: int) -> dict:
    """Open every socket at once (no cap on handshakes in flight) and time the last welcome."""
    clients = Clients(client_processes)
    try:
        cpu0, load0 = daphnes.cpu_split(), loadavg()
        log(f"join storm: {len(targets)} sockets at once")
        ready = clients.connect(
            targets, len(targets), CONNECT_TIMEOUT + len(targets) * 0.1 + PIPE_TIMEOUT
        )
        cpu1 = daphnes.cpu_split()
    finally:
        clients.stop()
    welcomed = sum(r["welcomed"] for r in ready)
    started = min(r["started"] for r in ready)
    last = max(r["last_welcome"] for r in ready)
    connect_ms = array("d")
    for r in ready:
        connect_ms.frombytes(r["connect_ms"])
    seconds = last - started
    return {
        "sockets": len(targets),
        "welcomed": welcomed,
        "failed": [f for r in ready for f in r["failed"]][:3],
        "seconds": seconds,
        "connect_ms": pcts(sorted(connect_ms)),
        "server_cpu_s": sum(cpu1) - sum(cpu0),
        "server_cpu_loop_s": cpu1[0] - cpu0[0],  # the event loop's thread
        "server_cpu_threads_s": cpu1[1] - cpu0[1],  # database_sync_to_async and other threads
        "loadavg_1min": load0,
        "target_s": STORM_TARGET_S,
        "met": welcomed == len(targets) and seconds < STORM_TARGET_S,
    }


def idle(daphnes: Daphnes, warmup: Target, targets: list[Target], client_processes: int) -> dict:
    """Server memory per idle socket: RSS after the sockets joined minus RSS before, over
    their number. One socket joins first so that the room's hub, the process's database
    connection and the consumer's first imports are not counted as per-socket memory."""
    clients = Clients(client_processes)
    try:
        first = clients.connect([warmup], 1, CONNECT_TIMEOUT + PIPE_TIMEOUT)
        if sum(r["welcomed"] for r in first) != 1:
            raise BenchError(f"idle: the first socket was not welcomed: {first}")
        time.sleep(IDLE_SETTLE_SECONDS)
        before = daphnes.rss_kib()
        log(f"idle sockets: opening {len(targets)}, {IDLE_CONCURRENCY} handshakes in flight")
        started = time.monotonic()
        ready = clients.connect(
            targets, IDLE_CONCURRENCY, CONNECT_TIMEOUT + len(targets) * 0.1 + PIPE_TIMEOUT
        )
        took = time.monotonic() - started
        time.sleep(IDLE_SETTLE_SECONDS)
        after = daphnes.rss_kib()
        alive = daphnes.alive()
    finally:
        clients.stop()
    welcomed = sum(r["welcomed"] for r in ready)
    per = (after - before) / welcomed if welcomed else float("nan")
    connect_ms = array("d")
    for r in ready:
        connect_ms.frombytes(r["connect_ms"])
    return {
        "sockets": len(targets),
        "welcomed": welcomed,
        "failed": [f for r in ready for f in r["failed"]][:3],
        "connect_seconds": took,
        "connect_ms": pcts(sorted(connect_ms)),
        "rss_before_kib": before,
        "rss_after_kib": after,
        "kib_per_connection": per,
        "server_alive": alive,
        "target_kib": IDLE_TARGET_KIB,
        "met": welcomed == len(targets) and per < IDLE_TARGET_KIB,
    }
