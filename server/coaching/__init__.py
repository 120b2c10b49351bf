"""Coaching after a resilience workshop (shared/seeds/004): an optional 1-hour one-to-one call
offered to every participant (opt-out), booked through the scheduling (docs/workshop.md).

``setup(app)`` adds the REST routes; the app calls :func:`service.offer_after_workshop` once an
ended workshop's attendance is final.
"""

from __future__ import annotations

from aiohttp import web

from server.appkeys import API_ROUTERS_KEY
from server.coaching.api import router


def setup(app: web.Application) -> None:
    app[API_ROUTERS_KEY].append(router)
