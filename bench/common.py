"""Small helpers shared by the benchmark modules: logging, /proc readings, percentiles."""

from __future__ import annotations

import math
import os
import resource
import socket
import sys
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


class BenchError(Exception):
    """The setup or a run failed in a way that makes its figures meaningless."""


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


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


def proc_cpu_split(pid: int) -> tuple[float, float]:
    """(event-loop thread, every other thread) CPU seconds of a process. Daphne's main
    thread runs the event loop; database_sync_to_async work runs in worker threads."""
    main = proc_cpu_seconds(pid)  # the whole process
    try:
        with open(f"/proc/{pid}/task/{pid}/stat", "rb") as f:
            stat = f.read().decode()
        fields = stat[stat.rindex(")") + 2 :].split()
        loop = (int(fields[11]) + int(fields[12])) / CLK_TCK
    except OSError:
        return main, 0.0
    return loop, main - loop


def proc_rss_kib(pid: int) -> int:
    """Resident memory of a process (VmRSS in /proc/<pid>/status), in KiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise BenchError(f"no VmRSS for process {pid}")


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


def raise_fd_limit() -> None:
    """Open files up to the hard limit: 5,000 sockets need as many descriptors on each side
    (Daphne and the client processes inherit the limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 65536 if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


def fd_limit() -> int:
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def percentile(sorted_values, p: float) -> float:
    if not len(sorted_values):
        return float("nan")
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def pcts(values) -> dict:
    """p50, p90, p99 and max of an already sorted sequence."""
    return {
        "p50": percentile(values, 50),
        "p90": percentile(values, 90),
        "p99": percentile(values, 99),
        "max": values[-1] if len(values) else float("nan"),
    }


def json_safe(value):
    """NaN (no samples) is not JSON: write null instead."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value
