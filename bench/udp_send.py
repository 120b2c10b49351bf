"""The kernel's part of a forwarded copy: ``sendto`` on one unconnected UDP socket against
``send`` on a socket connected to each receiver (what ``server/media/udpmux.py`` does with
``SfuSettings.connected_sends``), on loopback.

    .venv/bin/python bench/udp_send.py [--datagrams 200000] [--size 1100] [--rounds 3]

The sender (pinned to CPU 0 where there are two) sends ``--size``-byte datagrams round-robin
to 11 receiving sockets that another process (pinned to CPU 1) drains, like the bots of
bench/media.py; the sender's CPU time (utime + stime, ``getrusage``) per datagram is the
figure. The variants alternate, ``--rounds`` times each, and each variant's median is
reported with the ratio. A third variant times the Python loop alone (no system call). The
last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import select
import socket
import statistics
import time
from collections.abc import Callable

RECEIVERS = 11


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _drain(socks: list[socket.socket], seconds: float) -> None:
    if len(os.sched_getaffinity(0)) > 1 and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(0, {1})
    poller = select.epoll()
    by_fd = {}
    for s in socks:
        s.setblocking(False)
        poller.register(s.fileno(), select.EPOLLIN)
        by_fd[s.fileno()] = s
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for fd, _ in poller.poll(0.5):
            s = by_fd[fd]
            try:
                while True:
                    s.recv(4096)
            except BlockingIOError:
                pass


def _timed(send_round: Callable[[], None], datagrams: int) -> float:
    rounds = datagrams // RECEIVERS
    t0 = _cpu()
    for i in range(rounds):
        send_round()
        if not i % 20:  # let the receivers keep up (no drops): a pause, not our CPU
            time.sleep(0.0005)
    return 1e6 * (_cpu() - t0) / (rounds * RECEIVERS)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--datagrams", type=int, default=200_000)
    parser.add_argument("--size", type=int, default=1100)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    sinks = []
    for _ in range(RECEIVERS):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        s.bind(("127.0.0.1", 0))
        sinks.append(s)
    addrs = [s.getsockname() for s in sinks]
    budget_s = 30.0 + args.rounds * 3 * args.datagrams * 20e-6
    child = os.fork()
    if child == 0:
        try:
            _drain(sinks, budget_s)
        finally:
            os._exit(0)
    if len(os.sched_getaffinity(0)) > 1:
        os.sched_setaffinity(0, {0})
    data = b"\x80" * args.size
    one = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    one.bind(("127.0.0.1", 0))
    connected = []
    for a in addrs:
        c = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        c.bind(("127.0.0.1", 0))
        c.connect(a)
        connected.append(c)
    sendto = one.sendto
    sends = [c.send for c in connected]

    def unconnected_round() -> None:
        for a in addrs:
            sendto(data, a)

    def connected_round() -> None:
        for send in sends:
            send(data)

    def loop_round() -> None:
        for a in addrs:
            len(data) or a

    variants = {"sendto": unconnected_round, "connected": connected_round, "loop": loop_round}
    runs: dict[str, list[float]] = {name: [] for name in variants}
    try:
        for _ in range(args.rounds):
            for name, fn in variants.items():
                runs[name].append(_timed(fn, args.datagrams))
    finally:
        os.kill(child, 9)
        os.waitpid(child, 0)
    median = {name: statistics.median(r) for name, r in runs.items()}
    for name, r in runs.items():
        print(f"{name}: median {median[name]:.2f} us of CPU per datagram "
              f"({[round(x, 2) for x in r]})")  # fmt: skip
    ratio = median["sendto"] / median["connected"]
    print(f"connected send is {ratio:.2f}x cheaper than sendto per datagram "
          f"({median['sendto'] - median['connected']:.2f} us less); load average "
          f"{os.getloadavg()[0]:.2f}")  # fmt: skip
    print(json.dumps({
        "size": args.size,
        "sendto_us": round(median["sendto"], 2),
        "connected_us": round(median["connected"], 2),
        "loop_us": round(median["loop"], 2),
        "sendto_over_connected": round(ratio, 2),
    }))  # fmt: skip


if __name__ == "__main__":
    main()
