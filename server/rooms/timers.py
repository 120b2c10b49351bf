"""The timers of one room: each posts a command to the room's queue when its time comes.

Keyed, so re-arming a key replaces the old timer; the room owns this object and stops it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Hashable

from server.protocols.base import ProtocolState

from .commands import GraceOver, RoomCommand, Tick, WindowClosed
from .participants import Participant
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


class RoomTimers(Timers):
    """A room's three kinds of timer: its phase's deadline, a reconnecting person's grace
    period, the end of the session's join window."""

    def __init__(self, clock: Clock, post: Callable[[RoomCommand], None], name: str) -> None:
        super().__init__(clock, post, name)
        self._armed: tuple[int, int | None] = (-1, None)

    def phase(self, state: ProtocolState) -> None:
        """(Re)arm the phase timer if the phase or its deadline changed."""
        armed = (state.epoch, state.deadline_ms())
        if armed == self._armed:
            return
        self._armed = armed
        self.cancel("phase")
        epoch, deadline = armed
        if deadline is not None and not state.overrun:
            self.start("phase", deadline, Tick(epoch=epoch))

    def grace(self, p: Participant, until_ms: int) -> None:
        self.start(
            ("grace", p.person_id), until_ms, GraceOver(person_id=p.person_id, token=p.grace_token)
        )

    def cancel_grace(self, p: Participant) -> None:
        self.cancel(("grace", p.person_id))

    def window(self, closes_ms: int) -> None:
        """At the end of the join window, when that is still to come (a room started later, by
        someone joining a live session that runs over, retires when it empties)."""
        self.cancel("window")
        if closes_ms > self._clock.now_ms():
            self.start("window", closes_ms, WindowClosed())
