"""Login, logout, one-click invitations, setting a password."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from server import audit
from server.api.context import Ctx
from server.api.me import me_out
from server.api.routing import Router
from server.api.schemas import InvitationIn, LoginIn, MeOut, PasswordIn
from server.appkeys import LIMITER_KEY
from server.auth import passwords
from server.auth.cookies import SESSION_COOKIE
from server.auth.sessions import close_session, open_session, redeem_invitation
from server.db.models import Person
from server.domain import AuditOutcome
from server.errors import CircleError, RateLimited, Unauthenticated, UserError

router = Router("auth")


async def _start_session(ctx: Ctx, person: Person) -> None:
    async with ctx.sessionmaker() as s, s.begin():
        token = await open_session(s, person.id, ttl_hours=ctx.settings.session_ttl_hours)
    ctx.person = person
    ctx.response_cookies["circle_session"] = (
        token,
        {
            "max_age": ctx.settings.session_ttl_hours * 3600,
            "httponly": True,
            "samesite": "Lax",
            "secure": ctx.settings.cookie_secure,
            "path": "/",
        },
    )


@router.post(
    "/api/auth/login",
    body=LoginIn,
    response=MeOut,
    auth="none",
    errors=(401, 429),
    summary="Log in with email and password",
)
async def login(ctx: Ctx, body: LoginIn) -> MeOut:
    limiter = ctx.request.app[LIMITER_KEY]
    async with ctx.sessionmaker() as s:
        if await limiter.blocked(s, body.email, ctx.address):
            raise RateLimited("too many failed attempts; wait a few minutes and try again")
        person = await s.scalar(select(Person).where(Person.email == body.email))
    ok = await passwords.verify_password(
        person.password_hash if person and person.is_active else None, body.password
    )
    async with ctx.sessionmaker() as s, s.begin():
        if ok and person is not None:
            await limiter.succeeded(s, body.email, ctx.address)
        else:
            await limiter.failed(s, body.email, ctx.address)
            await audit.record(
                s,
                actor_id=None,
                action="auth.login",
                target=f"email:{body.email}",
                outcome=AuditOutcome.REFUSED,
                details={"address": ctx.address},
            )
    # Raised after the commit, so the failure and its audit entry are kept.
    if not ok or person is None:
        raise Unauthenticated("wrong email or password", code="bad_credentials")
    await _start_session(ctx, person)
    async with ctx.sessionmaker() as s:
        return await me_out(s, person)


@router.post(
    "/api/auth/invitation",
    body=InvitationIn,
    response=MeOut,
    auth="none",
    errors=(401, 410),
    summary="Log in with a one-click invitation token (single use)",
)
async def accept_invitation(ctx: Ctx, body: InvitationIn) -> MeOut:
    person = await redeem_or_refuse(ctx, body.token)
    await _start_session(ctx, person)
    async with ctx.sessionmaker() as s:
        return await me_out(s, person)


async def redeem_or_refuse(ctx: Ctx, token: str) -> Person:
    try:
        async with ctx.sessionmaker() as s, s.begin():
            person = await redeem_invitation(s, ctx.settings.secret_key, token)
            await audit.record(
                s,
                actor_id=person.id,
                action="auth.invitation",
                target=f"person:{person.id}",
                outcome=AuditOutcome.ALLOWED,
            )
            return person
    except CircleError as exc:
        await audit.record_now(
            ctx.sessionmaker,
            actor_id=None,
            action="auth.invitation",
            target="invitation",
            outcome=AuditOutcome.REFUSED,
            details={"reason": exc.code, "address": ctx.address},
        )
        raise


@router.post("/api/auth/logout", summary="Log out (ends this login)")
async def logout(ctx: Ctx) -> None:
    token = ctx.request.cookies.get(SESSION_COOKIE, "")
    async with ctx.sessionmaker() as s, s.begin():
        await close_session(s, token)
    ctx.deleted_cookies.append(SESSION_COOKIE)


@router.post(
    "/api/auth/password",
    body=PasswordIn,
    summary="Set or change my password",
    description="A person who joined by a one-click link sets a password later, with no "
    "current password; once one is set, the current one is required.",
)
async def set_password(ctx: Ctx, body: PasswordIn) -> None:
    me = ctx.me()
    reason = passwords.check_policy(body.new_password)
    if reason:
        raise UserError(reason, code="weak_password")
    if me.password_hash is not None and (
        body.current_password is None
        or not await passwords.verify_password(me.password_hash, body.current_password)
    ):
        raise Unauthenticated("the current password is wrong", code="bad_credentials")
    new_hash = await passwords.hash_password(body.new_password)
    async with ctx.sessionmaker() as s, s.begin():
        person = await s.get(Person, me.id)
        assert person is not None
        person.password_hash = new_hash
        await audit.record(
            s,
            actor_id=me.id,
            action="auth.password",
            target=f"person:{me.id}",
            outcome=AuditOutcome.ALLOWED,
        )


async def invitation_redirect(request: web.Request) -> web.StreamResponse:
    """GET /i/{token}: the one-click link. Logs the person in and opens the app."""
    ctx = Ctx(request)
    token = request.match_info["token"]
    try:
        person = await redeem_or_refuse(ctx, token)
    except CircleError as exc:
        raise web.HTTPFound(f"/app/?link_error={exc.code}") from None
    await _start_session(ctx, person)
    resp = web.Response(status=302, headers={"Location": "/app/"})
    for name, (value, attrs) in ctx.response_cookies.items():
        resp.set_cookie(name, value, **attrs)  # type: ignore[arg-type]
    return resp
