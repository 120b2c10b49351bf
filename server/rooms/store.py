"""The SQL implementation of :class:`~server.rooms.ports.RoomStore` (SQLite or PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import bindparam, delete, exists, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from server import audit
from server.db.engine import Database
from server.db.hosts import SessionHost
from server.db.models import (
    AgreementAcceptance,
    AttendanceEvent,
    Group,
    Person,
    RoomLease,
    RoomState,
    ScheduledSession,
    Series,
)
from server.domain import AuditOutcome, SessionStatus
from server.errors import NotFound
from server.lifecycle import FINAL, Change
from server.metrics import METRICS
from server.rooms.models import OutageCause, SessionOutage
from server.session_status import write_status

from .ports import JSON, AttendanceRecord, LeaseLost, SessionClosed, SessionInfo

_UPDATE_STATE = (
    update(RoomState)
    .where(RoomState.session_id == bindparam("sid"))
    .values(version=bindparam("v"), state=bindparam("s"), updated_at=bindparam("u"))
)
# The same update, only while ``owner`` holds the room's lease (one statement: no window).
_UPDATE_STATE_FENCED = _UPDATE_STATE.where(
    exists().where(RoomLease.session_id == bindparam("sid"), RoomLease.owner == bindparam("owner"))
)
# ... and only while the session is neither cancelled nor ended (by someone else).
_GOING_ON = exists().where(
    ScheduledSession.id == bindparam("sid"), ScheduledSession.status.not_in(sorted(FINAL))
)
_UPDATES = {
    (False, False): _UPDATE_STATE.where(_GOING_ON),
    (True, False): _UPDATE_STATE_FENCED.where(_GOING_ON),
    (False, True): _UPDATE_STATE,
    (True, True): _UPDATE_STATE_FENCED,
}
_INSERT_STATE = insert(RoomState).values(
    session_id=bindparam("sid"),
    version=bindparam("v"),
    state=bindparam("s"),
    updated_at=bindparam("u"),
)


def _dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def last_alive(state: JSON | None, renewed_ms: int, now_ms: int) -> int:
    """A crashed room's last sign of life: its last saved change (the room's clock) or its
    last lease renewal (the wall clock), whichever is later, never after ``now_ms``. A renewal
    that reads as later than now is from another clock (a test's fake clock) and is ignored."""
    saved = state.get("saved_at_ms") if state else None
    times = [t for t in (saved, renewed_ms) if isinstance(t, int) and t <= now_ms]
    return max(times) if times else now_ms


async def _put_outage(
    conn: AsyncConnection, session_id: int, start_ms: int, end_ms: int | None, cause: OutageCause
) -> None:
    """One row per outage, keyed by its start: a second call completes the first."""
    await conn.execute(
        delete(SessionOutage).where(
            SessionOutage.session_id == session_id, SessionOutage.started_at == _dt(start_ms)
        )
    )
    await conn.execute(
        insert(SessionOutage).values(
            session_id=session_id,
            started_at=_dt(start_ms),
            ended_at=None if end_ms is None else _dt(end_ms),
            cause=cause,
        )
    )


class SqlRoomStore:
    """With ``owner`` (this process's node id) every save is fenced by the room's lease: a
    process that lost it (stalled past it while another took over) writes nothing and gets
    :class:`LeaseLost`."""

    def __init__(self, db: Database, *, owner: str | None = None) -> None:
        self._sessionmaker: async_sessionmaker[AsyncSession] = db.sessionmaker
        self._engine = db.engine
        self._owner = owner

    async def load_session(self, session_id: int) -> SessionInfo:
        async with self._sessionmaker() as s:
            row = (
                await s.execute(
                    select(ScheduledSession, Group, Series)
                    .join(Group, Group.id == ScheduledSession.group_id)
                    .outerjoin(Series, Series.id == ScheduledSession.series_id)
                    .where(ScheduledSession.id == session_id)
                )
            ).first()
            host = await s.get(SessionHost, session_id) if row is not None else None
        if row is None:
            raise NotFound(f"session {session_id} does not exist")
        session, group, series = row
        return SessionInfo(
            session_id=session.id,
            group_id=group.id,
            series_id=series.id if series is not None else None,
            protocol=group.protocol,
            capacity=group.capacity,
            settings=dict(group.settings or {}),
            status=session.status,
            starts_at=session.starts_at,
            lobby_minutes=session.lobby_minutes,
            duration_minutes=session.duration_minutes,
            agreement_version=series.agreement_version if series is not None else "1",
            planned_sessions=series.planned_sessions if series is not None else None,
            host_id=host.person_id if host is not None else None,
        )

    async def load_state(self, session_id: int) -> tuple[int, JSON] | None:
        async with self._sessionmaker() as s:
            row = await s.get(RoomState, session_id)
        return None if row is None else (row.version, dict(row.state))

    async def save(
        self,
        session_id: int,
        *,
        version: int | None,
        state: JSON | None,
        attendance: list[AttendanceRecord],
        change: Change | None = None,
        final: bool = False,
    ) -> SessionStatus | None:
        """One transaction: the session status (a compare-and-set), the room state (upsert),
        attendance events. Returns the session's status after ``change``, if one was asked.

        Core statements on a connection, not the ORM: this runs on every change of every room
        (about half the CPU of an ORM session per change on SQLite)."""
        status: SessionStatus | None = None
        async with self._engine.begin() as conn:
            if change is not None:
                written = await write_status(conn, session_id, change)
                status = written.status
                if not written.ok and (status is None or status in FINAL):
                    await self._check_lease(conn, session_id)
                    raise SessionClosed(session_id, status or SessionStatus.CANCELLED)
            if version is not None and state is not None:
                values = {"sid": session_id, "v": version, "s": state, "u": datetime.now(UTC)}
                fenced = self._owner is not None
                if fenced:
                    values["owner"] = self._owner
                result = await conn.execute(_UPDATES[fenced, final], values)
                if result.rowcount == 0:
                    await self._check_lease(conn, session_id)
                    if not final:
                        await self._check_going_on(conn, session_id)
                    values.pop("owner", None)
                    await conn.execute(_INSERT_STATE, values)
            elif attendance or change is not None:
                await self._check_lease(conn, session_id)
            if attendance:
                await conn.execute(
                    insert(AttendanceEvent),
                    [
                        {
                            "session_id": session_id,
                            "person_id": a.person_id,
                            "kind": a.kind,
                            "at": _dt(a.at_ms),
                            "reason": a.reason,
                        }
                        for a in attendance
                    ],
                )
        METRICS.presence_saved(a.kind for a in attendance)
        return status

    async def _check_going_on(self, conn: AsyncConnection, session_id: int) -> None:
        status = await conn.scalar(
            select(ScheduledSession.status).where(ScheduledSession.id == session_id)
        )
        if status is None or status in FINAL:
            raise SessionClosed(session_id, status or SessionStatus.CANCELLED)

    async def _check_lease(self, conn: AsyncConnection, session_id: int) -> None:
        if self._owner is None:
            return
        holder = await conn.scalar(
            select(RoomLease.owner).where(RoomLease.session_id == session_id)
        )
        if holder != self._owner:
            raise LeaseLost(
                f"room {session_id} is now run by {holder or 'no process'}; this copy stops"
            )

    async def claim(
        self, session_id: int, owner: str, ttl_ms: int, *, dead: str | None = None
    ) -> str | None:
        """One statement: insert the lease, or take it over if it is ours or has run out, or
        (``dead``) if that node still holds it: a compare-and-set on the holder the caller
        found dead, so of two nodes taking over only one wins, and a lease that changed hands
        meanwhile is not taken."""
        now = datetime.now(UTC)
        until = now + timedelta(milliseconds=ttl_ms)
        takeable = or_(RoomLease.owner == owner, RoomLease.lease_until < now)
        if dead is not None:
            takeable = or_(takeable, RoomLease.owner == dead)
        async with self._engine.begin() as conn:
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            stmt = dialect.insert(RoomLease).values(
                session_id=session_id, owner=owner, lease_until=until
            )
            stmt = stmt.on_conflict_do_update(
                index_elements=[RoomLease.session_id],
                set_={"owner": owner, "lease_until": until},
                where=takeable,
            ).returning(RoomLease.owner)
            if (await conn.execute(stmt)).first() is not None:
                return None
            holder = await conn.scalar(
                select(RoomLease.owner).where(RoomLease.session_id == session_id)
            )
        return holder if holder is not None else "?"

    async def lease_holder(self, session_id: int) -> str | None:
        async with self._engine.connect() as conn:
            holder: str | None = await conn.scalar(
                select(RoomLease.owner).where(
                    RoomLease.session_id == session_id, RoomLease.lease_until > datetime.now(UTC)
                )
            )
        return holder

    async def release(self, session_id: int, owner: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                delete(RoomLease).where(
                    RoomLease.session_id == session_id, RoomLease.owner == owner
                )
            )

    async def recover(self, owner: str, lease_ms: int, now_ms: int) -> dict[int, int]:
        found: dict[int, int] = {}
        async with self._engine.begin() as conn:
            rows = (
                await conn.execute(
                    select(RoomLease.session_id, RoomLease.lease_until, RoomState.state)
                    .join(ScheduledSession, ScheduledSession.id == RoomLease.session_id)
                    .outerjoin(RoomState, RoomState.session_id == RoomLease.session_id)
                    .where(
                        RoomLease.owner == owner,
                        ScheduledSession.status.in_([SessionStatus.OPEN, SessionStatus.LIVE]),
                    )
                )
            ).all()
            for session_id, lease_until, state in rows:
                down = last_alive(state, _ms(lease_until) - lease_ms, now_ms)
                found[session_id] = down
                await _put_outage(conn, session_id, down, now_ms, OutageCause.CRASH)
            await conn.execute(delete(RoomLease).where(RoomLease.owner == owner))
        return found

    async def record_outage(
        self, session_id: int, start_ms: int, end_ms: int | None, cause: OutageCause
    ) -> None:
        async with self._engine.begin() as conn:
            await _put_outage(conn, session_id, start_ms, end_ms, cause)

    async def has_accepted(self, person_id: int, series_id: int, version: str) -> bool:
        async with self._sessionmaker() as s:
            found = await s.scalar(
                select(AgreementAcceptance.id).where(
                    AgreementAcceptance.person_id == person_id,
                    AgreementAcceptance.series_id == series_id,
                    AgreementAcceptance.version == version,
                )
            )
        return found is not None

    async def accept_agreement(
        self, person_id: int, series_id: int, version: str, at_ms: int
    ) -> None:
        try:
            async with self._sessionmaker() as s, s.begin():
                s.add(
                    AgreementAcceptance(
                        person_id=person_id,
                        series_id=series_id,
                        version=version,
                        accepted_at=_dt(at_ms),
                    )
                )
        except IntegrityError:
            pass  # accepted already (another tab): the first acceptance and its time stand

    async def display_name(self, person_id: int) -> str:
        async with self._sessionmaker() as s:
            name = await s.scalar(select(Person.display_name).where(Person.id == person_id))
        if name is None:
            raise NotFound(f"person {person_id} does not exist")
        return name

    async def audit(
        self,
        *,
        actor_id: int | None,
        action: str,
        target: str,
        outcome: AuditOutcome,
        details: JSON | None = None,
    ) -> None:
        await audit.record_now(
            self._sessionmaker,
            actor_id=actor_id,
            action=action,
            target=target,
            outcome=outcome,
            details=details,
        )
