"""REST for the coordinator pages beyond booking: undo a cancellation, group roles, an
organisation's booking zone and holidays, a group's reminder timing, bulk invitations from a
CSV file, and whether the outbox really e-mails."""

from __future__ import annotations

from datetime import UTC, date, datetime

from pydantic import BaseModel, Field, field_validator
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from server import audit
from server.api.context import Ctx, remove_from_rooms
from server.api.routing import Router
from server.api.schemas import TimeZone
from server.auth.enrolment import group_session_ids
from server.db.models import Membership, Organisation, ScheduledSession
from server.domain import STAFF_ROLES, AuditOutcome, GroupRole, MembershipStatus, RemovalReason
from server.errors import Conflict, ErrorCode, NotFound, UserError
from server.scheduling import enrolment, restore
from server.scheduling.api import CONFIG_KEY, _changed, _staff_group, _wake
from server.scheduling.calendars import (
    MAX_HOLIDAYS,
    MAX_REMINDER_MINUTES,
    MAX_REMINDERS,
    config_for,
    group_offsets,
    organisation_zone,
)
from server.scheduling.models import (
    GroupReminders,
    OrganisationCalendar,
    OrganisationHoliday,
    Purpose,
)
from server.scheduling.schemas import In, SessionOut
from server.scheduling.series import check_year
from server.scheduling.store import LEADER_ROLES, reconcile_group, supersede

router = Router("scheduling")
Day = date  # the models below have a field named ``date``


def _now() -> datetime:
    return datetime.now(UTC)


# --- undo a cancellation ------------------------------------------------------------------


@router.post(
    "/api/sessions/{session_id}/restore",
    response=SessionOut,
    status=200,
    errors=(409,),
    summary="Undo a cancellation before the session's planned start; everyone is told again",
    description="409 `not_cancelled` when the session is not cancelled, `in_past` when its "
    "planned start has passed, `schedule_refused` or `leader_double_booked` when the series' "
    "rules no longer allow it (for example a make-up took its place).",
)
async def restore_session(ctx: Ctx) -> SessionOut:
    sid = ctx.path_int("session_id")
    try:
        async with ctx.sessionmaker() as s, s.begin():
            sess = await s.get(ScheduledSession, sid)
            if sess is None:
                raise NotFound("no such session")
            await _staff_group(ctx, s, sess.group_id, "session.restore")
            cfg = await config_for(s, sess.group_id, ctx.request.app[CONFIG_KEY])
            await restore.restore_session(s, sid, actor_id=ctx.me().id, cfg=cfg, now=_now())
    except Conflict as exc:  # refused by the rules: nothing changed, and the refusal is kept
        await audit.record_now(
            ctx.sessionmaker,
            actor_id=ctx.me().id,
            action="session.restore",
            target=f"session:{sid}",
            outcome=AuditOutcome.REFUSED,
            details={"code": str(exc.code)},
        )
        raise
    return (await _changed(ctx, [sid]))[0]


# --- roles in a group ---------------------------------------------------------------------


class RoleIn(In):
    role: GroupRole


class RoleOut(BaseModel):
    person_id: int
    role: GroupRole
    status: MembershipStatus


@router.patch(
    "/api/groups/{group_id}/enrolments/{person_id}",
    body=RoleIn,
    response=RoleOut,
    errors=(409,),
    summary="Change a person's role in the group (leader, co-leader, member, ...)",
    description="409 `capacity` when making someone a member of a full group. A person in a "
    "live room of the group is taken out of it and rejoins with the new role.",
)
async def change_role(ctx: Ctx, body: RoleIn) -> RoleOut:
    group_id, person_id = ctx.path_int("group_id"), ctx.path_int("person_id")
    async with ctx.sessionmaker() as s, s.begin():
        group = await _staff_group(ctx, s, group_id, "group.role")
        m = await s.scalar(
            select(Membership)
            .where(Membership.group_id == group_id, Membership.person_id == person_id)
            .with_for_update()
        )
        if m is None or m.status is MembershipStatus.WITHDRAWN:
            raise NotFound(f"person {person_id} is not in this group")
        old = m.role
        if old is body.role:
            return RoleOut(person_id=person_id, role=m.role, status=m.status)
        if (
            body.role is GroupRole.MEMBER
            and m.status is MembershipStatus.ACTIVE
            and await enrolment.active_member_count(s, group_id) >= group.capacity
        ):
            raise Conflict(f"the group is full ({group.capacity} members)", code=ErrorCode.CAPACITY)
        m.role = body.role
        await audit.record(
            s,
            actor_id=ctx.me().id,
            action="group.role",
            target=f"group:{group_id}",
            outcome=AuditOutcome.ALLOWED,
            details={"person_id": person_id, "from": old.value, "to": body.role.value},
        )
        out = RoleOut(person_id=person_id, role=m.role, status=m.status)
        session_ids = await group_session_ids(s, group_id)
        if (old in LEADER_ROLES) != (body.role in LEADER_ROLES):
            # Questionnaire timepoints are members' own: a new leader's pending ones go, a new
            # member's are planned (with the rest of the roster's dispatches).
            await supersede(
                s,
                session_ids,
                person_id=person_id,
                purposes=[Purpose.TIMEPOINT_PRE, Purpose.TIMEPOINT_POST],
            )
            await s.flush()
            cfg = await config_for(s, group_id, ctx.request.app[CONFIG_KEY])
            await reconcile_group(s, group_id, cfg, _now())
    await remove_from_rooms(ctx, person_id, session_ids, RemovalReason.ROLE_CHANGED)
    return out


# --- an organisation's booking zone and holidays -------------------------------------------


class HolidayIn(In):
    date: Day
    name: str = Field(min_length=1, max_length=120)

    @field_validator("date")
    @classmethod
    def _year(cls, v: Day) -> Day:
        return check_year(v)


class CalendarIn(In):
    timezone: TimeZone | None = Field(None, description="the zone new series default to")
    holidays: list[HolidayIn] = Field(default_factory=list, max_length=MAX_HOLIDAYS)


class HolidayOut(BaseModel):
    date: Day
    name: str


class CalendarOut(BaseModel):
    timezone: str | None = Field(description="null: none chosen (the pages use the browser's)")
    holidays: list[HolidayOut]


async def _calendar_out(s: AsyncSession, org_id: int) -> CalendarOut:
    rows = await s.scalars(
        select(OrganisationHoliday)
        .where(OrganisationHoliday.organisation_id == org_id)
        .order_by(OrganisationHoliday.day)
    )
    return CalendarOut(
        timezone=await organisation_zone(s, org_id),
        holidays=[HolidayOut(date=h.day, name=h.name) for h in rows],
    )


async def _org(ctx: Ctx, s: AsyncSession, org_id: int, action: str) -> None:
    if await s.get(Organisation, org_id) is None:
        raise NotFound("no such organisation")
    await ctx.require_org_role(s, org_id, STAFF_ROLES, action=action)


@router.get(
    "/api/organisations/{org_id}/calendar",
    response=CalendarOut,
    summary="The organisation's booking zone and holidays (coordinators)",
)
async def get_calendar(ctx: Ctx) -> CalendarOut:
    org_id = ctx.path_int("org_id")
    async with ctx.sessionmaker() as s:
        await _org(ctx, s, org_id, "calendar.read")
        return await _calendar_out(s, org_id)


@router.put(
    "/api/organisations/{org_id}/calendar",
    body=CalendarIn,
    response=CalendarOut,
    summary="Set the booking zone and replace the holidays (series booked later skip them)",
    description="Holidays apply to series booked or re-timed afterwards; sessions already "
    "booked on a new holiday keep their time (move or cancel them).",
)
async def put_calendar(ctx: Ctx, body: CalendarIn) -> CalendarOut:
    org_id = ctx.path_int("org_id")
    days = [h.date for h in body.holidays]
    if len(set(days)) != len(days):
        dup = next(d for d in days if days.count(d) > 1)
        raise UserError(f"{dup.isoformat()} is listed twice", field="holidays")
    async with ctx.sessionmaker() as s, s.begin():
        await _org(ctx, s, org_id, "calendar.update")
        row = await s.get(OrganisationCalendar, org_id)
        if body.timezone is None:
            if row is not None:
                await s.delete(row)
        elif row is None:
            s.add(OrganisationCalendar(organisation_id=org_id, timezone=body.timezone))
        else:
            row.timezone, row.updated_at = body.timezone, _now()
        await s.execute(
            delete(OrganisationHoliday).where(OrganisationHoliday.organisation_id == org_id)
        )
        s.add_all(
            OrganisationHoliday(organisation_id=org_id, day=h.date, name=h.name.strip())
            for h in body.holidays
        )
        await audit.record(
            s,
            actor_id=ctx.me().id,
            action="calendar.update",
            target=f"organisation:{org_id}",
            outcome=AuditOutcome.ALLOWED,
            details={"timezone": body.timezone, "holidays": len(days)},
        )
        await s.flush()
        return await _calendar_out(s, org_id)


# --- a group's reminder timing ---------------------------------------------------------------


class RemindersIn(In):
    offsets_minutes: list[int] | None = Field(
        description="minutes before each session (e.g. [1440, 60]); [] for none; null for the "
        "server's default",
        max_length=MAX_REMINDERS,
    )

    @field_validator("offsets_minutes")
    @classmethod
    def _offsets(cls, v: list[int] | None) -> list[int] | None:
        if v is None:
            return v
        for x in v:
            if not 1 <= x <= MAX_REMINDER_MINUTES:
                raise ValueError(f"each reminder is 1 to {MAX_REMINDER_MINUTES} minutes before")
        if len(set(v)) != len(v):
            raise ValueError("reminders must not repeat")
        return sorted(v, reverse=True)


class RemindersOut(BaseModel):
    offsets_minutes: list[int]
    default: bool = Field(description="true: the server's default timing applies")


@router.get(
    "/api/groups/{group_id}/reminders",
    response=RemindersOut,
    summary="When the group's reminders go out (coordinators)",
)
async def get_reminders(ctx: Ctx) -> RemindersOut:
    group_id = ctx.path_int("group_id")
    async with ctx.sessionmaker() as s:
        await _staff_group(ctx, s, group_id, "reminders.read")
        own = await group_offsets(s, group_id)
    cfg = ctx.request.app[CONFIG_KEY]
    offsets = own if own is not None else cfg.reminder_offsets_minutes
    return RemindersOut(offsets_minutes=list(offsets), default=own is None)


@router.put(
    "/api/groups/{group_id}/reminders",
    body=RemindersIn,
    response=RemindersOut,
    summary="Set the group's reminder timing; reminders still to come are planned again",
)
async def put_reminders(ctx: Ctx, body: RemindersIn) -> RemindersOut:
    group_id = ctx.path_int("group_id")
    now = _now()
    async with ctx.sessionmaker() as s, s.begin():
        await _staff_group(ctx, s, group_id, "reminders.update")
        row = await s.get(GroupReminders, group_id)
        if body.offsets_minutes is None:
            if row is not None:
                await s.delete(row)
        elif row is None:
            s.add(GroupReminders(group_id=group_id, offsets_minutes=body.offsets_minutes))
        else:
            row.offsets_minutes, row.updated_at = body.offsets_minutes, now
        await s.flush()
        # Pending reminders of sessions to come follow the new timing.
        future = await s.scalars(
            select(ScheduledSession.id).where(
                ScheduledSession.group_id == group_id, ScheduledSession.starts_at > now
            )
        )
        await supersede(s, list(future), purposes=[Purpose.REMINDER])
        cfg = await config_for(s, group_id, ctx.request.app[CONFIG_KEY])
        await reconcile_group(s, group_id, cfg, now)
        await audit.record(
            s,
            actor_id=ctx.me().id,
            action="reminders.update",
            target=f"group:{group_id}",
            outcome=AuditOutcome.ALLOWED,
            details={"offsets_minutes": body.offsets_minutes},
        )
    _wake(ctx)
    return RemindersOut(
        offsets_minutes=list(cfg.reminder_offsets_minutes), default=body.offsets_minutes is None
    )
