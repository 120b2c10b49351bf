"""Login sessions (server-side rows keyed by the hash of a random cookie token) and single-use
links (invitations and password resets, both rows of ``invitations``)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import tokens
from server.auth.tokens import LinkPurpose
from server.db.models import AuthSession, Invitation, Person, utcnow
from server.errors import Gone, Unauthenticated


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


TOUCH_EVERY = timedelta(minutes=1)  # how stale a login's last_seen_at may get before a write


async def open_session(s: AsyncSession, person_id: int, *, ttl_hours: int) -> str:
    token = secrets.token_urlsafe(32)
    now = utcnow()
    s.add(
        AuthSession(
            token_hash=_hash(token),
            person_id=person_id,
            expires_at=now + timedelta(hours=ttl_hours),
            last_seen_at=now,
        )
    )
    return token


async def resolve_session(
    s: AsyncSession, token: str, *, idle_minutes: int | None = None
) -> Person | None:
    """The active person of a live login; a login unused for ``idle_minutes`` has ended."""
    if len(token) > 200:
        return None
    now = utcnow()
    row = await s.scalar(
        select(AuthSession).where(
            AuthSession.token_hash == _hash(token),
            AuthSession.revoked.is_(False),
            AuthSession.expires_at > now,
        )
    )
    if row is None:
        return None
    seen = row.last_seen_at or row.created_at
    if idle_minutes is not None and seen < now - timedelta(minutes=idle_minutes):
        return None
    if seen < now - TOUCH_EVERY:
        await s.execute(
            update(AuthSession).where(AuthSession.id == row.id).values(last_seen_at=now)
        )
        await s.commit()
    person = await s.get(Person, row.person_id)
    return person if person is not None and person.is_active else None


async def close_session(s: AsyncSession, token: str) -> None:
    await s.execute(
        update(AuthSession).where(AuthSession.token_hash == _hash(token)).values(revoked=True)
    )


async def revoke_all_sessions(s: AsyncSession, person_id: int, *, keep: str | None = None) -> int:
    """End every login of a person (after a password reset or change, or deactivation) but
    the one whose cookie token is ``keep``; returns how many were ended."""
    stmt = update(AuthSession).where(
        AuthSession.person_id == person_id, AuthSession.revoked.is_(False)
    )
    if keep is not None:
        stmt = stmt.where(AuthSession.token_hash != _hash(keep))
    result = await s.execute(stmt.values(revoked=True))
    return int(getattr(result, "rowcount", 0) or 0)


async def create_link(
    s: AsyncSession,
    secret: str,
    purpose: LinkPurpose,
    *,
    person_id: int,
    ttl: timedelta,
    created_by: int | None,
) -> tuple[str, Invitation]:
    """Store a single-use link (only its nonce's hash) and return its signed token."""
    nonce = tokens.new_nonce()
    expires = utcnow() + ttl
    inv = Invitation(
        person_id=person_id,
        nonce_hash=tokens.nonce_hash(nonce),
        expires_at=expires,
        created_by=created_by,
    )
    s.add(inv)
    token = tokens.mint_link(
        secret, purpose, person_id=person_id, nonce=nonce, expires_at=expires.timestamp()
    )
    return token, inv


async def redeem_link(s: AsyncSession, secret: str, purpose: LinkPurpose, token: str) -> Person:
    """Check and consume a link in the caller's transaction: right purpose, single use, in time."""
    claims = tokens.verify_link(secret, purpose, token)
    # Claim it atomically: only one concurrent redemption can flip used_at.
    result = await s.execute(
        update(Invitation)
        .where(
            Invitation.nonce_hash == tokens.nonce_hash(claims.nonce),
            Invitation.person_id == claims.person_id,
            Invitation.used_at.is_(None),
        )
        .values(used_at=utcnow())
        .returning(Invitation.expires_at)
    )
    expires = result.scalar_one_or_none()
    if expires is None:
        raise Gone("this link has already been used; ask for a new one", code="used")
    if expires <= utcnow():
        raise Gone("this link has expired; ask for a new one", code="expired")
    person = await s.get(Person, claims.person_id)
    if person is None or not person.is_active:
        raise Unauthenticated("this account is not active")
    return person


async def void_open_links(s: AsyncSession, person_id: int) -> None:
    """Mark every unused link of a person used (after a password reset)."""
    await s.execute(
        update(Invitation)
        .where(Invitation.person_id == person_id, Invitation.used_at.is_(None))
        .values(used_at=utcnow())
    )


async def create_invitation(
    s: AsyncSession, secret: str, *, person_id: int, ttl_hours: int, created_by: int | None
) -> tuple[str, Invitation]:
    """Store a single-use invitation and return its signed token."""
    return await create_link(
        s,
        secret,
        LinkPurpose.INVITE,
        person_id=person_id,
        ttl=timedelta(hours=ttl_hours),
        created_by=created_by,
    )


async def redeem_invitation(s: AsyncSession, secret: str, token: str) -> Person:
    return await redeem_link(s, secret, LinkPurpose.INVITE, token)
