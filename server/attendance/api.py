"""REST: a series' attendance (JSON, CSV), excuses said ahead, leaders' corrections."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, StringConstraints
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.api.context import Ctx
from server.api.routing import Router
from server.attendance import report, service
from server.attendance.access import Access, group_access, require_leader
from server.attendance.models import AttendanceExcuse, AttendanceRecordRow, AttendanceStatus
from server.db.models import Person, ScheduledSession, Series
from server.errors import NotFound

router = Router("attendance")


def _clean(v: str) -> str:
    if any(ord(c) < 32 and c not in "\n\t" for c in v):
        raise ValueError("must not contain control characters")
    if not v.strip():
        raise ValueError("must not be blank")
    return v.strip()


Reason = Annotated[str, StringConstraints(min_length=1, max_length=500), AfterValidator(_clean)]


class ExcuseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: Reason | None = None


class ExcuseOut(BaseModel):
    session_id: int
    person_id: int
    declared_at: datetime


class ExcuseSeen(BaseModel):
    """What leaders see before the session: who said they cannot come, and why."""

    person_id: int
    display_name: str
    reason: str | None
    declared_at: datetime


class CorrectionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: AttendanceStatus
    reason: Reason


def _now() -> datetime:
    return datetime.now(UTC)


async def _series(ctx: Ctx, s: AsyncSession, action: str) -> tuple[Series, Access]:
    series = await s.get(Series, ctx.path_int("series_id"))
    if series is None:
        raise NotFound("no such series")
    return series, await group_access(ctx, s, series.group_id, action)


async def _session(ctx: Ctx, s: AsyncSession) -> ScheduledSession:
    session = await s.get(ScheduledSession, ctx.path_int("session_id"))
    if session is None:
        raise NotFound("no such session")
    return session


async def series_report(ctx: Ctx, action: str) -> dict[str, Any]:
    async with ctx.sessionmaker() as s:
        series, access = await _series(ctx, s, action)
        data = await report.load(s, series.id)
    return report.build(
        data,
        _now(),
        only_person=None if access.sees_everyone else access.person_id,
        leader_view=access.sees_everyone,
    )


@router.get(
    "/api/series/{series_id}/attendance",
    response=dict[str, Any],
    summary="A series' attendance grid, rates and regularity (members: their own row only)",
)
async def get_series_attendance(ctx: Ctx) -> dict[str, Any]:
    return await series_report(ctx, "attendance.read")


@router.get(
    "/api/series/{series_id}/attendance.csv",
    response=bytes,
    content_type="text/csv",
    summary="The same as CSV: one row per member, each session's status as text",
)
async def get_series_attendance_csv(ctx: Ctx) -> bytes:
    return report.to_csv(await series_report(ctx, "attendance.csv")).encode()


@router.put(
    "/api/sessions/{session_id}/excuse",
    body=ExcuseIn,
    response=ExcuseOut,
    summary="I can't come to this session (an optional reason, seen by leaders only)",
)
async def put_excuse(ctx: Ctx, body: ExcuseIn) -> ExcuseOut:
    async with ctx.sessionmaker() as s, s.begin():
        session = await _session(ctx, s)
        await group_access(ctx, s, session.group_id, "attendance.excuse")
        excuse = await service.declare_excuse(s, session, ctx.me().id, body.reason, _now())
    return ExcuseOut(
        session_id=excuse.session_id, person_id=excuse.person_id, declared_at=excuse.declared_at
    )


@router.delete("/api/sessions/{session_id}/excuse", summary="I can come after all")
async def delete_excuse(ctx: Ctx) -> None:
    async with ctx.sessionmaker() as s, s.begin():
        session = await _session(ctx, s)
        await group_access(ctx, s, session.group_id, "attendance.excuse")
        await service.withdraw_excuse(s, session, ctx.me().id, _now())


@router.get(
    "/api/me/excuses",
    response=list[ExcuseOut],
    summary="The upcoming sessions I said I cannot come to",
)
async def my_excuses(ctx: Ctx) -> list[ExcuseOut]:
    async with ctx.sessionmaker() as s:
        rows = await s.scalars(
            select(AttendanceExcuse)
            .join(ScheduledSession, ScheduledSession.id == AttendanceExcuse.session_id)
            .where(AttendanceExcuse.person_id == ctx.me().id, ScheduledSession.starts_at > _now())
            .order_by(ScheduledSession.starts_at)
        )
        return [
            ExcuseOut(session_id=e.session_id, person_id=e.person_id, declared_at=e.declared_at)
            for e in rows
        ]


@router.get(
    "/api/sessions/{session_id}/excuses",
    response=list[ExcuseSeen],
    summary="Who said they cannot come, and why (leaders and coordinators)",
)
async def list_excuses(ctx: Ctx) -> list[ExcuseSeen]:
    async with ctx.sessionmaker() as s:
        session = await _session(ctx, s)
        await require_leader(ctx, s, session.group_id, "attendance.excuses")
        rows = await s.execute(
            select(AttendanceExcuse, Person.display_name)
            .join(Person, Person.id == AttendanceExcuse.person_id)
            .where(AttendanceExcuse.session_id == session.id)
            .order_by(AttendanceExcuse.declared_at)
        )
        return [
            ExcuseSeen(
                person_id=e.person_id, display_name=n, reason=e.reason, declared_at=e.declared_at
            )
            for e, n in rows.all()
        ]


@router.post(
    "/api/sessions/{session_id}/attendance/{person_id}/corrections",
    body=CorrectionIn,
    response=dict[str, Any],
    status=201,
    summary="Correct a member's record (or mark them excused), with a reason; audited",
)
async def post_correction(ctx: Ctx, body: CorrectionIn) -> dict[str, Any]:
    person_id = ctx.path_int("person_id")
    async with ctx.sessionmaker() as s, s.begin():
        session = await _session(ctx, s)
        access = await require_leader(ctx, s, session.group_id, "attendance.correct")
        record = await s.get(AttendanceRecordRow, (session.id, person_id))
        fix = await service.correct(
            s,
            session,
            person_id,
            body.status,
            body.reason,
            access.person_id,
            _now(),
            None if record is None else record.status,
        )
    return {
        "session_id": session.id,
        "person_id": person_id,
        "status": fix.status.value,
        "derived_status": None if record is None else record.status.value,
        "reason": fix.reason,
        "at": fix.at.isoformat(),
    }
