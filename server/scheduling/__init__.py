"""Scheduling: series booking, session changes, calendars, timed dispatches and notifications.

``setup(app)`` is called by the app factory: it adds the REST routes and a cleanup context that
starts the scheduling service (APScheduler sweep + mailer) after the database is up and stops it
before the database goes away.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from server.appkeys import API_ROUTERS_KEY, DB_KEY, SETTINGS_KEY


def setup(app: web.Application) -> None:
    from server.scheduling.api import CONFIG_KEY, SERVICE_KEY, router
    from server.scheduling.handlers import HANDLERS_KEY, DispatchHandlers
    from server.scheduling.notifier import notifier_from_settings
    from server.scheduling.plan import SchedulingConfig
    from server.scheduling.service import SchedulingService

    settings = app[SETTINGS_KEY]
    app[CONFIG_KEY] = SchedulingConfig.from_settings(settings)
    # Features register their dispatch handlers here in their own setup(app), which runs after
    # this one and before the service starts (server.scheduling.handlers).
    app[HANDLERS_KEY] = DispatchHandlers()
    app[API_ROUTERS_KEY].append(router)

    async def _service_ctx(app: web.Application) -> AsyncIterator[None]:
        service = SchedulingService(
            app[DB_KEY].sessionmaker,
            app[CONFIG_KEY],
            notifier_from_settings(settings),
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
