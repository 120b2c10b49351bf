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


async def open_session(s: AsyncSession, person_id: int, *, ttl_hours: int) -> str:
    token = secrets.token_urlsafe(32)
    s.add(
        AuthSession(
            token_hash=_hash(token),
            person_id=person_id,
            expires_at=utcnow() + timedelta(hours=ttl_hours),
        )
    )
    return token


async def resolve_session(s: AsyncSession, token: str) -> Person | None:
    if len(token) > 200:
        return None
    row = await s.scalar(
        select(AuthSession).where(
            AuthSession.token_hash == _hash(token),
            AuthSession.revoked.is_(False),
            AuthSession.expires_at > utcnow(),
        )
    )
    if row is None:
        return None
    person = await s.get(Person, row.person_id)
    return person if person is not None and person.is_active else None


async def close_session(s: AsyncSession, token: str) -> None:
    await s.execute(
        update(AuthSession).where(AuthSession.token_hash == _hash(token)).values(revoked=True)
    )


async def revoke_all_sessions(s: AsyncSession, person_id: int) -> int:
    """End every login of a person (after a password reset); returns how many were open."""
    result = await s.execute(
        update(AuthSession)
        .where(AuthSession.person_id == person_id, AuthSession.revoked.is_(False))
        .values(revoked=True)
    )
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
