from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from server.domain import GroupRole
from server.rooms.commands import Act, Join, Ping, Verb
from server.rooms.manager import RoomManager
from server.rooms.ports import JSON
from server.rooms.room import Room
from tests.fakes_rooms import FakeMediaEngine, ManualClock, MemoryRoomStore, RecordingBroadcaster

SESSION = 7
LEADER, CO_LEADER = 1, 2
MEMBERS = tuple(range(101, 114))  # 13 members: one too many for a Balint group of 12


@dataclass
class Env:
    store: MemoryRoomStore
    out: RecordingBroadcaster
    media: FakeMediaEngine
    clock: ManualClock
    manager: RoomManager

    async def room(self) -> Room:
        return await self.manager.get(SESSION)

    async def join(
        self, person: int, role: GroupRole = GroupRole.MEMBER, sid: str | None = None
    ) -> JSON:
        room = await self.room()

        async def send(event: str, payload: JSON) -> None:
            pass

        return await room.submit(
            Join(
                person_id=person,
                sid=sid or f"sid-{person}",
                display_name=f"P{person}",
                group_role=role,
                agreement_accepted=True,
                sender=send,
            )
        )

    async def act(self, person: int, verb: Verb, sid: str | None = None, **kw: object) -> JSON:
        room = await self.room()
        return await room.submit(Act(person_id=person, sid=sid or f"sid-{person}", verb=verb, **kw))  # type: ignore[arg-type]

    async def settle(self) -> JSON:
        """Let timer tasks run, then wait until the room has applied what they posted."""
        for _ in range(5):
            await asyncio.sleep(0)
        return await (await self.room()).submit(Ping())

    async def settle_retired(self) -> None:
        """Wait until the manager has retired every room that closed by itself."""
        for _ in range(50):
            if not any(r.done for r in self.manager._rooms.values()):
                return
            await asyncio.sleep(0)
        raise AssertionError("a closed room was not retired")

    async def restart(self) -> None:
        """Stop this process's rooms and start a fresh manager over the same store."""
        await self.manager.stop()
        self.out = RecordingBroadcaster()
        self.media = FakeMediaEngine()
        self.manager = RoomManager(
            self.store, self.out, media=self.media, clock=self.clock, grace_s=60
        )
        await self.manager.start()


@pytest.fixture
async def env() -> AsyncIterator[Env]:
    store = MemoryRoomStore()
    store.add_session(SESSION, settings={"sitback_minutes": 15})
    out = RecordingBroadcaster()
    media = FakeMediaEngine()
    clock = ManualClock()
    manager = RoomManager(store, out, media=media, clock=clock, grace_s=60)
    await manager.start()
    e = Env(store, out, media, clock, manager)
    yield e
    await e.manager.stop()
