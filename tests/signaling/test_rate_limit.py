"""Each room connection has an event budget: past it, events are refused and change nothing;
the first refusal is audited; a connection that keeps flooding is disconnected."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from server.db.models import AuditEntry
from server.domain import AuditOutcome
from server.signaling.ratelimit import FLOOD_REFUSALS, WINDOW_S, EventBudget

from .conftest import Server, make_server

RATE, BURST = 5, 20


def test_budget_refills_at_its_rate_and_caps_at_its_burst() -> None:
    b = EventBudget(rate=2.0, burst=3.0, tokens=3.0)
    assert [b.take(100.0) for _ in range(4)] == [True, True, True, False]
    assert b.first_refusal_in_window
    assert not b.take(100.4)  # 0.8 of a token
    assert b.take(100.6) and not b.take(100.6)
    assert [b.take(1000.0) for _ in range(4)] == [True, True, True, False]  # capped at 3
    assert not b.take(999.0)  # a clock stepped back refills nothing


def test_refusals_are_counted_per_window_up_to_flooding() -> None:
    b = EventBudget(rate=1.0, burst=1.0, tokens=0.0)
    for _ in range(FLOOD_REFUSALS):
        assert not b.take(5.0)
    assert not b.flooding
    assert not b.take(5.0)
    assert b.flooding
    b.take(5.0 + WINDOW_S + 0.5)  # a token came back
    assert not b.take(5.0 + WINDOW_S + 0.5)
    assert b.first_refusal_in_window and not b.flooding


@pytest.fixture
async def limited(sqlite_url: str, tmp_path: Path) -> AsyncIterator[Server]:
    s = await make_server(
        sqlite_url, tmp_path, settings={"room_event_rate": RATE, "room_event_burst": BURST}
    )
    yield s
    for p in s.peers:
        await p.close()
    await s.stop()


async def test_over_budget_events_are_refused_and_audited_once(limited: Server) -> None:
    member = limited.peer(limited.world.members[0])
    await member.enter()  # hello, agreement.accept, join: 3 events of the budget
    replies = [await member.call("hand.raise", {}) for _ in range(BURST)]
    codes = [r["error"]["code"] if not r["ok"] else "ok" for r in replies]
    # The room answered until the budget ran out (the clock stands still), then nothing
    # got through, and the hand stays as the first accepted event left it.
    assert codes.index("rate_limited") == BURST - 3
    assert set(codes[BURST - 3 :]) == {"rate_limited"}
    assert codes[0] == "ok"
    # The clock moves on: the budget is back and the connection works.
    limited.clock.advance(1000 * BURST // RATE)
    reply = await member.call("hand.lower", {})
    assert reply["ok"], reply
    rows = await limited.db_rows(AuditEntry, actor_id=member.person_id)
    limited_rows = [r for r in rows if r.action == "signal.rate_limited"]
    assert len(limited_rows) == 1 and limited_rows[0].outcome == AuditOutcome.REFUSED


async def test_a_flooding_connection_is_disconnected(limited: Server) -> None:
    member = limited.peer(limited.world.members[1])
    await member.enter()
    gone = asyncio.Event()

    @member.sio.on("disconnect", namespace="/room")  # type: ignore[untyped-decorator]
    async def on_disconnect(*_: object) -> None:
        gone.set()

    for _ in range(BURST + FLOOD_REFUSALS + 1):
        if gone.is_set():
            break
        await member.sio.emit("hand.raise", {}, namespace="/room")
    await asyncio.wait_for(gone.wait(), 10)
    rows = await limited.db_rows(AuditEntry, actor_id=member.person_id)
    assert any("flooding" in str(r.details) for r in rows if r.action == "signal.rate_limited")
    # Others in the room are unaffected.
    other = limited.peer(limited.world.members[2])
    await other.enter()
    assert (await other.call("hand.raise", {}))["ok"]
