"""The one signed-token scheme: every link or token the server signs is made here.

Format: ``base64url(json payload) "." base64url(HMAC-SHA256(key(purpose), payload))``, the
payload always carrying ``exp`` (seconds since the epoch). Each ``TokenPurpose`` derives its own
key from the secret, so a token of one purpose never passes as another. A token is compared in
its canonical encoding, so no second spelling of the same signature is accepted.

Purposes: single-use links (``INVITE``, ``RESET``, ``FORM``: a nonce that an ``invitations``
row consumes, see ``server/auth/sessions.py``), room join tokens (``JOIN``), one-click series
confirmations (``CONFIRM``) and access to one questionnaire form (``FORM_ACCESS``). A new kind of link adds a member to ``TokenPurpose`` and a
mint/verify pair below; nothing else signs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from server.domain import GroupRole
from server.errors import Gone, Unauthenticated

MAX_TOKEN_LENGTH = 1024


def _b64e(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _key(secret: str, purpose: str) -> bytes:
    return hmac.new(
        secret.encode(), b"circle-token-key:" + purpose.encode(), hashlib.sha256
    ).digest()


class TokenPurpose(StrEnum):
    """What a token may be used for; each purpose signs with its own key."""

    INVITE = "invite"  # a one-click sign-in link from a coordinator (single use)
    RESET = "reset"  # a password-reset link sent by e-mail (single use)
    JOIN = "join"  # a room join token (minutes)
    CONFIRM = "confirm"  # a one-click "I will take part" link in the booking notice
    FORM = "form"  # a one-click link to one questionnaire form (single use, e-mailed)
    FORM_ACCESS = "form-access"  # that one form, after its link was redeemed (hours)
    CSRF = "csrf"  # the CSRF token of a login: a MAC of its cookie token (server/auth/cookies.py)


# The single-use links (each backed by an ``invitations`` row) are INVITE, RESET and FORM.
LinkPurpose = TokenPurpose


def _mac(secret: str, purpose: TokenPurpose, body: str) -> str:
    return _b64e(hmac.new(_key(secret, purpose.value), body.encode(), hashlib.sha256).digest())


def login_csrf(secret: str, session_token: str) -> str:
    """The CSRF token bound to the login whose cookie token is ``session_token``."""
    return _mac(secret, TokenPurpose.CSRF, session_token)


def sign(secret: str, purpose: TokenPurpose, payload: dict[str, Any]) -> str:
    if not secret:
        raise ValueError("signing needs the secret key")
    if not isinstance(payload.get("exp"), int):
        raise ValueError("a token's payload needs an integer exp")
    body = _b64e(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
    return f"{body}.{_mac(secret, purpose, body)}"


def unsign(
    secret: str, purpose: TokenPurpose, token: str, *, now: float | None = None
) -> dict[str, Any]:
    """Verify and decode; raise Unauthenticated when forged, Gone when expired."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        raise Unauthenticated("the token is malformed")
    body, _, mac = token.partition(".")
    if not secret or not hmac.compare_digest(mac.encode(), _mac(secret, purpose, body).encode()):
        raise Unauthenticated("the token is not valid")
    try:
        payload = json.loads(_b64d(body))
    except (ValueError, UnicodeError) as exc:
        raise Unauthenticated("the token is malformed") from exc
    if not isinstance(payload, dict):
        raise Unauthenticated("the token is malformed")
    exp = payload.get("exp")
    if not isinstance(exp, int | float) or exp < (time.time() if now is None else now):
        raise Gone("the link or token has expired", code="expired")
    return payload


def nonce_hash(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()


def new_nonce() -> str:
    return secrets.token_urlsafe(18)


@dataclass(frozen=True, slots=True)
class LinkClaims:
    person_id: int
    nonce: str
    expires_at: float


def mint_link(
    secret: str, purpose: LinkPurpose, *, person_id: int, nonce: str, expires_at: float
) -> str:
    return sign(secret, purpose, {"p": person_id, "n": nonce, "exp": int(expires_at)})


def verify_link(secret: str, purpose: LinkPurpose, token: str) -> LinkClaims:
    """Verify a single-use link of ``purpose`` (a link of another purpose is forged here)."""
    data = unsign(secret, purpose, token)
    p, n = data.get("p"), data.get("n")
    if not isinstance(p, int) or not isinstance(n, str):
        raise Unauthenticated("the link is malformed")
    return LinkClaims(person_id=p, nonce=n, expires_at=float(data["exp"]))


@dataclass(frozen=True, slots=True)
class JoinClaims:
    person_id: int
    session_id: int
    role: GroupRole
    expires_at: float
    token_id: str  # random: the token is single-use (server/auth/spent.py)


def mint_join_token(
    secret: str, *, person_id: int, session_id: int, role: GroupRole, ttl_s: int = 300
) -> str:
    payload = {
        "p": person_id,
        "s": session_id,
        "r": role.value,
        "n": new_nonce(),
        "exp": int(time.time()) + ttl_s,
    }
    return sign(secret, TokenPurpose.JOIN, payload)


def verify_join_token(secret: str, token: str, *, now: float | None = None) -> JoinClaims:
    data = unsign(secret, TokenPurpose.JOIN, token, now=now)
    p, s, r, n = data.get("p"), data.get("s"), data.get("r"), data.get("n")
    if (
        not isinstance(p, int)
        or not isinstance(s, int)
        or r not in {g.value for g in GroupRole}
        or not isinstance(n, str)
        or not 0 < len(n) <= 64
    ):
        raise Unauthenticated("the join token is malformed")
    return JoinClaims(
        person_id=p,
        session_id=s,
        role=GroupRole(str(r)),
        expires_at=float(data["exp"]),
        token_id=n,
    )


# A confirmation only ever records "I will take part" (which the person can also do in the
# app), so its link lives long: a year covers any series booked with it.
CONFIRM_TTL_S = 365 * 24 * 3600


@dataclass(frozen=True, slots=True)
class ConfirmClaims:
    series_id: int
    person_id: int


def mint_confirm_token(
    secret: str, *, series_id: int, person_id: int, now: float | None = None
) -> str:
    issued = time.time() if now is None else now
    payload = {"s": series_id, "p": person_id, "exp": int(issued) + CONFIRM_TTL_S}
    return sign(secret, TokenPurpose.CONFIRM, payload)


def verify_confirm_token(secret: str, token: str, *, now: float | None = None) -> ConfirmClaims:
    data = unsign(secret, TokenPurpose.CONFIRM, token, now=now)
    s, p = data.get("s"), data.get("p")
    if not isinstance(s, int) or not isinstance(p, int):
        raise Unauthenticated("the confirmation link is malformed")
    return ConfirmClaims(series_id=s, person_id=p)


@dataclass(frozen=True, slots=True)
class FormAccessClaims:
    person_id: int
    form_id: int


def mint_form_access(secret: str, *, person_id: int, form_id: int, ttl_s: int) -> str:
    """Access to one questionnaire form, returned when its single-use link is redeemed."""
    payload = {"p": person_id, "f": form_id, "exp": int(time.time()) + ttl_s}
    return sign(secret, TokenPurpose.FORM_ACCESS, payload)


def verify_form_access(secret: str, token: str) -> FormAccessClaims:
    data = unsign(secret, TokenPurpose.FORM_ACCESS, token)
    p, f = data.get("p"), data.get("f")
    if not isinstance(p, int) or not isinstance(f, int):
        raise Unauthenticated("the form access token is malformed")
    return FormAccessClaims(person_id=p, form_id=f)
