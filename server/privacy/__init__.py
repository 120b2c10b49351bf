"""A person's data: what is held (holdings), export and erasure (service), the retention sweep.

``setup(app)`` adds the REST routes and, with ``scheduler_enabled``, a cleanup context owning
the retention sweeper.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

from aiohttp import web

from server.appkeys import API_ROUTERS_KEY, DB_KEY, SETTINGS_KEY
from server.privacy.api import router
from server.privacy.retention import RetentionPolicy, RetentionSweeper
from server.settings import Settings


def policy_from(settings: Settings) -> RetentionPolicy:
    return RetentionPolicy(
        outbox_days=settings.retention_outbox_days,
        links_days=settings.retention_links_days,
        audit_days=settings.retention_audit_days,
        attendance_days=settings.retention_attendance_days,
    )


def setup(app: web.Application) -> None:
    settings = app[SETTINGS_KEY]
    app[API_ROUTERS_KEY].append(router)

    async def _sweeper_ctx(app: web.Application) -> AsyncIterator[None]:
        sweeper = RetentionSweeper(
            app[DB_KEY].sessionmaker,
            policy_from(settings),
            every_s=settings.retention_sweep_hours * 3600,
            clock=lambda: datetime.now(UTC),
        )
        if settings.scheduler_enabled:
            sweeper.start()
        try:
            yield
        finally:
            await sweeper.stop()

    app.cleanup_ctx.append(_sweeper_ctx)
