"""Login, logout, one-click invitations, setting a password, password reset by e-mail."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from datetime import timedelta

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server import audit
from server.api.context import Ctx
from server.api.me import me_out
from server.api.routing import Router
from server.api.schemas import (
    InvitationIn,
    LoginIn,
    MeOut,
    PasswordIn,
    PasswordResetConfirmIn,
    PasswordResetIn,
    PasswordResetOut,
)
from server.appkeys import LIMITER_KEY
from server.auth import passwords, tokens
from server.auth.cookies import bound_csrf, csrf_cookie, session_cookie, session_cookie_attrs
from server.auth.sessions import (
    close_session,
    create_link,
    open_session,
    redeem_link,
    revoke_all_sessions,
    void_open_links,
)
from server.auth.tokens import LinkPurpose
from server.db.models import Person, utcnow
from server.domain import AuditOutcome
from server.errors import (
    CircleError,
    ErrorCode,
    RateLimited,
    Unauthenticated,
    Unavailable,
    UserError,
)
from server.notify import NOTIFIER_KEY
from server.notify.outbox import Notice, enqueue
from server.notify.templates import Kind, pick_locale, render
from server.pages import confirm_page, sign_in_page

# Applied inside the transaction that consumes a link, before it commits.
OnRedeem = Callable[[AsyncSession, Person], Awaitable[None]]

router = Router("auth")


async def _start_session(ctx: Ctx, person: Person) -> None:
    """Open a login: its cookie, and a fresh CSRF token bound to it (rotated at sign-in)."""
    settings = ctx.settings
    async with ctx.sessionmaker() as s, s.begin():
        token = await open_session(s, person.id, ttl_hours=settings.session_ttl_hours)
    ctx.person = person
    ctx.session_token = token
    secure = settings.secure_cookies
    ctx.response_cookies[session_cookie(secure)] = (
        token,
        session_cookie_attrs(max_age=settings.session_ttl_hours * 3600, secure=secure),
    )
    ctx.response_cookies[csrf_cookie(secure)] = (
        bound_csrf(settings.secret_key, token),
        {"httponly": False, "samesite": "Strict", "secure": secure, "path": "/"},
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
        wait = await limiter.wait_s(s, body.email, ctx.address)
        if wait > 0:
            raise RateLimited(
                f"too many failed attempts; wait {wait} seconds and try again",
                retry_after_s=wait,
            )
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
        raise Unauthenticated("wrong email or password", code=ErrorCode.BAD_CREDENTIALS)
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


LINK_ACTIONS = {LinkPurpose.INVITE: "auth.invitation", LinkPurpose.RESET: "auth.password_reset"}


async def _refused(ctx: Ctx, purpose: LinkPurpose, exc: CircleError) -> None:
    await audit.record_now(
        ctx.sessionmaker,
        actor_id=None,
        action=LINK_ACTIONS[purpose],
        target="invitation" if purpose is LinkPurpose.INVITE else "reset-link",
        outcome=AuditOutcome.REFUSED,
        details={"reason": exc.code, "address": ctx.address},
    )


async def redeem_or_refuse(
    ctx: Ctx,
    token: str,
    purpose: LinkPurpose = LinkPurpose.INVITE,
    on_redeem: OnRedeem | None = None,
) -> Person:
    """Consume a single-use link (and apply ``on_redeem`` with it), audited either way."""
    try:
        async with ctx.sessionmaker() as s, s.begin():
            person = await redeem_link(s, ctx.settings.secret_key, purpose, token)
            if on_redeem is not None:
                await on_redeem(s, person)
            await audit.record(
                s,
                actor_id=person.id,
                action=LINK_ACTIONS[purpose],
                target=f"person:{person.id}",
                outcome=AuditOutcome.ALLOWED,
            )
            return person
    except CircleError as exc:
        await _refused(ctx, purpose, exc)
        raise


@router.post("/api/auth/logout", summary="Log out (ends this login)")
async def logout(ctx: Ctx) -> None:
    secure = ctx.settings.secure_cookies
    token = ctx.request.cookies.get(session_cookie(secure), "")
    async with ctx.sessionmaker() as s, s.begin():
        await close_session(s, token)
    ctx.deleted_cookies.append(session_cookie(secure))
    ctx.response_cookies[csrf_cookie(secure)] = (
        secrets.token_urlsafe(24),
        {"httponly": False, "samesite": "Strict", "secure": secure, "path": "/"},
    )


@router.post(
    "/api/auth/password",
    body=PasswordIn,
    summary="Set or change my password",
    description="A person who joined by a one-click link sets a password later, with no "
    "current password; once one is set, the current one is required. Every other login of "
    "the person ends, and so does every unused link made for them.",
)
async def set_password(ctx: Ctx, body: PasswordIn) -> None:
    me = ctx.me()
    reason = passwords.check_policy(body.new_password)
    if reason:
        raise UserError(reason, code=ErrorCode.WEAK_PASSWORD, field="new_password")
    if me.password_hash is not None and (
        body.current_password is None
        or not await passwords.verify_password(me.password_hash, body.current_password)
    ):
        raise Unauthenticated("the current password is wrong", code=ErrorCode.BAD_CREDENTIALS)
    new_hash = await passwords.hash_password(body.new_password)
    async with ctx.sessionmaker() as s, s.begin():
        person = await s.get(Person, me.id)
        assert person is not None
        person.password_hash = new_hash
        ended = await revoke_all_sessions(s, me.id, keep=ctx.session_token)
        await void_open_links(s, me.id)
        await audit.record(
            s,
            actor_id=me.id,
            action="auth.password",
            target=f"person:{me.id}",
            outcome=AuditOutcome.ALLOWED,
            details={"other_logins_ended": ended},
        )


async def invitation_redirect(request: web.Request) -> web.StreamResponse:
    """GET /i/{token}: a sign-in link in the old form. It spends nothing (mail scanners fetch
    links): it only moves the token into the fragment of the page that redeems it with a POST
    after a click."""
    return web.Response(
        status=302, headers={"Location": sign_in_page("", request.match_info["token"])}
    )


async def confirm_redirect(request: web.Request) -> web.StreamResponse:
    """GET /api/confirm/{token}: a series confirmation link in the old form, likewise."""
    return web.Response(
        status=302, headers={"Location": confirm_page("", request.match_info["token"])}
    )


RESET_UNAVAILABLE = (
    "Password reset by e-mail is not set up here; ask your coordinator for a new sign-in link."
)


@router.post(
    "/api/auth/password-reset",
    body=PasswordResetIn,
    response=PasswordResetOut,
    status=202,
    auth="none",
    errors=(403, 429, 503),
    summary="Ask for a password-reset link by e-mail",
    description="Answers 202 with the same body whether or not the address belongs to an "
    "account. When it belongs to an active person, a single-use link valid for "
    "password_reset_ttl_minutes is e-mailed in their language. Needs SMTP (503 without it); "
    "rate-limited per address and per client (429).",
)
async def request_password_reset(ctx: Ctx, body: PasswordResetIn) -> PasswordResetOut:
    settings = ctx.settings
    if not settings.smtp_host:
        raise Unavailable(RESET_UNAVAILABLE, code=ErrorCode.RESET_UNAVAILABLE)
    limiter = ctx.request.app[LIMITER_KEY]
    ttl = settings.password_reset_ttl_minutes
    # The same work, in one transaction, for known and unknown addresses alike.
    async with ctx.sessionmaker() as s, s.begin():
        allowed = await limiter.spend(s, "reset", body.email, ctx.address)
        person = await s.scalar(select(Person).where(Person.email == body.email))
        if person is not None and not person.is_active:
            person = None
        if allowed and person is not None:
            await _queue_reset_mail(ctx, s, person, ttl)
        await audit.record(
            s,
            actor_id=None,
            action="auth.password_reset_request",
            target=f"email:{body.email}",
            outcome=AuditOutcome.ALLOWED if allowed else AuditOutcome.REFUSED,
            details={
                "address": ctx.address,
                "person_id": person.id if person is not None else None,
                **({} if allowed else {"reason": "rate_limited"}),
            },
        )
    # Raised after the commit, so the refusal's audit entry is kept.
    if not allowed:
        raise RateLimited("too many reset requests; wait a few minutes and try again")
    return PasswordResetOut(accepted=True, link_ttl_minutes=ttl)


async def _queue_reset_mail(ctx: Ctx, s: AsyncSession, person: Person, ttl_minutes: int) -> None:
    settings = ctx.settings
    token, _ = await create_link(
        s,
        settings.secret_key,
        LinkPurpose.RESET,
        person_id=person.id,
        ttl=timedelta(minutes=ttl_minutes),
        created_by=None,
    )
    locale = pick_locale(person.locale)
    # A fragment: browsers never send it, so the token stays out of server and proxy logs.
    link = f"{settings.public_url}/app/#reset={token}"
    subject, text = render(
        Kind.PASSWORD_RESET, locale, name=person.display_name, link=link, minutes=ttl_minutes
    )
    notice = Notice(
        kind=Kind.PASSWORD_RESET.value,
        to_address=person.email,
        locale=locale,
        subject=subject,
        body=text,
        person_id=person.id,
        organisation_id=person.organisation_id,
    )
    await enqueue(s, [notice], ctx.request.app[NOTIFIER_KEY], utcnow())


@router.post(
    "/api/auth/password-reset/confirm",
    body=PasswordResetConfirmIn,
    response=MeOut,
    auth="none",
    errors=(401, 403, 410),
    summary="Set a new password with a reset link (single use); logs in",
    description="The password policy is checked first (400 weak_password leaves the link "
    "usable). The link is then consumed; every other login and open link of the person ends, "
    "and this request gets a fresh login cookie.",
)
async def confirm_password_reset(ctx: Ctx, body: PasswordResetConfirmIn) -> MeOut:
    reason = passwords.check_policy(body.new_password)
    if reason:
        raise UserError(reason, code=ErrorCode.WEAK_PASSWORD, field="new_password")
    try:  # cheap signature check before the costly hash: forged links cost no argon2
        tokens.verify_link(ctx.settings.secret_key, LinkPurpose.RESET, body.token)
    except CircleError as exc:
        await _refused(ctx, LinkPurpose.RESET, exc)
        raise
    new_hash = await passwords.hash_password(body.new_password)

    async def apply(s: AsyncSession, person: Person) -> None:
        person.password_hash = new_hash
        await revoke_all_sessions(s, person.id)
        await void_open_links(s, person.id)

    person = await redeem_or_refuse(ctx, body.token, LinkPurpose.RESET, apply)
    await _start_session(ctx, person)
    async with ctx.sessionmaker() as s:
        return await me_out(s, person)
