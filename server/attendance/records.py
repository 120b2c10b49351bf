"""Derived attendance records in the database: rebuilt from the raw events, per session.

``rebuild`` reads a batch of sessions with their events, outages, expected members and
excuses, derives every record (server.attendance.derive) and replaces the batch's records in
one transaction. It is the only writer of ``attendance_records``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from server.attendance.derive import Event, Rules, derive, held_window
from server.attendance.models import AttendanceExcuse, AttendanceRecordRow
from server.db.engine import Database
from server.db.hosts import SessionHost
from server.db.models import AttendanceEvent, Membership, ScheduledSession
from server.domain import GroupRole, MembershipStatus, SessionStatus
from server.rooms.models import SessionOutage

HELD = (SessionStatus.LIVE, SessionStatus.ENDED)
LEADING = (GroupRole.LEADER, GroupRole.CO_LEADER)
BATCH = 500


def ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


@dataclass(frozen=True, slots=True)
class _Session:
    id: int
    group_id: int
    starts_at: datetime
    duration_minutes: int

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(minutes=self.duration_minutes)


async def rebuild(
    db: Database,
    rules: Rules,
    *,
    session_ids: Sequence[int] | None = None,
    series_id: int | None = None,
) -> int:
    """Rebuild the records of the given sessions (or a series', or every session's). Sessions
    not held (never live, cancelled) get none. Returns the number of records written."""
    query = select(ScheduledSession.id).order_by(ScheduledSession.id)
    if session_ids is not None:
        query = query.where(ScheduledSession.id.in_(list(session_ids)))
    if series_id is not None:
        query = query.where(ScheduledSession.series_id == series_id)
    async with db.engine.connect() as conn:
        ids = list((await conn.scalars(query)).all())
    written = 0
    for i in range(0, len(ids), BATCH):
        async with db.engine.begin() as conn:
            written += await _rebuild_batch(conn, ids[i : i + BATCH], rules)
    return written


async def rebuild_after_end(db: Database, rules: Rules, session_id: int) -> None:
    """The rooms' hook: an ended room has closed, so its session's records are final."""
    await rebuild(db, rules, session_ids=[session_id])


async def _rebuild_batch(conn: AsyncConnection, ids: list[int], rules: Rules) -> int:
    rows = (
        await conn.execute(
            select(
                ScheduledSession.id,
                ScheduledSession.group_id,
                ScheduledSession.starts_at,
                ScheduledSession.duration_minutes,
            ).where(ScheduledSession.id.in_(ids), ScheduledSession.status.in_(HELD))
        )
    ).all()
    sessions = [_Session(*r) for r in rows]
    events: dict[tuple[int, int], list[Event]] = defaultdict(list)
    outages: dict[int, list[tuple[int, int | None]]] = defaultdict(list)
    excused: set[tuple[int, int]] = set()
    expected: dict[int, list[tuple[int, GroupRole, datetime]]] = defaultdict(list)
    hosts: dict[int, int] = {}  # session -> the host who ran a peer-led meeting
    held_ids = [s.id for s in sessions]
    if held_ids:
        for sid, pid, kind, at in await conn.execute(
            select(
                AttendanceEvent.session_id,
                AttendanceEvent.person_id,
                AttendanceEvent.kind,
                AttendanceEvent.at,
            )
            .where(AttendanceEvent.session_id.in_(held_ids))
            .order_by(AttendanceEvent.at, AttendanceEvent.id)
        ):
            events[(sid, pid)].append(Event(kind, ms(at)))
        for sid, start, end in await conn.execute(
            select(
                SessionOutage.session_id, SessionOutage.started_at, SessionOutage.ended_at
            ).where(SessionOutage.session_id.in_(held_ids))
        ):
            outages[sid].append((ms(start), None if end is None else ms(end)))
        for sid, pid in await conn.execute(
            select(AttendanceExcuse.session_id, AttendanceExcuse.person_id).where(
                AttendanceExcuse.session_id.in_(held_ids)
            )
        ):
            excused.add((sid, pid))
        for sid, pid in await conn.execute(
            select(SessionHost.session_id, SessionHost.person_id).where(
                SessionHost.session_id.in_(held_ids)
            )
        ):
            hosts[sid] = pid
        groups = {s.group_id for s in sessions}
        for gid, pid, role, created in await conn.execute(
            select(
                Membership.group_id, Membership.person_id, Membership.role, Membership.created_at
            ).where(Membership.group_id.in_(groups), Membership.status == MembershipStatus.ACTIVE)
        ):
            expected[gid].append((pid, role, created))
    by_session: dict[int, dict[int, list[Event]]] = defaultdict(dict)
    for (sid, pid), evs in events.items():
        by_session[sid][pid] = evs
    out: list[dict[str, object]] = []
    for s in sessions:
        people = by_session.get(s.id, {})
        if not people:
            # A held session without any event: its events were removed by the retention
            # sweep (docs/privacy.md). A rebuild never turns that into absences.
            continue
        roles: dict[int, GroupRole] = {}
        for pid, role, created in expected.get(s.group_id, []):
            if created <= s.ends_at:
                roles[pid] = role
        for pid in people:
            roles.setdefault(pid, GroupRole.MEMBER)
        window = held_window(
            ms(s.starts_at), ms(s.ends_at), list(people.values()), sorted(outages.get(s.id, []))
        )
        for pid in sorted(roles):
            d = derive(people.get(pid, []), window, rules, excused=(s.id, pid) in excused)
            out.append(
                {
                    "session_id": s.id,
                    "person_id": pid,
                    "status": d.status,
                    "seconds_present": d.seconds_present,
                    "reconnects": d.reconnects,
                    "first_in": _dt(d.first_in_ms),
                    "last_out": _dt(d.last_out_ms),
                    "led": (roles[pid] in LEADING or hosts.get(s.id) == pid)
                    and d.seconds_present > 0,
                }
            )
    await conn.execute(delete(AttendanceRecordRow).where(AttendanceRecordRow.session_id.in_(ids)))
    if out:
        await conn.execute(insert(AttendanceRecordRow), out)
    return len(out)


def _dt(at_ms: int | None) -> datetime | None:
    return None if at_ms is None else datetime.fromtimestamp(at_ms / 1000, tz=UTC)
