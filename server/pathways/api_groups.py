"""REST of the group pathways (tag ``pathways``): a member's private message to the group's
leaders between meetings; self-help hosts (per session, rotation) and the host's meeting
report."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.api.context import Ctx
from server.api.routing import Router
from server.db.hosts import SessionHost
from server.db.models import Group, Person, ScheduledSession
from server.domain import GroupRole, OrgRole, ProtocolKind
from server.errors import Conflict, NotFound
from server.notify import NOTIFIER_KEY
from server.pathways import hosts, messages
from server.pathways.models import MeetingReport
from server.pathways.schemas import (
    HostIn,
    HostOut,
    MessageIn,
    MessageOut,
    ReportIn,
    ReportOut,
    SentOut,
)

router = Router("pathways")
STAFF = (OrgRole.COORDINATOR, OrgRole.ADMIN)


def _now() -> datetime:
    return datetime.now(UTC)


async def _group(ctx: Ctx, s: AsyncSession, group_id: int) -> Group:
    group = await s.get(Group, group_id)
    if group is None:
        raise NotFound("no such group")
    return group


async def _staff(ctx: Ctx, s: AsyncSession, org_id: int) -> bool:
    return bool(await ctx.org_roles(s, org_id) & set(STAFF))


async def _require_group_or_staff(
    ctx: Ctx, s: AsyncSession, group: Group, action: str, target: str
) -> None:
    """The group's own people (any role) and the organisation's coordinators; others refused."""
    if not (
        await _staff(ctx, s, group.organisation_id)
        or await ctx.group_role(s, group.id) is not None
    ):
        raise await ctx.refuse(action, target, "not your group")


def _self_help(group: Group) -> None:
    if group.protocol is not ProtocolKind.SELF_HELP:
        raise Conflict("group: hosts and meeting reports belong to self-help groups", field="group")


# -- messages to the leaders ---------------------------------------------------------------------


@router.post(
    "/api/groups/{group_id}/leader-messages",
    body=MessageIn,
    response=SentOut,
    status=201,
    errors=(403, 404),
    summary="Send the group's leaders a private message (members only; never to other members)",
)
async def send_message(ctx: Ctx, body: MessageIn) -> SentOut:
    group_id = ctx.path_int("group_id")
    async with ctx.sessionmaker() as s, s.begin():
        group = await _group(ctx, s, group_id)
        if await ctx.group_role(s, group_id) is not GroupRole.MEMBER:
            raise await ctx.refuse(
                "leader_message.send", f"group:{group_id}", "only the group's members write here"
            )
        msg, told = await messages.send(
            s,
            group,
            ctx.me(),
            body.body,
            notifier=ctx.request.app[NOTIFIER_KEY],
            public_url=ctx.settings.public_url,
            now=_now(),
        )
        return SentOut(id=msg.id, created_at=msg.created_at, leaders_told=told)


@router.get(
    "/api/groups/{group_id}/leader-messages",
    response=list[MessageOut],
    errors=(403, 404),
    summary="Messages to the leaders: all of them for leaders, a member's own for a member",
)
async def list_messages(ctx: Ctx) -> list[MessageOut]:
    group_id = ctx.path_int("group_id")
    me = ctx.me()
    async with ctx.sessionmaker() as s:
        await _group(ctx, s, group_id)
        role = await ctx.group_role(s, group_id)
        if role in messages.LEADING:
            rows = await messages.for_leaders(s, group_id)
        elif role is GroupRole.MEMBER:
            rows = [(m, me.display_name) for m in await messages.of_sender(s, group_id, me.id)]
        else:
            raise await ctx.refuse(
                "leader_message.read", f"group:{group_id}", "not a member of this group"
            )
    return [
        MessageOut(
            id=m.id,
            group_id=m.group_id,
            sender_id=m.sender_id,
            sender_name=name,
            body=m.body,
            created_at=m.created_at,
        )
        for m, name in rows
    ]


# -- self-help hosts ----------------------------------------------------------------------------


async def _host_out(s: AsyncSession, h: SessionHost) -> HostOut:
    p = await s.get(Person, h.person_id)
    return HostOut(
        session_id=h.session_id, person_id=h.person_id, display_name=p.display_name if p else ""
    )


@router.put(
    "/api/sessions/{session_id}/host",
    body=HostIn,
    response=HostOut,
    errors=(403, 404, 409),
    summary="Choose the host of a coming self-help session (a coordinator, or the group)",
)
async def put_host(ctx: Ctx, body: HostIn) -> HostOut:
    session_id = ctx.path_int("session_id")
    async with ctx.sessionmaker() as s, s.begin():
        sess = await s.get(ScheduledSession, session_id)
        if sess is None:
            raise NotFound("no such session")
        group = await _group(ctx, s, sess.group_id)
        await _require_group_or_staff(ctx, s, group, "session.host", f"session:{session_id}")
        _self_help(group)
        row = await hosts.set_host(s, sess, body.person_id, actor_id=ctx.me().id, now=_now())
        return await _host_out(s, row)


@router.post(
    "/api/groups/{group_id}/hosts/rotate",
    response=list[HostOut],
    errors=(403, 404, 409),
    summary="Give each coming self-help session without a host one: the members in turn",
)
async def rotate_hosts(ctx: Ctx) -> list[HostOut]:
    group_id = ctx.path_int("group_id")
    async with ctx.sessionmaker() as s, s.begin():
        group = await _group(ctx, s, group_id)
        await ctx.require_org_role(s, group.organisation_id, STAFF, action="group.rotate_hosts")
        _self_help(group)
        plan = await hosts.rotate(s, group_id, actor_id=ctx.me().id, now=_now())
        return [await _host_out(s, h) for sid in plan if (h := await s.get(SessionHost, sid))]


@router.get(
    "/api/groups/{group_id}/hosts",
    response=list[HostOut],
    errors=(403, 404),
    summary="The hosts of the group's sessions (its members and coordinators)",
)
async def list_hosts(ctx: Ctx) -> list[HostOut]:
    group_id = ctx.path_int("group_id")
    async with ctx.sessionmaker() as s:
        group = await _group(ctx, s, group_id)
        await _require_group_or_staff(ctx, s, group, "group.hosts", f"group:{group_id}")
        rows = await s.scalars(
            select(SessionHost)
            .join(ScheduledSession, ScheduledSession.id == SessionHost.session_id)
            .where(ScheduledSession.group_id == group_id)
            .order_by(ScheduledSession.starts_at)
        )
        return [await _host_out(s, h) for h in rows]


# -- meeting reports ----------------------------------------------------------------------------


async def _report_out(s: AsyncSession, r: MeetingReport) -> ReportOut:
    host = await s.get(Person, r.host_id) if r.host_id is not None else None
    return ReportOut(
        session_id=r.session_id,
        group_id=r.group_id,
        host_id=r.host_id,
        host_name=host.display_name if host is not None else None,
        covered=r.covered,
        attendance=[int(x) for x in r.attendance],
        created_at=r.created_at,
    )


@router.post(
    "/api/sessions/{session_id}/meeting-report",
    body=ReportIn,
    response=ReportOut,
    status=201,
    errors=(403, 404, 409),
    summary="The host files the meeting's short report (what was covered, who was there)",
)
async def file_report(ctx: Ctx, body: ReportIn) -> ReportOut:
    session_id = ctx.path_int("session_id")
    async with ctx.sessionmaker() as s, s.begin():
        sess = await s.get(ScheduledSession, session_id)
        host = await s.get(SessionHost, session_id) if sess is not None else None
        if sess is None or host is None or host.person_id != ctx.me().id:
            raise await ctx.refuse(
                "meeting_report.file", f"session:{session_id}", "only the session's host reports"
            )
        _self_help(await _group(ctx, s, sess.group_id))
        report = await hosts.file_report(
            s, sess, host.person_id, covered=body.covered, attendance=body.attendance, now=_now()
        )
        return await _report_out(s, report)


@router.get(
    "/api/groups/{group_id}/meeting-reports",
    response=list[ReportOut],
    errors=(403, 404),
    summary="The group's meeting reports (its members and the organisation's coordinators)",
)
async def list_reports(ctx: Ctx) -> list[ReportOut]:
    group_id = ctx.path_int("group_id")
    async with ctx.sessionmaker() as s:
        group = await _group(ctx, s, group_id)
        await _require_group_or_staff(ctx, s, group, "meeting_report.read", f"group:{group_id}")
        rows = await s.scalars(
            select(MeetingReport)
            .where(MeetingReport.group_id == group_id)
            .order_by(MeetingReport.created_at.desc())
        )
        return [await _report_out(s, r) for r in rows]
