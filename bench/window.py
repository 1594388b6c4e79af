"""One fan-out run against one server: connect, post for a while, drain, and summarise.

The same function runs the product and the two reference apps, so the three rows of the
table come from the same load: the same posters, rate, duration, listeners and client.
"""

from __future__ import annotations

import asyncio
import time
from array import array

from .common import BenchError, loadavg, log, pcts
from .load import PIPE_TIMEOUT, Clients, Posters, Target
from .servers import Daphnes

CONNECT_CONCURRENCY = 50  # handshakes in flight, over all client processes
SETTLE_SECONDS = 1.5  # lets the join storm's presence broadcasts pass before measuring
DRAIN_TIMEOUT = 20.0


async def fanout_window(
    name: str,
    daphnes: Daphnes,
    posters: list[Target],
    listeners: list[Target],
    *,
    rate: float,
    duration: float,
    client_processes: int,
) -> dict:
    """Run the load against `daphnes`; return the raw figures (see `summarise`)."""
    raw: dict = {
        "name": name,
        "processes": len(daphnes.procs),
        "requested": len(listeners),
        "posters": len(posters),
        "rate": rate,
        "duration": duration,
    }
    poster_group = Posters(posters)
    await poster_group.connect()
    await asyncio.sleep(0.5)
    raw["rss_before_kib"] = daphnes.rss_kib()
    clients = Clients(client_processes)
    try:
        log(f"{name}: opening {len(listeners)} listener sockets")
        timeout = 60 + len(listeners) * 0.2 + PIPE_TIMEOUT
        ready = await asyncio.to_thread(clients.connect, listeners, CONNECT_CONCURRENCY, timeout)
        raw["welcomed"] = sum(r["welcomed"] for r in ready)
        raw["connect_failures"] = [f for r in ready for f in r["failed"]]
        connect_ms = array("d")
        for r in ready:
            connect_ms.frombytes(r["connect_ms"])
        raw["connect_ms"] = pcts(sorted(connect_ms))
        log(f"{name}: {raw['welcomed']} listeners welcomed")
        if raw["welcomed"] == 0:
            raise BenchError(f"{name}: no listener was welcomed: {raw['connect_failures'][:1]}")
        await asyncio.sleep(SETTLE_SECONDS)
        raw["rss_after_kib"] = daphnes.rss_kib()
        if not daphnes.alive():
            raise BenchError(f"{name}: the server died:\n{daphnes.log_tail()}")

        await asyncio.to_thread(clients.command, "mark", PIPE_TIMEOUT)
        cpu0, wall0, epoch0, load0 = (
            daphnes.cpu_by_process(),
            time.monotonic(),
            time.time(),
            loadavg(),
        )
        start_seq = max(s.prev for s in poster_group.out.streams)
        log(
            f"{name}: posting {max(1, round(rate * duration))} interventions at {rate:g}/s "
            f"from {len(posters)} sockets"
        )
        raw["post_span"] = await poster_group.post(rate, duration)
        await poster_group.wait_acks()
        out = poster_group.out
        # Every post that is not refused makes exactly one event in all three servers, so
        # this is the seq a server that loses nothing reaches; a post never acknowledged
        # counts as lost for every socket.
        final = start_seq + out.sent - len(out.refused)
        await asyncio.to_thread(
            clients.command,
            "drain",
            DRAIN_TIMEOUT + PIPE_TIMEOUT,
            final_seq=final,
            timeout=DRAIN_TIMEOUT,
        )
        cpu1, wall1, epoch1, load1 = (
            daphnes.cpu_by_process(),
            time.monotonic(),
            time.time(),
            loadavg(),
        )
        raw["reports"] = await asyncio.to_thread(clients.command, "report", PIPE_TIMEOUT)
    finally:
        await poster_group.close()
        await asyncio.to_thread(clients.stop)
    raw.update(
        final_seq=final,
        start_seq=start_seq,
        posted=out,
        cpu_by_process=[b - a for a, b in zip(cpu0, cpu1, strict=True)],
        window_s=wall1 - wall0,
        loadavg=[load0, load1],
        gc=daphnes.gc_pauses(epoch0, epoch1),
        poster_processes=[t.process for t in posters],
    )
    return raw


def summarise(raw: dict) -> dict:
    """The figures of one run, as printed and written to --json."""
    reports, out, final = raw["reports"], raw["posted"], raw["final_seq"]
    latencies, seqs = array("q"), array("q")
    for r in reports:
        latencies.frombytes(r["latencies_us"])
        seqs.frombytes(r["seqs"])
    # Per post: when its first listener got it, and how long the fan-out to all took.
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    for seq, us in zip(seqs, latencies, strict=True):
        if us < first.get(seq, 1 << 62):
            first[seq] = us
        if us > last.get(seq, -1):
            last[seq] = us

    def total(key: str) -> int:
        return sum(r[key] for r in reports)

    # Frames written to sockets: the listeners', and the posters' own copies of the events.
    frames_by_process: dict[int, int] = {}
    for r in reports:
        for process, n in r["delivered_by_process"].items():
            frames_by_process[int(process)] = frames_by_process.get(int(process), 0) + n
    for process, stream in zip(raw["poster_processes"], out.streams, strict=True):
        n = min(stream.got, max(0, final - stream.first_after))
        frames_by_process[process] = frames_by_process.get(process, 0) + n
    frames = sum(frames_by_process.values())
    cpu = raw["cpu_by_process"]
    welcomed = raw["welcomed"]
    delivered, expected = total("delivered"), total("expected")
    gc = raw["gc"]
    return {
        "name": raw["name"],
        "processes": raw["processes"],
        "listeners_requested": raw["requested"],
        "listeners": welcomed,
        "posters": raw["posters"],
        "rate_per_s": raw["rate"],
        "duration_s": raw["duration"],
        "posts_sent": out.sent,
        "posts_acked": len(out.acks),
        "posts_refused": len(out.refused),
        "refused_sample": out.refused[:1],
        "seq_range": [raw["start_seq"] + 1, final],
        "expected": expected,
        "delivered": delivered,
        "lost": expected - delivered,
        # Of those, not skipped in any stream but still on their way when the window closed.
        "late": expected - delivered - total("gaps"),
        "gaps": total("gaps"),
        "duplicates": total("dupes"),
        "sockets_closed_early": total("closed_early"),
        "error_frames": total("errors"),
        "error_sample": next((r["error_sample"] for r in reports if r["error_sample"]), ""),
        "connect_failures": raw["connect_failures"][:3],
        "latency_samples": len(latencies),
        "latency_ms": pcts(sorted(v / 1000 for v in latencies)),
        "first_delivery_ms": pcts(sorted(v / 1000 for v in first.values())),
        "fanout_spread_ms": pcts(sorted((last[k] - first[k]) / 1000 for k in first)),
        "ack_ms": pcts(sorted(out.ack_ms)),
        "connect_ms": raw["connect_ms"],
        "window_s": raw["window_s"],
        "server_cpu_s": sum(cpu),
        "server_cpu_s_by_process": cpu,
        "frames_written": frames,
        "cpu_ms_per_frame": 1000 * sum(cpu) / frames if frames else float("nan"),
        "cpu_ms_per_frame_by_process": [
            1000 * c / frames_by_process[i] if frames_by_process.get(i) else float("nan")
            for i, c in enumerate(cpu)
        ],
        "rss_before_kib": raw["rss_before_kib"],
        "rss_after_kib": raw["rss_after_kib"],
        "kib_per_connection": (raw["rss_after_kib"] - raw["rss_before_kib"]) / welcomed
        if welcomed
        else float("nan"),
        "server_gc": {
            "full_collections": sum(1 for g, _ in gc if g == 2),
            "pauses_over_5ms": sum(1 for _, ms in gc if ms >= 5),
            "longest_ms": max((ms for _, ms in gc), default=0.0),
        },
        "client_cpu_window_s": [r["cpu_window"] for r in reports],
        "loadavg_1min_start_end": raw["loadavg"],
        # One row per post: seq, sent (s into the window), ack, first and last delivery (ms).
        "per_post": [
            [
                k,
                round(out.sent_by_seq.get(k, float("nan")), 3),
                round(out.ack_by_seq.get(k, float("nan")), 1),
                round(first[k] / 1000, 1),
                round(last[k] / 1000, 1),
            ]
            for k in sorted(first)
        ],
    }
