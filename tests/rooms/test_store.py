"""The SQL room store on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from server.db.engine import Database
from server.db.models import AttendanceEvent, AuditEntry, ScheduledSession
from server.domain import AttendanceKind, AuditOutcome, ProtocolKind, SessionStatus
from server.errors import NotFound
from server.lifecycle import Change
from server.rooms.ports import AttendanceRecord, SessionClosed
from server.rooms.store import SqlRoomStore
from server.session_status import write_status
from tests.signaling.conftest import seed

T = 1_700_000_000_000


async def test_store_round_trip(db_url: str) -> None:
    w = await seed(db_url, members=2)
    db = Database(db_url)
    store = SqlRoomStore(db)
    try:
        info = await store.load_session(w.session_id)
        assert info.protocol is ProtocolKind.BALINT and info.capacity == 12
        assert info.series_id == w.series_id and info.agreement_version == "2"
        assert info.planned_sessions == 6 and info.status is SessionStatus.OPEN
        with pytest.raises(NotFound):
            await store.load_session(999_999)

        assert await store.load_state(w.session_id) is None
        await store.save(
            w.session_id,
            version=1,
            state={"a": [1, 2]},
            attendance=[
                AttendanceRecord(w.members[0], AttendanceKind.JOIN, T),
            ],
            change=Change.START,
        )
        await store.save(
            w.session_id,
            version=2,
            state={"a": [3]},
            attendance=[
                AttendanceRecord(w.members[0], AttendanceKind.DISCONNECT, T + 1000, "network"),
                AttendanceRecord(w.members[0], AttendanceKind.RECONNECT, T + 2000),
            ],
        )
        assert await store.load_state(w.session_id) == (2, {"a": [3]})

        async with db.sessionmaker() as s:
            session = await s.get(ScheduledSession, w.session_id)
            assert session is not None and session.status is SessionStatus.LIVE
        async with db.sessionmaker() as s:
            events = (await s.scalars(select(AttendanceEvent).order_by(AttendanceEvent.id))).all()
        assert [e.kind for e in events] == [
            AttendanceKind.JOIN,
            AttendanceKind.DISCONNECT,
            AttendanceKind.RECONNECT,
        ]
        assert int(events[1].at.timestamp() * 1000) == T + 1000 and events[1].reason == "network"

        assert not await store.has_accepted(w.members[0], w.series_id, "2")
        await store.accept_agreement(w.members[0], w.series_id, "2", T)
        await store.accept_agreement(w.members[0], w.series_id, "2", T + 5)  # idempotent
        assert await store.has_accepted(w.members[0], w.series_id, "2")
        assert not await store.has_accepted(w.members[0], w.series_id, "3")
        assert await store.display_name(w.leader) == "Leader"

        await store.audit(
            actor_id=w.members[1],
            action="room.advance",
            target="session:1",
            outcome=AuditOutcome.REFUSED,
            details={"code": "forbidden"},
        )
        async with db.sessionmaker() as s:
            audits = (await s.scalars(select(AuditEntry))).all()
        assert [(a.actor_id, a.outcome) for a in audits] == [(w.members[1], AuditOutcome.REFUSED)]
    finally:
        await db.dispose()


async def test_a_save_never_overwrites_a_cancelled_session(db_url: str) -> None:
    """Defect 1 (issue 11): a cancel written by another process while the room is open; the
    room's next save writes nothing (not ``open`` over ``cancelled``, no state, no attendance)."""
    w = await seed(db_url, members=2, status=SessionStatus.SCHEDULED)
    db = Database(db_url)
    store = SqlRoomStore(db)
    try:
        await store.save(w.session_id, version=1, state={"v": 1}, attendance=[])
        async with db.engine.begin() as conn:
            assert (await write_status(conn, w.session_id, Change.CANCEL)).ok
        join = AttendanceRecord(w.members[0], AttendanceKind.JOIN, T)
        with pytest.raises(SessionClosed) as caught:
            await store.save(
                w.session_id, version=2, state={"v": 2}, attendance=[join], change=Change.FIRST_JOIN
            )
        assert caught.value.code == "cancelled"
        with pytest.raises(SessionClosed):
            await store.save(w.session_id, version=2, state={"v": 2}, attendance=[join])
        assert await store.load_state(w.session_id) == (1, {"v": 1})
        async with db.sessionmaker() as s:
            session = await s.get(ScheduledSession, w.session_id)
            assert session is not None and session.status is SessionStatus.CANCELLED
            assert not (await s.scalars(select(AttendanceEvent))).all()
    finally:
        await db.dispose()
