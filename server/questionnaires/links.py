"""The one-click form link: a single-use link of purpose ``form`` (the shared signed-link
scheme of server/auth), mapped to the form it opens, and the form-scoped access it buys.

The mail carries ``<public_url>/app/questionnaires.html?lang=<locale>#form=<token>`` (the fragment never reaches a server log);
the page redeems it by POST. Redeeming spends the link and returns an access token good for
that one form only, so a forwarded or replayed link opens nothing, and a link opened while
signed in as somebody else is refused before it is spent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth import tokens
from server.auth.sessions import create_link, redeem_link
from server.auth.tokens import LinkPurpose
from server.errors import ErrorCode, NotFound, PermissionDenied
from server.questionnaires.form_models import FormAssignment, FormLink

MIN_LINK_TTL = timedelta(hours=1)
ACCESS_TTL_S = 12 * 3600


async def mint_form_link(
    s: AsyncSession,
    secret: str,
    a: FormAssignment,
    closes_at: datetime | None,
    now: datetime,
    public_url: str,
    locale: str = "en",
) -> str:
    """A new single-use link to ``a`` (each mail gets its own), valid while the form is open."""
    ttl = max((closes_at or now + timedelta(days=14)) - now, MIN_LINK_TTL)
    token, _ = await create_link(
        s, secret, LinkPurpose.FORM, person_id=a.person_id, ttl=ttl, created_by=None
    )
    claims = tokens.verify_link(secret, LinkPurpose.FORM, token)
    s.add(FormLink(nonce_hash=tokens.nonce_hash(claims.nonce), assignment_id=a.id))
    return f"{public_url}/app/questionnaires.html?lang={locale}#form={token}"


@dataclass(frozen=True, slots=True)
class Redeemed:
    assignment: FormAssignment
    access: str


async def redeem_form_link(
    s: AsyncSession, secret: str, token: str, signed_in: int | None
) -> Redeemed:
    """Check who the link is for before spending it; then spend it (single use) in the
    caller's transaction."""
    claims = tokens.verify_link(secret, LinkPurpose.FORM, token)
    if signed_in is not None and signed_in != claims.person_id:
        raise PermissionDenied(
            "this questionnaire link belongs to somebody else", code=ErrorCode.FOREIGN_LINK
        )
    person = await redeem_link(s, secret, LinkPurpose.FORM, token)
    a = await s.scalar(
        select(FormAssignment)
        .join(FormLink, FormLink.assignment_id == FormAssignment.id)
        .where(FormLink.nonce_hash == tokens.nonce_hash(claims.nonce))
    )
    if a is None or a.person_id != person.id:
        raise NotFound("this link opens no questionnaire")
    return Redeemed(a, mint_access(secret, a))


def mint_access(secret: str, a: FormAssignment) -> str:
    return tokens.mint_form_access(secret, person_id=a.person_id, form_id=a.id, ttl_s=ACCESS_TTL_S)


def verify_access(secret: str, token: str, assignment_id: int) -> int:
    """The person a form access token speaks for, if it is for this form."""
    claims = tokens.verify_form_access(secret, token)
    if claims.form_id != assignment_id:
        raise PermissionDenied(
            "this access is for another questionnaire", code=ErrorCode.FOREIGN_FORM
        )
    return claims.person_id
