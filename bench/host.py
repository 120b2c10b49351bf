"""What the benchmarks read from the host: CPU time of a process and of the whole (shared)
machine, pinning, file limits, percentiles, a free port, load and memory. Linux /proc only.

Imported by bench/signaling.py, bench/media.py and bench/scheduler.py (run as scripts, so this
module is found beside them).
"""

from __future__ import annotations

import contextlib
import os
import resource
import socket

HZ = os.sysconf("SC_CLK_TCK")


def cpu_split(pid: int) -> tuple[float, float]:
    """(user, system) CPU seconds of a process from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) / HZ, int(fields[12]) / HZ


def cpu_seconds(pid: int | None = None) -> float:
    """utime + stime of a process (this one by default)."""
    user, system = cpu_split(os.getpid() if pid is None else pid)
    return user + system


def host_cpu() -> tuple[int, int, int]:
    """(busy, steal, total) jiffies of the whole machine from /proc/stat: how loaded the
    shared host was during the window, printed beside the figures."""
    with open("/proc/stat") as f:
        values = [int(x) for x in f.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    steal = values[7] if len(values) > 7 else 0
    total = sum(values[:8])
    return total - idle - steal, steal, total


def loadavg() -> float:
    with open("/proc/loadavg") as fh:
        return float(fh.read().split()[0])


def rss_mb() -> float:
    """This process's resident memory in MiB."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def udp_rcvbuf_errors() -> int:
    """UDP datagrams the kernel dropped for full receive buffers (this network namespace)."""
    with open("/proc/net/snmp") as f:
        rows = [line.split() for line in f if line.startswith("Udp:")]
    header, values = rows[0], rows[1]
    return int(values[header.index("RcvbufErrors")])


def pin(cpus: set[int] | int | None) -> None:
    """Pin this process to ``cpus`` (one CPU number is taken modulo the CPUs there are)."""
    if cpus is None:
        return
    if isinstance(cpus, int):
        cpus = {cpus % (os.cpu_count() or 1)}
    with contextlib.suppress(OSError, AttributeError):
        os.sched_setaffinity(0, cpus)


def raise_fd_limit() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port
