"""Participants come and go (and vanish) without leaking tasks, transports, threads or memory."""

from __future__ import annotations

import asyncio
import gc
import threading

import pytest

from tests.media.harness import ROOM, Clips, Harness, wait_until

pytestmark = pytest.mark.media

CYCLES = 100


def rss_kib() -> int:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * 4


async def test_vanishing_participant_is_cleaned_up(clips: Clips) -> None:
    lost: list[tuple[str, str]] = []
    async with Harness(clips) as h:

        async def on_lost(room: str, pid: str) -> None:
            lost.append((room, pid))

        h.engine.set_media_lost_handler(on_lost)
        await h.join("stays")
        await h.join("ghost")
        await h.wait_connected()
        await wait_until(lambda: h.clients["stays"].frames_from("ghost", "audio") > 5, 5, "media")
        await h.leave("ghost", goodbye=False)  # its connection closes, no signaling goodbye
        await wait_until(lambda: lost == [(ROOM, "ghost")], 10, "the engine notices")
        assert [p.participant_id for p in h.engine.stats(ROOM).per_participant] == ["stays"]


async def test_hundred_join_leave_cycles_leak_nothing(clips: Clips) -> None:
    async with Harness(clips) as h:
        await h.join("a", video=False)
        await h.join("b", video=False)
        await h.wait_connected()

        async def cycle(i: int) -> None:
            pid = f"c{i}"
            await h.join(pid, video=False)
            await wait_until(
                lambda: h.clients[pid].pc.connectionState == "connected", 10, f"{pid} connected"
            )
            if i % 10 == 0:  # media really flows both ways now and then
                await wait_until(
                    lambda: (
                        h.clients["a"].frames_from(pid, "audio") > 0
                        and h.clients[pid].frames_from("a", "audio") > 0
                    ),
                    5,
                    f"media to and from {pid}",
                )
            vanish = i % 2 == 1
            await h.leave(pid, goodbye=not vanish)
            room = h.engine._rooms[ROOM]
            await wait_until(lambda: pid not in room.participants, 10, f"{pid} removed")

        for i in range(10):  # warm-up: caches, first allocations
            await cycle(i)
        await asyncio.sleep(0)
        gc.collect()
        tasks_before = len(asyncio.all_tasks())
        threads_before = threading.active_count()
        rss_before = rss_kib()

        for i in range(10, 10 + CYCLES):
            await cycle(i)

        gc.collect()
        await wait_until(
            lambda: len(asyncio.all_tasks()) <= tasks_before + 2, 10, "tasks wound down"
        )
        assert threading.active_count() <= threads_before + 2
        growth = rss_kib() - rss_before
        assert growth < 40_000, f"RSS grew by {growth} KiB over {CYCLES} cycles"
        room = h.engine._rooms[ROOM]
        assert sorted(room.participants) == ["a", "b"]
        # remembered only for those who vanished (they may come back): bounded by people
        assert len(room.capabilities) <= 2 + (10 + CYCLES) // 2
        # leavers' slots are reused: a's connection did not grow with the churn
        a = room.participants["a"]
        assert len(a.pc.getTransceivers()) <= 2 + 2 * 2
        assert h.engine.stats(ROOM).participants == 2
        # still working
        await wait_until(lambda: h.clients["a"].frames_from("b", "audio") > 0, 5, "a hears b")
