"""Draining a process on SIGTERM (rolling upgrades), within ``drain_s``:

1. readiness goes false (``/readyz`` answers 503 ``draining``) and new room connections are
   refused with ``room_moving`` (clients retry); for ``drain_notice_s`` nothing else changes,
   so the proxy's health check takes the process out of its ring while members carry on;
2. every live room is handed over: saved with its members reconnecting (a disconnect at the
   true time, no leave), its lease given up (a process without Redis, alone, stops its rooms
   as before: docs/attendance.md);
3. every websocket is closed with 1012 (service restart), which browsers honour at once:
   socket.io reconnects through the proxy to the process that now takes the room;
4. the process stops (as on SIGINT). Whatever is left at ``drain_s`` is cut short.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time

from aiohttp import web

from server.appkeys import SETTINGS_KEY

from .cluster import let_go
from .context import Services

log = logging.getLogger(__name__)


async def drain(svc: Services, notice_s: float) -> tuple[int, int]:
    """Steps 1-3; returns (rooms handed over, websockets closed)."""
    svc.draining = True
    log.warning("draining: readiness off, handing rooms over in %.1f s", notice_s)
    await asyncio.sleep(notice_s)
    rooms = 0
    if svc.manager is not None and svc.cluster is not None:
        rooms = await svc.manager.hand_over_all()
    elif svc.manager is not None:  # alone: nobody takes the rooms over; a graceful stop
        rooms = len(svc.manager.rooms)
        await svc.manager.stop()
    closed = await let_go(svc)
    return rooms, closed


def install_sigterm(app: web.Application, signaling: web.AppKey[Services]) -> None:
    """Make SIGTERM drain this process (``circle serve`` only: tests stop apps themselves)."""
    running: list[asyncio.Task[None]] = []

    def on_sigterm() -> None:
        if running:
            return
        settings = app[SETTINGS_KEY]
        loop = asyncio.get_running_loop()
        # The bound: whatever happens, the process stops drain_s after SIGTERM.
        loop.call_later(settings.drain_s, _stop_now, "drain time is up")
        running.append(loop.create_task(_run(app, signaling), name="drain"))

    async def on_startup(app: web.Application) -> None:
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, on_sigterm)

    app.on_startup.append(on_startup)


async def _run(app: web.Application, signaling: web.AppKey[Services]) -> None:
    settings = app[SETTINGS_KEY]
    started = time.monotonic()
    try:
        rooms, closed = await drain(app[signaling], settings.drain_notice_s)
        log.warning(
            "drained in %.1f s: %d rooms handed over, %d connections closed",
            time.monotonic() - started,
            rooms,
            closed,
        )
    except Exception:
        log.exception("draining failed; stopping anyway")
    _stop_now("drained")


def _stop_now(why: str) -> None:
    log.info("stopping: %s", why)
    os.kill(os.getpid(), signal.SIGINT)  # aiohttp's run_app stops gracefully on SIGINT
