"""Cookie names and attributes, and the CSRF token bound to a login.

With secure cookies (``Settings.secure_cookies``: set, or an https public URL) the cookies
are named ``__Host-circle_session`` and ``__Host-circle_csrf``: browsers then accept them only
with ``Secure``, ``Path=/`` and no ``Domain``, so no sibling host can plant or shadow them.

The CSRF token is a double-submit token: our own scripts read the (non-HttpOnly) cookie and
echo it in the ``X-CSRF-Token`` header. Before sign-in it is random; from sign-in on it is an
HMAC of the login's own token, so it changes with every sign-in and a token seen before (or
planted before) sign-in does not pass afterwards.
"""

from __future__ import annotations

from aiohttp import web

from server.auth.tokens import login_csrf

CSRF_HEADER = "X-CSRF-Token"
_SESSION = "circle_session"
_CSRF = "circle_csrf"
HOST_PREFIX = "__Host-"


def session_cookie(secure: bool) -> str:
    return HOST_PREFIX + _SESSION if secure else _SESSION


def csrf_cookie(secure: bool) -> str:
    return HOST_PREFIX + _CSRF if secure else _CSRF


def bound_csrf(secret: str, session_token: str) -> str:
    """The CSRF token of the login whose cookie token is ``session_token``."""
    return login_csrf(secret, session_token)


def session_cookie_attrs(*, max_age: int, secure: bool) -> dict[str, object]:
    return {"max_age": max_age, "httponly": True, "samesite": "Lax", "secure": secure, "path": "/"}


def set_csrf_cookie(resp: web.StreamResponse, token: str, *, secure: bool) -> None:
    # Readable by our own scripts (double-submit); Strict so no other site ever sends it.
    resp.set_cookie(
        csrf_cookie(secure), token, httponly=False, samesite="Strict", secure=secure, path="/"
    )
