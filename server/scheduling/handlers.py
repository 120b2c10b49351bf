"""Who handles which dispatch purpose.

The dispatcher itself handles the session transitions (lobby_open, session_start,
session_close) and the notices (reminder, change_notice, enrolment_notice). Any other purpose
(today ``timepoint_pre`` and ``timepoint_post``) runs only once a feature registered a handler
for it; until then its dispatches stay ``pending`` (the sweep does not claim them, nor skip them
when their grace runs out) and ``circle doctor`` reports them.

A feature registers in its ``setup(app)``, which the app factory calls after the scheduling
package's own (``server.app.PLUGINS``)::

    from server.scheduling.handlers import HANDLERS_KEY
    from server.scheduling.models import Purpose

    async def on_pre(s: AsyncSession, batch: Sequence[Dispatch], now: datetime) -> None: ...

    app[HANDLERS_KEY].register(Purpose.TIMEPOINT_PRE, on_pre)

A handler runs inside the sweep's transaction, after the batch was claimed: what it writes
with ``s`` commits together with the claim (at most once). If it raises, the whole batch rolls
back and is claimed again by the next sweep. It receives only the dispatches of its purpose
whose session exists and, for per-person purposes, whose person is still active in the group
(the others are recorded as ``skipped``). It must not commit or open its own transaction.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from server.scheduling.models import Dispatch, Purpose

Handler = Callable[[AsyncSession, Sequence[Dispatch], datetime], Awaitable[None]]

# Purposes the dispatcher applies itself (session transitions and notices).
BUILTIN: frozenset[Purpose] = frozenset(
    {
        Purpose.LOBBY_OPEN,
        Purpose.SESSION_START,
        Purpose.SESSION_CLOSE,
        Purpose.REMINDER,
        Purpose.CHANGE_NOTICE,
        Purpose.ENROLMENT_NOTICE,
    }
)


class DispatchHandlers:
    """The registry of feature handlers: one handler per purpose."""

    def __init__(self) -> None:
        self._by_purpose: dict[Purpose, Handler] = {}

    def register(self, purpose: Purpose, handler: Handler) -> None:
        """Handle ``purpose`` with ``handler``; a purpose has one handler, and the built-in
        purposes are the dispatcher's own."""
        if purpose in BUILTIN:
            raise ValueError(f"{purpose.value} is handled by the dispatcher itself")
        if purpose in self._by_purpose:
            raise ValueError(f"{purpose.value} already has a handler")
        self._by_purpose[purpose] = handler

    def get(self, purpose: Purpose) -> Handler | None:
        return self._by_purpose.get(purpose)

    @property
    def handled(self) -> frozenset[Purpose]:
        """Every purpose the sweep claims: the built-in ones and the registered ones."""
        return BUILTIN | frozenset(self._by_purpose)


HANDLERS_KEY = web.AppKey("dispatch_handlers", DispatchHandlers)
