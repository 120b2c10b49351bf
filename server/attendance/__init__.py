"""Attendance: true raw events, records derived from them, excuses, corrections and reports.

``setup(app)`` (called by the app factory) adds the REST routes.
"""

from __future__ import annotations

from aiohttp import web

from server.appkeys import API_ROUTERS_KEY
from server.attendance.api import router


def setup(app: web.Application) -> None:
    app[API_ROUTERS_KEY].append(router)
