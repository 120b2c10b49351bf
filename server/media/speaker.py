"""Active speaker detection from incoming audio levels.

:class:`SpeakerDetector` is pure (time passed in); :class:`SpeakerTask` owns the periodic tick
of one room and sends ``media.speaker`` when the loudest speaker changes, at most once per
interval (default 4 per second).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

logger = logging.getLogger(__name__)

SILENCE_DBOV = 70  # levels quieter than -70 dBov count as silence


class SpeakerDetector:
    """Accumulates loudness per participant over one interval and picks the loudest.

    ``observe`` takes an RFC 6464 level (0 = 0 dBov, 127 = silence) per audio packet. A
    speaker must average at least ``threshold`` loudness units per packet to count; a new
    speaker replaces the current one only when louder by ``switch_ratio``.
    """

    def __init__(self, *, threshold: float = 10.0, switch_ratio: float = 1.3) -> None:
        self._threshold = threshold
        self._switch_ratio = switch_ratio
        self._energy: dict[str, float] = {}
        self._packets: dict[str, int] = {}
        self.current: str | None = None

    def observe(self, participant_id: str, level_dbov: int) -> None:
        loud = max(0, SILENCE_DBOV - level_dbov)
        self._energy[participant_id] = self._energy.get(participant_id, 0.0) + loud
        self._packets[participant_id] = self._packets.get(participant_id, 0) + 1

    def forget(self, participant_id: str) -> None:
        self._energy.pop(participant_id, None)
        self._packets.pop(participant_id, None)
        if self.current == participant_id:
            self.current = None

    def tick(self) -> tuple[bool, str | None]:
        """Close the interval: returns (changed, current speaker)."""
        scores = {pid: energy / max(1, self._packets[pid]) for pid, energy in self._energy.items()}
        self._energy.clear()
        self._packets.clear()
        loud = {pid: s for pid, s in scores.items() if s >= self._threshold}
        best = max(loud, key=lambda pid: loud[pid]) if loud else None
        previous = self.current
        if best is None:
            self.current = None
        elif self.current not in loud or (
            best != self.current and loud[best] >= loud[self.current] * self._switch_ratio
        ):
            self.current = best
        return self.current != previous, self.current


class SpeakerTask:
    """Owns one room's detector tick. ``publish(speaker)`` delivers ``media.speaker``."""

    def __init__(
        self,
        detector: SpeakerDetector,
        publish: Callable[[str | None], Awaitable[None]],
        interval_s: float = 0.25,
    ) -> None:
        self.detector = detector
        self._publish = publish
        self._interval_s = interval_s
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="media-speaker")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            changed, current = self.detector.tick()
            if changed:
                try:
                    await self._publish(current)
                except Exception:
                    logger.exception("media.speaker delivery failed")
