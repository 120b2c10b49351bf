"""What the benchmarks read from the host: process and machine CPU time, load, memory, CPU
pinning, file limits, free ports, percentiles. Linux (/proc) only, like the benchmarks."""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import socket
import subprocess
import sys

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_split(pid: int | str = "self") -> tuple[float, float]:
    """(user, system) CPU seconds of a process from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) / CLK_TCK, int(fields[12]) / CLK_TCK


def cpu_seconds(pid: int | str = "self") -> float:
    """User + system CPU seconds of a process (this one by default)."""
    user, system = cpu_split(pid)
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


def host_figures(before: tuple[int, int, int], after: tuple[int, int, int]) -> dict[str, float]:
    """The machine between two host_cpu() readings: how busy it was (2 cores = 200 %, every
    process included), the share stolen by the VM host, and the load average at the end."""
    total = max(1, after[2] - before[2])
    return {
        "host_busy_pct": 100 * cpus() * (after[0] - before[0]) / total,
        "host_steal_pct": 100 * (after[1] - before[1]) / total,
        "loadavg_1m": loadavg(),
    }


def loadavg() -> float:
    """The machine's one-minute load average."""
    return os.getloadavg()[0]


def cpus() -> int:
    return os.cpu_count() or 1


def rss_mb() -> float:
    """Resident memory of this process in MiB."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pin(which: int | set[int] | None) -> None:
    """Pin this process to one CPU (modulo the CPU count) or a set of CPUs; None: leave it."""
    if which is None:
        return
    chosen = {which % cpus()} if isinstance(which, int) else which
    with contextlib.suppress(OSError, AttributeError):
        os.sched_setaffinity(0, chosen)


def raise_fd_limit() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def pct(values: list[float], q: float) -> float:
    """The q-quantile (nearest rank) of ``values``; NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def udp_rcvbuf_errors() -> int:
    """UDP datagrams the kernel dropped for full receive buffers (this network namespace)."""
    with open("/proc/net/snmp") as f:
        rows = [line.split() for line in f if line.startswith("Udp:")]
    header, values = rows[0], rows[1]
    return int(values[header.index("RcvbufErrors")])


def reexec_in_namespace(flag: str, script: str) -> None:
    """Run this benchmark again inside a private network namespace (``unshare -rn``, loopback
    up), with ``flag`` set in the environment so the second run knows it is there."""
    unshare = shutil.which("unshare")
    if unshare is None:
        sys.exit(f"{script}: unshare(1) not found; use --no-netns to run on host loopback")
    env = dict(os.environ, **{flag: "1"})
    cmd = " ".join([sys.executable, *map(repr, sys.argv)])
    proc = subprocess.run([unshare, "-rn", "sh", "-c", f"ip link set lo up && exec {cmd}"], env=env)
    sys.exit(proc.returncode)
