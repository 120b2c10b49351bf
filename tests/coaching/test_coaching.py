"""After a workshop every participant is offered the 1-hour coaching call (opt-out): the offer
follows from the real room's end (attendance made final first), the person may decline it,
the coach (or a coordinator) books it through the scheduling, declining a booked call cancels
it; nobody else can see or decide someone's offer."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from server.auth.cookies import bound_csrf
from server.coaching.models import CoachingOffer, OfferStatus
from server.db.engine import Database
from server.db.models import AuditEntry, Group, Membership, ScheduledSession
from server.domain import AuditOutcome, GroupRole, ProtocolKind, SessionStatus
from tests.conftest import SECRET, Api
from tests.foundation.seed import session_cookie
from tests.signaling.conftest import Server, make_server
from tests.signaling.test_breakouts import as_workshop


async def api_as(server: Server, person_id: int) -> Api:
    api = Api(server.url)
    token = await session_cookie(server.world.db_url, person_id)
    api.http.cookie_jar.update_cookies(
        {"circle_session": token, "circle_csrf": bound_csrf(SECRET, token)}
    )
    return api


async def offers(server: Server) -> list[CoachingOffer]:
    return list(await server.db_rows(CoachingOffer))


@pytest.fixture
async def after_workshop(sqlite_url: str, tmp_path: Path) -> AsyncIterator[Server]:
    """A workshop whose leader and four members met; three members stayed, one never came."""
    server = await make_server(sqlite_url, tmp_path, members=5)
    await as_workshop(server)
    w = server.world
    leader = server.peer(w.leader, GroupRole.LEADER)
    await leader.enter()
    members = [server.peer(pid) for pid in w.members[:3]]
    for m in members:
        await m.enter()
    assert (await leader.call("protocol.command", {"command": "advance"}))["ok"]
    server.clock.advance(200 * 60_000)
    assert (await leader.call("protocol.command", {"command": "end"}))["ok"]
    for p in (*members, leader):
        await p.call("leave", {})
    deadline = time.monotonic() + 15
    while len(await offers(server)) < 3:  # the room closes, attendance, then the offers
        assert time.monotonic() < deadline, "no coaching offers after the workshop"
        await asyncio.sleep(0.1)
    yield server
    for p in server.peers:
        await p.close()
    await server.stop()


async def test_every_participant_is_offered_one_call_and_nobody_else(
    after_workshop: Server,
) -> None:
    server = after_workshop
    w = server.world
    rows = await offers(server)
    assert sorted(o.person_id for o in rows) == sorted(w.members[:3])  # not the absent one
    assert all(o.status is OfferStatus.OFFERED and o.coach_id == w.leader for o in rows)
    me = await api_as(server, w.members[0])
    absent = await api_as(server, w.members[4])
    try:
        status, body = await me.get("/api/me/coaching")
        assert status == 200 and len(body) == 1
        assert body[0]["status"] == "offered" and body[0]["coach"] == "Leader"
        assert body[0]["call_minutes"] == 60 and body[0]["starts_at"] is None
        assert (await absent.get("/api/me/coaching"))[1] == []
    finally:
        await me.close()
        await absent.close()


async def test_declining_booking_and_cancelling_through_the_scheduling(
    after_workshop: Server,
) -> None:
    server = after_workshop
    w = server.world
    by_person = {o.person_id: o.id for o in await offers(server)}
    m0, m1 = w.members[0], w.members[1]
    a0, a1 = await api_as(server, m0), await api_as(server, m1)
    coach, other = await api_as(server, w.leader), await api_as(server, w.members[2])
    try:
        # someone else's offer is not theirs to decline (and not even shown to exist)
        status, _ = await a1.post(f"/api/me/coaching/{by_person[m0]}/decline", {})
        assert status == 404
        status, body = await a0.post(
            f"/api/me/coaching/{by_person[m0]}/decline", {"reason": "not now"}
        )
        assert status == 200 and body["status"] == "declined"
        status, body = await a0.post(f"/api/me/coaching/{by_person[m0]}/decline", {})
        assert status == 409 and "status" in body["error"]["details"]["fields"]

        tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
        slot = {"date": tomorrow, "time": "10:00:00", "timezone": "Europe/Amsterdam"}
        # only the coach (or a coordinator) books
        status, _ = await other.post(f"/api/coaching/{by_person[m1]}/book", slot)
        assert status == 403
        refused = await server.db_rows(AuditEntry, action="coaching.book")
        assert [r.actor_id for r in refused] == [w.members[2]]
        assert refused[0].outcome is AuditOutcome.REFUSED
        late = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
        status, body = await coach.post(
            f"/api/coaching/{by_person[m1]}/book", {**slot, "date": late}
        )
        assert status == 400 and "date" in body["error"]["details"]["fields"]
        status, body = await coach.post(f"/api/coaching/{by_person[m1]}/book", slot)
        assert status == 200, body
        assert body["status"] == "booked" and body["starts_at"] is not None
        call = (await server.db_rows(ScheduledSession, id=body["session_id"]))[0]
        assert call.duration_minutes == 60
        group = (await server.db_rows(Group, id=call.group_id))[0]
        assert group.protocol is ProtocolKind.COACHING and group.capacity == 1
        roster = {
            (m.person_id, m.role) for m in await server.db_rows(Membership, group_id=group.id)
        }
        assert roster == {(w.leader, GroupRole.LEADER), (m1, GroupRole.MEMBER)}
        # the declined offer cannot be booked
        status, _ = await coach.post(f"/api/coaching/{by_person[m0]}/book", slot)
        assert status == 409
        # opting out of a booked call cancels it
        status, body = await a1.post(f"/api/me/coaching/{by_person[m1]}/decline", {})
        assert status == 200 and body["status"] == "declined"
        call = (await server.db_rows(ScheduledSession, id=call.id))[0]
        assert call.status is SessionStatus.CANCELLED
    finally:
        for api in (a0, a1, coach, other):
            await api.close()


async def test_a_balint_session_makes_no_offers(sqlite_url: str, tmp_path: Path) -> None:
    from server.coaching.service import offer_after_workshop

    server = await make_server(sqlite_url, tmp_path, members=2)
    try:
        db = Database(server.world.db_url)
        try:
            assert await offer_after_workshop(db, server.world.session_id) == 0
            async with db.sessionmaker() as s:
                assert (await s.scalars(select(CoachingOffer))).all() == []
        finally:
            await db.dispose()
    finally:
        await server.stop()
