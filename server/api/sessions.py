"""Sessions as seen by the people in them, and minting room join tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from server import audit
from server.api.context import Ctx
from server.api.routing import Router
from server.api.schemas import JoinTokenOut, SessionSummaryOut
from server.api.sessions_view import session_out
from server.auth.tokens import mint_join_token
from server.db.models import Group, ScheduledSession, utcnow
from server.domain import STAFF_ROLES, AuditOutcome
from server.errors import Conflict, NotFound
from server.lifecycle import Refusal, Window, may_enter

router = Router("sessions")


def joinable(sess: ScheduledSession, now: datetime) -> tuple[bool, str]:
    """Whether the room may be entered now, and the error code when not (server.lifecycle)."""
    window = Window(sess.starts_at, sess.lobby_minutes, sess.duration_minutes)
    refusal = may_enter(sess.status, window, now)
    if refusal is None:
        return True, ""
    return False, "not_open" if refusal is Refusal.NOT_OPEN else "closed"


async def _load(ctx: Ctx, action: str) -> tuple[ScheduledSession, Group, SessionSummaryOut]:
    session_id = ctx.path_int("session_id")
    async with ctx.sessionmaker() as s:
        sess = await s.get(ScheduledSession, session_id)
        if sess is None:
            raise NotFound("no such session")
        group = await s.get(Group, sess.group_id)
        assert group is not None
        role = await ctx.group_role(s, group.id)
        staff = (await ctx.org_roles(s, group.organisation_id)) & STAFF_ROLES
        if role is None and not staff:
            raise await ctx.refuse(action, f"session:{session_id}", "you are not in this group")
        return sess, group, session_out(sess, group, role)


@router.get("/api/sessions/{session_id}", response=SessionSummaryOut, summary="One session")
async def get_session(ctx: Ctx) -> SessionSummaryOut:
    _, _, out = await _load(ctx, "session.read")
    return out


@router.post(
    "/api/sessions/{session_id}/join-token",
    response=JoinTokenOut,
    status=201,
    errors=(409,),
    summary="Mint a short-lived token to enter the live room (enrolled people only)",
    description="Refused with 409 `not_open` before the lobby opens and `closed` after the "
    "session; 403 for people not enrolled in the group (coordinators cannot enter rooms).",
)
async def join_token(ctx: Ctx) -> JoinTokenOut:
    sess, _, out = await _load(ctx, "session.join_token")
    if out.role is None:
        raise await ctx.refuse(
            "session.join_token",
            f"session:{sess.id}",
            "only the group's members and leaders may enter its room",
        )
    ok, code = joinable(sess, utcnow())
    if not ok:
        opens = out.lobby_opens_at.astimezone(UTC).isoformat()
        message = f"the room opens at {opens}" if code == "not_open" else "this session is over"
        raise Conflict(message, code=code, lobby_opens_at=opens)
    ttl = ctx.settings.join_token_ttl_s
    token = mint_join_token(
        ctx.settings.secret_key,
        person_id=ctx.me().id,
        session_id=sess.id,
        role=out.role,
        ttl_s=ttl,
    )
    async with ctx.sessionmaker() as s, s.begin():
        await audit.record(
            s,
            actor_id=ctx.me().id,
            action="session.join_token",
            target=f"session:{sess.id}",
            outcome=AuditOutcome.ALLOWED,
        )
    return JoinTokenOut(
        token=token,
        expires_at=utcnow() + timedelta(seconds=ttl),
        session_id=sess.id,
        role=out.role,
    )
