"""Signed tokens: single-use links (invitations, password resets) and room join tokens.

Format: ``base64url(json payload) "." base64url(HMAC-SHA256(key, purpose || payload))``.
Each purpose derives its own key from the secret, so a token of one kind never passes as another.
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


def sign(secret: str, purpose: str, payload: dict[str, Any]) -> str:
    body = _b64e(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
    mac = hmac.new(_key(secret, purpose), body.encode(), hashlib.sha256).digest()
    return f"{body}.{_b64e(mac)}"


def unsign(secret: str, purpose: str, token: str, *, now: float | None = None) -> dict[str, Any]:
    """Verify and decode; raise Unauthenticated when forged, Gone when expired."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        raise Unauthenticated("the token is malformed")
    body, _, mac = token.partition(".")
    try:
        given = _b64d(mac)
        expected = hmac.new(_key(secret, purpose), body.encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(given, expected):
            raise Unauthenticated("the token is not valid")
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


class LinkPurpose(StrEnum):
    """The kinds of single-use links (rows of ``invitations``); each signs with its own key."""

    INVITE = "invite"  # a one-click sign-in link from a coordinator
    RESET = "reset"  # a password-reset link sent by e-mail
    FORM = "form"  # opens one questionnaire form (server/questionnaires/links.py)


@dataclass(frozen=True, slots=True)
class LinkClaims:
    person_id: int
    nonce: str
    expires_at: float


def mint_link(
    secret: str, purpose: LinkPurpose, *, person_id: int, nonce: str, expires_at: float
) -> str:
    return sign(secret, purpose.value, {"p": person_id, "n": nonce, "exp": int(expires_at)})


def verify_link(secret: str, purpose: LinkPurpose, token: str) -> LinkClaims:
    """Verify a single-use link of ``purpose`` (a link of another purpose is forged here)."""
    data = unsign(secret, purpose.value, token)
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


def mint_join_token(
    secret: str, *, person_id: int, session_id: int, role: GroupRole, ttl_s: int = 300
) -> str:
    payload = {"p": person_id, "s": session_id, "r": role.value, "exp": int(time.time()) + ttl_s}
    return sign(secret, "join", payload)


def verify_join_token(secret: str, token: str, *, now: float | None = None) -> JoinClaims:
    data = unsign(secret, "join", token, now=now)
    p, s, r = data.get("p"), data.get("s"), data.get("r")
    if not isinstance(p, int) or not isinstance(s, int) or r not in {g.value for g in GroupRole}:
        raise Unauthenticated("the join token is malformed")
    return JoinClaims(
        person_id=p, session_id=s, role=GroupRole(str(r)), expires_at=float(data["exp"])
    )
