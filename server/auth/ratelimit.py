"""Login rate limiting, and the client address it keys on.

The address is the peer's, unless the peer is one of ``trusted_proxies``: then it is read
from ``X-Forwarded-For`` right to left, skipping trusted proxies, and the first address that
is not one is the client (entries further left were written by the client and may be forged).
Without trusted proxies the header is ignored.

Failed logins slow down, they never lock: once an account has ``max_failures`` failures in
the window (from any address), each further attempt must wait twice as long after the last
failure as the one before (2 s, 4 s, 8 s, ... up to ``delay_max_s``); an address gets the same
treatment past ten times that many failures (a hospital NAT tries several accounts). Other
account actions (password-reset requests) have a plain budget per (address, e-mail) and per
address, where every request counts.

Failures are stored in the database (``login_attempts``) so the limit holds across processes.
"""

from __future__ import annotations

import functools
import ipaddress
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.models import LoginAttempt, utcnow

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
ADDRESS_FACTOR = 10  # an address may fail this many times more than one account


@functools.lru_cache(maxsize=16)
def _networks(trusted: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(n, strict=False) for n in trusted)


def _parse(text: str) -> Address | None:
    text = text.strip()
    if text.startswith("[") and "]" in text:  # [v6]:port
        text = text[1 : text.index("]")]
    elif text.count(":") == 1:  # v4:port
        text = text.split(":")[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


class Headers(Protocol):
    def getall(self, key: str, default: list[str]) -> list[str]: ...


def client_address(remote: str | None, headers: Headers, trusted: tuple[str, ...]) -> str:
    """The client's address as a string (``unknown`` when there is none)."""
    peer = _parse(remote or "")
    if peer is None:
        return remote or "unknown"
    nets = _networks(trusted)
    if not nets or not any(peer in n for n in nets):
        return str(peer)
    hops = [h for part in headers.getall("X-Forwarded-For", []) for h in part.split(",")]
    for hop in reversed(hops):
        addr = _parse(hop)
        if addr is None:
            break  # a malformed entry: trust nothing further left
        if not any(addr in n for n in nets):
            return str(addr)
        peer = addr
    return str(peer)


class LoginLimiter:
    def __init__(self, *, max_failures: int, window_s: int, delay_max_s: int = 900) -> None:
        self.max_failures = max_failures
        self.window = timedelta(seconds=window_s)
        self.delay_max_s = delay_max_s

    @staticmethod
    def keys(email: str, address: str) -> tuple[str, str]:
        return (f"acct:{email.lower()}"[:300], f"addr:{address}"[:300])

    async def _count(self, s: AsyncSession, key: str) -> tuple[int, float]:
        """Failures of ``key`` in the window, and seconds since the last one."""
        since = utcnow() - self.window
        n, last = (
            await s.execute(
                select(func.count(), func.max(LoginAttempt.at)).where(
                    LoginAttempt.key == key, LoginAttempt.at >= since
                )
            )
        ).one()
        if not n or last is None:
            return 0, 0.0
        if not isinstance(last, datetime):  # SQLite's max() bypasses the column type
            last = datetime.fromisoformat(str(last))
        if last.tzinfo is None:
            last = last.replace(tzinfo=UTC)
        return int(n), (utcnow() - last).total_seconds()

    def _delay(self, failures: int, allowed: int) -> float:
        if failures < allowed:
            return 0.0
        return float(min(self.delay_max_s, 2 ** min(failures - allowed + 1, 30)))

    async def wait_s(self, s: AsyncSession, email: str, address: str) -> int:
        """Seconds the caller must still wait before trying to log in (0: go ahead)."""
        acct, addr = self.keys(email, address)
        waits = []
        for key, allowed in ((acct, self.max_failures), (addr, self.max_failures * ADDRESS_FACTOR)):
            n, ago = await self._count(s, key)
            waits.append(self._delay(n, allowed) - ago)
        return max(0, int(max(waits) + 0.999))

    async def _note(self, s: AsyncSession, *keys: str) -> None:
        for key in keys:
            s.add(LoginAttempt(key=key))
        await s.execute(delete(LoginAttempt).where(LoginAttempt.at < utcnow() - self.window * 4))

    async def failed(self, s: AsyncSession, email: str, address: str) -> None:
        await self._note(s, *self.keys(email, address))

    async def spend(self, s: AsyncSession, action: str, email: str, address: str) -> bool:
        """Count one ``action`` request (e.g. ``reset``) for (``address``, ``email``) and for
        ``address``, in the caller's transaction; False, and nothing counted, when the budget
        is spent. Keyed on the pair, so nobody can spend another person's budget."""
        pair = f"{action}:{email.lower()}|{address}"[:300]
        addr = f"{action}-addr:{address}"[:300]
        n_pair, _ = await self._count(s, pair)
        n_addr, _ = await self._count(s, addr)
        if n_pair >= self.max_failures or n_addr >= self.max_failures * ADDRESS_FACTOR:
            return False
        await self._note(s, pair, addr)
        return True

    async def succeeded(self, s: AsyncSession, email: str, address: str) -> None:
        acct, _ = self.keys(email, address)
        await s.execute(delete(LoginAttempt).where(LoginAttempt.key == acct))
