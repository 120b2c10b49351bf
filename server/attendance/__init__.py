"""Attendance: true raw events, records derived from them, excuses, corrections and reports.

``setup(app)`` (called by the app factory) adds the REST routes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aiohttp import web


def setup(app: web.Application) -> None:
    from server.appkeys import API_ROUTERS_KEY
    from server.attendance.api import router

    app[API_ROUTERS_KEY].append(router)
