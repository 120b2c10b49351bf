"""Login rate limiting: at most N failures per (account, address) and per address in a window;
and a plain request budget for other account actions (password-reset requests), where every
request counts.

Failures are stored in the database (``login_attempts``) so the limit holds across
processes; a small in-process cache is not needed at our scale.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.models import LoginAttempt, utcnow


class LoginLimiter:
    def __init__(self, *, max_failures: int, window_s: int) -> None:
        self.max_failures = max_failures
        self.window = timedelta(seconds=window_s)

    @staticmethod
    def keys(email: str, address: str) -> tuple[str, str]:
        return (f"acct:{email.lower()}|{address}"[:300], f"addr:{address}"[:300])

    async def _over(self, s: AsyncSession, acct: str, addr: str) -> bool:
        since = utcnow() - self.window
        n_acct = await s.scalar(
            select(func.count()).where(LoginAttempt.key == acct, LoginAttempt.at >= since)
        )
        n_addr = await s.scalar(
            select(func.count()).where(LoginAttempt.key == addr, LoginAttempt.at >= since)
        )
        # An address may try several accounts (a shared hospital NAT), so allow it more.
        return (n_acct or 0) >= self.max_failures or (n_addr or 0) >= self.max_failures * 10

    async def _note(self, s: AsyncSession, *keys: str) -> None:
        for key in keys:
            s.add(LoginAttempt(key=key))
        await s.execute(delete(LoginAttempt).where(LoginAttempt.at < utcnow() - self.window * 4))

    async def blocked(self, s: AsyncSession, email: str, address: str) -> bool:
        return await self._over(s, *self.keys(email, address))

    async def failed(self, s: AsyncSession, email: str, address: str) -> None:
        await self._note(s, *self.keys(email, address))

    async def spend(self, s: AsyncSession, action: str, email: str, address: str) -> bool:
        """Count one ``action`` request (e.g. ``reset``) for ``email`` and for ``address``, in
        the caller's transaction; False, and nothing counted, when the budget is spent."""
        acct = f"{action}:{email.lower()}"[:300]
        addr = f"{action}-addr:{address}"[:300]
        if await self._over(s, acct, addr):
            return False
        await self._note(s, acct, addr)
        return True

    async def succeeded(self, s: AsyncSession, email: str, address: str) -> None:
        acct, _ = self.keys(email, address)
        await s.execute(delete(LoginAttempt).where(LoginAttempt.key == acct))
