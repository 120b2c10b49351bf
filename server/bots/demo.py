"""``circle serve --demo-bots N``: synthetic members join the demo session once the server
listens, so a newcomer opening a link sees a live group at once. They run as a child
process (``circle bots``), owned by the app: started after start-up, stopped at cleanup."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

from server.settings import Settings

log = logging.getLogger("circle.demo")


# Finds the session the bots join (the newest demo session), or None.
SessionFinder = Callable[[], Awaitable[int | None]]


class DemoBots:
    def __init__(self, settings: Settings, count: int, find_session: SessionFinder) -> None:
        if not 1 <= count <= 12:
            raise ValueError("--demo-bots must be between 1 and 12")
        self.settings, self.count = settings, count
        self._find_session = find_session
        self.url = f"http://127.0.0.1:{settings.port}"
        self._proc: asyncio.subprocess.Process | None = None
        self._task: asyncio.Task[None] | None = None

    async def _launch(self) -> None:
        session_id = await self._find_session()
        if session_id is None:
            log.warning("no demo session: run `circle demo` first")
            return
        for _ in range(100):  # wait until the server accepts connections
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.settings.port)
            except OSError:
                await asyncio.sleep(0.1)
                continue
            writer.close()
            await writer.wait_closed()
            break
        self._proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "server",
            "bots",
            "--session",
            str(session_id),
            "--count",
            str(self.count),
            "--url",
            self.url,
        )
        log.info("%d demo bots joining session %s", self.count, session_id)

    async def start(self) -> None:
        self._task = asyncio.create_task(self._launch(), name="demo-bots")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._proc is not None and self._proc.returncode is None:
            self._proc.terminate()
            try:
                await asyncio.wait_for(self._proc.wait(), 10)
            except TimeoutError:
                self._proc.kill()
                await self._proc.wait()


def attach_demo_bots(
    app: web.Application, settings: Settings, count: int, find_session: SessionFinder
) -> None:
    bots = DemoBots(settings, count, find_session)

    async def ctx(_: web.Application) -> AsyncIterator[None]:
        await bots.start()
        yield
        await bots.stop()

    app.cleanup_ctx.append(ctx)
