"""The timers of one room: each posts a command to the room's queue when its time comes.

Keyed, so re-arming a key replaces the old timer; the room owns this object and stops it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Hashable

from .commands import RoomCommand
from .ports import Clock


class Timers:
    def __init__(self, clock: Clock, post: Callable[[RoomCommand], None], name: str) -> None:
        self._clock = clock
        self._post = post
        self._name = name
        self._tasks: dict[Hashable, asyncio.Task[None]] = {}

    def start(self, key: Hashable, at_ms: int, command: RoomCommand) -> None:
        self.cancel(key)

        async def fire() -> None:
            await self._clock.sleep_until(at_ms)
            self._tasks.pop(key, None)
            self._post(command)

        self._tasks[key] = asyncio.create_task(fire(), name=f"{self._name}-{key}")

    def cancel(self, key: Hashable) -> None:
        task = self._tasks.pop(key, None)
        if task is not None:
            task.cancel()

    async def stop(self) -> None:
        tasks, self._tasks = list(self._tasks.values()), {}
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
