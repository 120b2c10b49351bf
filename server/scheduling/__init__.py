"""Scheduling: series booking, session changes, calendars, timed dispatches.

``setup(app)`` is called by the app factory (after ``server.notify``'s): it adds the REST
routes, the registry of dispatch handlers features register in (``handlers.HANDLERS_KEY``), and
a cleanup context that starts the scheduling service (APScheduler sweep + mailer) after the
database is up and stops it before the database goes away.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from server.appkeys import API_ROUTERS_KEY, DB_KEY, SETTINGS_KEY
from server.notify import NOTIFIER_KEY
from server.scheduling import api_coord, api_roster
from server.scheduling.api import CONFIG_KEY, SERVICE_KEY, router
from server.scheduling.handlers import HANDLERS_KEY, DispatchHandlers
from server.scheduling.plan import SchedulingConfig
from server.scheduling.service import SchedulingService


def setup(app: web.Application) -> None:
    settings = app[SETTINGS_KEY]
    app[CONFIG_KEY] = SchedulingConfig.from_settings(settings)
    # Features register their dispatch handlers here in their own setup(app), which runs after
    # this one and before the service starts (server.scheduling.handlers).
    app[HANDLERS_KEY] = DispatchHandlers()
    app[API_ROUTERS_KEY].extend([router, api_coord.router, api_roster.router])

    async def _service_ctx(app: web.Application) -> AsyncIterator[None]:
        service = SchedulingService(
            app[DB_KEY].sessionmaker,
            app[CONFIG_KEY],
            app[NOTIFIER_KEY],
            handlers=app[HANDLERS_KEY],
        )
        app[SERVICE_KEY] = service
        if settings.scheduler_enabled:
            await service.start()
        try:
            yield
        finally:
            await service.stop()

    app.cleanup_ctx.append(_service_ctx)
