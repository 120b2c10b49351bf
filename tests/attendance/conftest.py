"""Attendance test data: held sessions with their raw events, written straight to the DB."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from server.attendance.models import AttendanceExcuse
from server.auth.cookies import bound_csrf
from server.db.engine import Database
from server.db.models import AttendanceEvent, Membership, ScheduledSession
from server.domain import AttendanceKind, SessionStatus
from tests.conftest import SECRET, Api, Live
from tests.foundation.seed import World, session_cookie

MIN = timedelta(minutes=1)
J, L, D, R = (
    AttendanceKind.JOIN,
    AttendanceKind.LEAVE,
    AttendanceKind.DISCONNECT,
    AttendanceKind.RECONNECT,
)


async def add_session(
    url: str,
    w: World,
    index: int,
    starts_at: datetime,
    status: SessionStatus,
    events: dict[int, list[tuple[AttendanceKind, float]]],
    *,
    excused: tuple[int, ...] = (),
    sequence: int = 0,
) -> int:
    """A 60-minute session of ``w``'s series; events as (kind, minutes after the start)."""
    db = Database(url)
    try:
        async with db.sessionmaker() as s, s.begin():
            sess = ScheduledSession(
                series_id=w.series_id,
                group_id=w.group_id,
                index=index,
                starts_at=starts_at,
                timezone="UTC",
                duration_minutes=60,
                status=status,
                sequence=sequence,
            )
            s.add(sess)
            await s.flush()
            for pid, evs in events.items():
                for kind, minutes in evs:
                    s.add(
                        AttendanceEvent(
                            session_id=sess.id,
                            person_id=pid,
                            kind=kind,
                            at=starts_at + minutes * MIN,
                        )
                    )
            for pid in excused:
                s.add(
                    AttendanceExcuse(
                        session_id=sess.id,
                        person_id=pid,
                        reason="night shift",
                        declared_at=starts_at - 60 * MIN,
                    )
                )
            return sess.id
    finally:
        await db.dispose()


async def backdate_memberships(url: str, group_id: int, at: datetime) -> None:
    """The roster was formed before the series (memberships are dated: a member who joined
    later is not expected at the sessions before)."""
    db = Database(url)
    try:
        async with db.engine.begin() as conn:
            await conn.execute(
                update(Membership).where(Membership.group_id == group_id).values(created_at=at)
            )
    finally:
        await db.dispose()


async def as_person(live: Live, url: str, person_id: int) -> Api:
    api = Api(live.url)
    token = await session_cookie(url, person_id)
    # the CSRF token is bound to the login (server/auth/cookies.py)
    api.http.cookie_jar.update_cookies(
        {"circle_session": token, "circle_csrf": bound_csrf(SECRET, token)}
    )
    return api


def days_ago(n: int) -> datetime:
    now = datetime.now(UTC).replace(microsecond=0, second=0)
    return now - timedelta(days=n)
