"""Many UDP datagrams on one socket with one ``sendmmsg`` system call (``udpmux.py``'s sends).

Python's socket module has no ``sendmmsg``; libc's is called through ctypes (the OS's own
API, no native code of ours). Where libc has none, :class:`Batch` sends with a loop of
``sendto``. The datagrams are copied into one preallocated buffer; each destination's C
``sockaddr`` is built once and cached.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import socket
import struct
from typing import Any

MAX_BATCH = 64  # datagrams per sendmmsg call (one video packet to 63 receivers)
SLOT_BYTES = 2048  # room per datagram in the batch buffer (an MTU-sized packet and more)


def sockaddr(addr: tuple[Any, ...]) -> bytes:
    """The C ``sockaddr_in``/``sockaddr_in6`` for ``(host, port)``."""
    host, port = addr[0], addr[1]
    if ":" in host:
        return (
            struct.pack("=H", socket.AF_INET6)
            + struct.pack("!HI", port, 0)
            + socket.inet_pton(socket.AF_INET6, host)
            + struct.pack("=I", 0)
        )
    return (
        struct.pack("=H", socket.AF_INET)
        + struct.pack("!H", port)
        + socket.inet_pton(socket.AF_INET, host)
        + bytes(8)
    )


class _Iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


class _Msghdr(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_void_p),
        ("namelen", ctypes.c_uint32),
        ("iov", ctypes.c_void_p),
        ("iovlen", ctypes.c_size_t),
        ("control", ctypes.c_void_p),
        ("controllen", ctypes.c_size_t),
        ("flags", ctypes.c_int),
    ]


class _Mmsghdr(ctypes.Structure):
    _fields_ = [("hdr", _Msghdr), ("len", ctypes.c_uint)]


def _libc_sendmmsg() -> Any:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        func = libc.sendmmsg
    except (OSError, AttributeError):
        return None
    func.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_uint, ctypes.c_int]
    func.restype = ctypes.c_int
    return func


_SENDMMSG = _libc_sendmmsg()


class Batch:
    """Datagrams queued on one socket, sent with one ``sendmmsg`` by :meth:`flush` (or a loop
    of ``sendto`` without it). A full socket buffer drops what did not fit, like a congested
    link; counted in ``dropped``. ``use_sendmmsg=False`` forces the loop (tests, benchmarks)."""

    def __init__(self, sock: socket.socket, *, use_sendmmsg: bool = True) -> None:
        self._sock = sock
        self._fd = sock.fileno()
        self._sendmmsg: Any = _SENDMMSG if use_sendmmsg else None
        self.pending: list[tuple[bytes, tuple[Any, ...]]] = []
        self.calls = 0  # system calls made to send
        self.sent = 0
        self.dropped = 0
        self._names: dict[tuple[Any, ...], tuple[Any, int]] = {}
        self._msgs = (_Mmsghdr * MAX_BATCH)()
        self._iovs = (_Iovec * MAX_BATCH)()
        self._buf = ctypes.create_string_buffer(MAX_BATCH * SLOT_BYTES)
        base = ctypes.addressof(self._buf)
        self._slots = [base + i * SLOT_BYTES for i in range(MAX_BATCH)]
        self._hdrs = [self._msgs[i].hdr for i in range(MAX_BATCH)]
        self._iov_views = [self._iovs[i] for i in range(MAX_BATCH)]
        for i in range(MAX_BATCH):
            self._iov_views[i].base = self._slots[i]
            self._hdrs[i].iov = ctypes.addressof(self._iovs[i])
            self._hdrs[i].iovlen = 1

    @property
    def available(self) -> bool:
        return self._sendmmsg is not None

    def flush(self) -> None:
        pending = self.pending
        if not pending:
            return
        self.pending = []
        if self._sendmmsg is None or len(pending) == 1:
            for data, addr in pending:
                self.send_now(data, addr)
            return
        for start in range(0, len(pending), MAX_BATCH):
            self._send_many(pending[start : start + MAX_BATCH])

    def send_now(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self.calls += 1
        try:
            self._sock.sendto(data, addr)
        except OSError:  # buffer full (dropped, as a congested link would) or unreachable
            self.dropped += 1
            return
        self.sent += 1

    def _send_many(self, items: list[tuple[bytes, tuple[Any, ...]]]) -> None:
        memmove = ctypes.memmove
        names = self._names
        count = 0
        for data, addr in items:
            n = len(data)
            if n > SLOT_BYTES:
                self.send_now(data, addr)
                continue
            name = names.get(addr)
            if name is None:
                if len(names) > 4096:
                    names.clear()
                raw = sockaddr(addr)
                buf = ctypes.create_string_buffer(raw, len(raw))
                name = names[addr] = (buf, len(raw))
            memmove(self._slots[count], data, n)
            self._iov_views[count].len = n
            hdr = self._hdrs[count]
            hdr.name = ctypes.addressof(name[0])
            hdr.namelen = name[1]
            count += 1
        done = 0
        msgs = ctypes.addressof(self._msgs)
        size = ctypes.sizeof(_Mmsghdr)
        while done < count:
            self.calls += 1
            r = self._sendmmsg(self._fd, msgs + done * size, count - done, 0)
            if r > 0:
                done += r
                self.sent += r
                continue
            err = ctypes.get_errno()
            if err == errno.EINTR:
                continue
            if err in (errno.EAGAIN, errno.EWOULDBLOCK, errno.ENOBUFS):
                self.dropped += count - done  # the socket buffer is full: drop the rest
                return
            self.dropped += 1  # this one datagram failed (unreachable): skip it
            done += 1
