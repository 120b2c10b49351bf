"""REST endpoints for series, session changes, enrolment with notices, calendars, the outbox."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.api.context import Ctx, remove_from_rooms
from server.api.routing import Router
from server.auth.enrolment import group_session_ids
from server.auth.tokens import verify_confirm_token
from server.db.models import Group, Membership, Person, ScheduledSession, Series, SeriesConfirmation
from server.domain import STAFF_ROLES, MembershipStatus, RemovalReason
from server.errors import Gone, NotFound, Unauthenticated
from server.notify.models import OutboxMessage, OutboxStatus
from server.notify.templates import REDACTED_BODY, SECRET_KINDS, person_zone
from server.scheduling import booking, changes, enrolment, ics
from server.scheduling.calendars import config_for
from server.scheduling.plan import SchedulingConfig
from server.scheduling.schemas import (
    CancelIn,
    ConfirmationOut,
    ConfirmLinkIn,
    ConfirmOut,
    EnrolIn,
    EnrolOut,
    FeedOut,
    MoveIn,
    OutboxOut,
    OutboxQuery,
    PreviewOut,
    ProblemOut,
    RestIn,
    SeriesIn,
    SeriesOut,
    SessionOut,
)
from server.scheduling.series import parse_spec
from server.scheduling.service import SchedulingService

router = Router("scheduling")
SERVICE_KEY = web.AppKey("scheduling_service", SchedulingService)
CONFIG_KEY = web.AppKey("scheduling_config", SchedulingConfig)


def _cfg(ctx: Ctx) -> SchedulingConfig:
    return ctx.request.app[CONFIG_KEY]


def _wake(ctx: Ctx) -> None:
    service = ctx.request.app.get(SERVICE_KEY)
    if service is not None:
        service.wake()


def _now() -> datetime:
    return datetime.now(UTC)


def session_out(x: ScheduledSession, viewer_tz: str | None) -> SessionOut:
    own = person_zone(viewer_tz, x.timezone)
    return SessionOut(
        id=x.id,
        series_id=x.series_id,
        group_id=x.group_id,
        index=x.index,
        starts_at=x.starts_at,
        local_start=x.starts_at.astimezone(person_zone(x.timezone)).strftime("%Y-%m-%dT%H:%M"),
        my_local_start=x.starts_at.astimezone(own).strftime("%Y-%m-%dT%H:%M"),
        timezone=x.timezone,
        duration_minutes=x.duration_minutes,
        status=x.status,
        sequence=x.sequence,
        is_makeup=x.is_makeup,
    )


async def _staff_group(ctx: Ctx, s: AsyncSession, group_id: int, action: str) -> Group:
    group = await s.get(Group, group_id)
    if group is None:
        raise NotFound("no such group")
    await ctx.require_org_role(s, group.organisation_id, STAFF_ROLES, action=action)
    return group


async def _series(ctx: Ctx, s: AsyncSession, series_id: int, action: str) -> Series:
    series = await s.get(Series, series_id)
    if series is None:
        raise NotFound("no such series")
    await _staff_group(ctx, s, series.group_id, action)
    return series


async def _session_group(
    ctx: Ctx, s: AsyncSession, session_id: int, action: str
) -> SchedulingConfig:
    """Check the caller may change the session; the planning config of its group."""
    sess = await s.get(ScheduledSession, session_id)
    if sess is None:
        raise NotFound("no such session")
    await _staff_group(ctx, s, sess.group_id, action)
    return await config_for(s, sess.group_id, _cfg(ctx))


async def _series_out(
    s: AsyncSession, series: Series, viewer_tz: str | None, problems: list[ProblemOut]
) -> SeriesOut:
    rows = await s.scalars(
        select(ScheduledSession)
        .where(ScheduledSession.series_id == series.id)
        .order_by(ScheduledSession.starts_at)
    )
    return SeriesOut(
        id=series.id,
        group_id=series.group_id,
        title=series.title,
        timezone=series.timezone,
        planned_sessions=series.planned_sessions,
        pattern=series.pattern,
        sessions=[session_out(x, viewer_tz) for x in rows],
        problems=problems,
    )


@router.post(
    "/api/groups/{group_id}/series/preview",
    body=SeriesIn,
    response=PreviewOut,
    summary="Preview a series: its sessions in local and UTC time, refusals and warnings",
)
async def preview_series(ctx: Ctx, body: SeriesIn) -> PreviewOut:
    spec = parse_spec(body.model_dump(exclude_none=True))
    async with ctx.sessionmaker() as s:
        await _staff_group(ctx, s, ctx.path_int("group_id"), "series.preview")
        pv = await booking.preview(s, ctx.path_int("group_id"), spec, _now())
    return PreviewOut.model_validate(pv.to_wire())


@router.post(
    "/api/groups/{group_id}/series",
    body=SeriesIn,
    response=SeriesOut,
    status=201,
    errors=(409,),
    summary="Book a series (refused with every reason when the preview has refusals)",
)
async def book_series(ctx: Ctx, body: SeriesIn) -> SeriesOut:
    spec = parse_spec(body.model_dump(exclude_none=True))
    group_id = ctx.path_int("group_id")
    async with ctx.sessionmaker() as s:
        await _staff_group(ctx, s, group_id, "series.book")
    async with ctx.sessionmaker() as s, s.begin():
        series, _, pv = await booking.book(
            s, group_id, spec, actor_id=ctx.me().id, cfg=_cfg(ctx), now=_now()
        )
        problems = [ProblemOut.model_validate(p.to_wire()) for p in pv.problems]
        out = await _series_out(s, series, ctx.me().timezone, problems)
    _wake(ctx)
    return out


@router.get("/api/groups/{group_id}/series", response=list[SeriesOut], summary="The group's series")
async def list_series(ctx: Ctx) -> list[SeriesOut]:
    async with ctx.sessionmaker() as s:
        group_id = ctx.path_int("group_id")
        await _staff_group(ctx, s, group_id, "series.list")
        rows = await s.scalars(select(Series).where(Series.group_id == group_id))
        return [await _series_out(s, x, ctx.me().timezone, []) for x in rows]


@router.get("/api/series/{series_id}", response=SeriesOut, summary="One series with its sessions")
async def get_series(ctx: Ctx) -> SeriesOut:
    async with ctx.sessionmaker() as s:
        series = await _series(ctx, s, ctx.path_int("series_id"), "series.read")
        return await _series_out(s, series, ctx.me().timezone, [])


async def _changed(ctx: Ctx, session_ids: list[int]) -> list[SessionOut]:
    _wake(ctx)
    service = ctx.request.app.get(SERVICE_KEY)
    if service is not None:  # rooms running these sessions here follow at once
        await service.session_changed(session_ids)
    async with ctx.sessionmaker() as s:
        rows = await s.scalars(select(ScheduledSession).where(ScheduledSession.id.in_(session_ids)))
        return [session_out(x, ctx.me().timezone) for x in rows]


@router.post(
    "/api/sessions/{session_id}/move",
    body=MoveIn,
    response=SessionOut,
    errors=(409,),
    summary="Move one session (local date and time in the series' timezone); everyone is told",
)
async def move_session(ctx: Ctx, body: MoveIn) -> SessionOut:
    sid = ctx.path_int("session_id")
    async with ctx.sessionmaker() as s, s.begin():
        cfg = await _session_group(ctx, s, sid, "session.move")
        await changes.move_session(s, sid, body, actor_id=ctx.me().id, cfg=cfg, now=_now())
    return (await _changed(ctx, [sid]))[0]


@router.post(
    "/api/sessions/{session_id}/cancel",
    body=CancelIn,
    response=SessionOut,
    status=200,
    errors=(409,),
    summary="Cancel one session; everyone is told (with the reason, if given)",
)
async def cancel_session(ctx: Ctx, body: CancelIn) -> SessionOut:
    sid = ctx.path_int("session_id")
    async with ctx.sessionmaker() as s, s.begin():
        cfg = await _session_group(ctx, s, sid, "session.cancel")
        await changes.cancel_session(s, sid, body, actor_id=ctx.me().id, cfg=cfg, now=_now())
    return (await _changed(ctx, [sid]))[0]


@router.post(
    "/api/sessions/{session_id}/rest",
    body=RestIn,
    response=list[SessionOut],
    errors=(409,),
    summary="Re-time this session and the rest of its series by a new weekly pattern",
)
async def change_rest(ctx: Ctx, body: RestIn) -> list[SessionOut]:
    sid = ctx.path_int("session_id")
    async with ctx.sessionmaker() as s, s.begin():
        cfg = await _session_group(ctx, s, sid, "series.change_rest")
        rest = await changes.change_rest(s, sid, body, actor_id=ctx.me().id, cfg=cfg, now=_now())
    return await _changed(ctx, [x.id for x in rest])


@router.post(
    "/api/sessions/{session_id}/cancel-rest",
    body=CancelIn,
    response=list[SessionOut],
    status=200,
    errors=(409,),
    summary="Cancel this session and the rest of its series; one notice per person lists them",
)
async def cancel_rest(ctx: Ctx, body: CancelIn) -> list[SessionOut]:
    sid = ctx.path_int("session_id")
    async with ctx.sessionmaker() as s, s.begin():
        cfg = await _session_group(ctx, s, sid, "series.cancel_rest")
        rest = await changes.cancel_rest(s, sid, body, actor_id=ctx.me().id, cfg=cfg, now=_now())
    return await _changed(ctx, [x.id for x in rest])


@router.post(
    "/api/series/{series_id}/makeup",
    body=MoveIn,
    response=SessionOut,
    status=201,
    errors=(409,),
    summary="Add a make-up session to a series; everyone is told",
)
async def add_makeup(ctx: Ctx, body: MoveIn) -> SessionOut:
    series_id = ctx.path_int("series_id")
    async with ctx.sessionmaker() as s, s.begin():
        series = await _series(ctx, s, series_id, "session.makeup")
        cfg = await config_for(s, series.group_id, _cfg(ctx))
        sess = await changes.add_makeup(
            s, series_id, body, actor_id=ctx.me().id, cfg=cfg, now=_now()
        )
    return (await _changed(ctx, [sess.id]))[0]


@router.post(
    "/api/groups/{group_id}/enrolments",
    body=EnrolIn,
    response=EnrolOut,
    status=201,
    errors=(409,),
    summary="Enrol a person mid-series with notice and reminders (waiting list when full)",
)
async def enrol(ctx: Ctx, body: EnrolIn) -> EnrolOut:
    group_id = ctx.path_int("group_id")
    async with ctx.sessionmaker() as s, s.begin():
        await _staff_group(ctx, s, group_id, "group.enrol")
        m = await enrolment.enrol(
            s,
            group_id,
            body.person_id,
            role=body.role,
            actor_id=ctx.me().id,
            cfg=await config_for(s, group_id, _cfg(ctx)),
            now=_now(),
        )
        out = EnrolOut(person_id=m.person_id, status=m.status)
    _wake(ctx)
    return out


@router.delete(
    "/api/groups/{group_id}/enrolments/{person_id}",
    response=EnrolOut,
    summary="Withdraw a person with notice; the first on the waiting list moves up and is told",
)
async def withdraw(ctx: Ctx) -> EnrolOut:
    group_id, person_id = ctx.path_int("group_id"), ctx.path_int("person_id")
    async with ctx.sessionmaker() as s, s.begin():
        await _staff_group(ctx, s, group_id, "group.withdraw")
        promoted = await enrolment.withdraw(
            s,
            group_id,
            person_id,
            actor_id=ctx.me().id,
            cfg=await config_for(s, group_id, _cfg(ctx)),
            now=_now(),
        )
        session_ids = await group_session_ids(s, group_id)
    await remove_from_rooms(ctx, person_id, session_ids, RemovalReason.WITHDRAWN)
    _wake(ctx)
    return EnrolOut(
        person_id=person_id,
        status=MembershipStatus.WITHDRAWN,
        promoted_person_id=promoted.person_id if promoted else None,
    )


@router.post(
    "/api/series/{series_id}/confirm",
    response=ConfirmOut,
    status=200,
    summary="I confirm I will take part in this series",
)
async def confirm(ctx: Ctx) -> ConfirmOut:
    async with ctx.sessionmaker() as s, s.begin():
        new = await enrolment.confirm(s, ctx.path_int("series_id"), ctx.me().id, _now())
    return ConfirmOut(confirmed=True, new=new)


@router.get(
    "/api/series/{series_id}/confirmations",
    response=list[ConfirmationOut],
    summary="Who in the group confirmed the series (coordinators)",
)
async def confirmations(ctx: Ctx) -> list[ConfirmationOut]:
    async with ctx.sessionmaker() as s:
        series = await _series(ctx, s, ctx.path_int("series_id"), "series.confirmations")
        rows = await s.execute(
            select(Membership, Person, SeriesConfirmation.confirmed_at)
            .join(Person, Person.id == Membership.person_id)
            .outerjoin(
                SeriesConfirmation,
                (SeriesConfirmation.person_id == Membership.person_id)
                & (SeriesConfirmation.series_id == series.id),
            )
            .where(Membership.group_id == series.group_id)
            .order_by(Membership.role, Person.display_name)
        )
        return [
            ConfirmationOut(
                person_id=p.id,
                display_name=p.display_name,
                role=m.role,
                status=m.status,
                confirmed_at=at,
            )
            for m, p, at in rows
        ]


@router.get(
    "/api/series/{series_id}/calendar.ics",
    response=bytes,
    content_type="text/calendar",
    summary="The series as an iCalendar file, in my own timezone",
)
async def series_ics(ctx: Ctx) -> bytes:
    async with ctx.sessionmaker() as s:
        series = await s.get(Series, ctx.path_int("series_id"))
        if series is None:
            raise NotFound("no such series")
        group = await s.get(Group, series.group_id)
        assert group is not None
        staff = bool((await ctx.org_roles(s, group.organisation_id)) & set(STAFF_ROLES))
        if not staff and await ctx.group_role(s, group.id) is None:
            raise await ctx.refuse("series.ics", f"series:{series.id}", "not your group")
        zone = person_zone(ctx.me().timezone, series.timezone)
        return await ics.series_calendar(s, series, zone, ctx.settings.public_url)


@router.post(
    "/api/me/calendar-feed",
    response=FeedOut,
    status=201,
    summary="A new secret URL for my calendar feed (earlier URLs stop working)",
)
async def mint_feed(ctx: Ctx) -> FeedOut:
    async with ctx.sessionmaker() as s, s.begin():
        token = await ics.mint_feed_token(s, ctx.me().id, _now())
    return FeedOut(url=f"{ctx.settings.public_url}/api/calendar/{token}")


@router.get(
    "/api/calendar/{token}",
    response=bytes,
    content_type="text/calendar",
    auth="none",
    errors=(410,),
    summary="A person's calendar feed (the secret URL is the credential)",
)
async def feed(ctx: Ctx) -> bytes:
    async with ctx.sessionmaker() as s:
        person = await ics.person_for_token(s, ctx.path_str("token"))
        return await ics.person_calendar(s, person, ctx.settings.public_url)


@router.get(
    "/api/organisations/{org_id}/outbox",
    query=OutboxQuery,
    response=list[OutboxOut],
    summary="Messages to people (coordinators), failures first; `delivery` says whether each "
    "was e-mailed or only kept here (no mail server configured)",
)
async def outbox(ctx: Ctx, query: OutboxQuery) -> list[OutboxOut]:
    org_id = ctx.path_int("org_id")
    async with ctx.sessionmaker() as s:
        await ctx.require_org_role(s, org_id, STAFF_ROLES, action="outbox.read")
        q = (
            select(OutboxMessage, Person.display_name)
            .outerjoin(Person, Person.id == OutboxMessage.person_id)
            .where(OutboxMessage.organisation_id == org_id)
        )
        if query.status is not None:
            q = q.where(OutboxMessage.status == query.status)
        q = q.order_by(
            (OutboxMessage.status == OutboxStatus.FAILED).desc(), OutboxMessage.id.desc()
        ).limit(query.limit)
        return [_outbox_out(m, name) for m, name in await s.execute(q)]


def _delivery(m: OutboxMessage) -> str:
    if m.status is OutboxStatus.FAILED:
        return "failed"
    if m.channel == "outbox":  # the embedded default: nothing leaves the server
        return "not_emailed"
    return "emailed" if m.status is OutboxStatus.SENT else "pending"


def _outbox_out(m: OutboxMessage, name: str | None = None) -> OutboxOut:
    out = OutboxOut.model_validate(m, from_attributes=True).model_copy(
        update={"recipient_name": name, "delivery": _delivery(m)}
    )
    # A password-reset link is the person's alone: coordinators never read it, even queued.
    return out.model_copy(update={"body": REDACTED_BODY}) if m.kind in SECRET_KINDS else out


@router.post(
    "/api/confirm",
    body=ConfirmLinkIn,
    response=ConfirmOut,
    auth="none",
    errors=(410,),
    summary="One-click confirmation from the booking notice, after a click on its page "
    "(the signed token is the credential)",
)
async def confirm_by_link(ctx: Ctx, body: ConfirmLinkIn) -> ConfirmOut:
    secret = ctx.settings.secret_key
    try:
        claims = verify_confirm_token(secret, body.token)
    except Unauthenticated as exc:
        raise Gone("unknown confirmation link") from exc
    series_id, person_id = claims.series_id, claims.person_id
    async with ctx.sessionmaker() as s, s.begin():
        new = await enrolment.confirm(s, series_id, person_id, _now())
    return ConfirmOut(confirmed=True, new=new)
