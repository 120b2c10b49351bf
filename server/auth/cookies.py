"""Cookie names and attributes."""

from __future__ import annotations

from aiohttp import web

SESSION_COOKIE = "circle_session"
CSRF_COOKIE = "circle_csrf"
CSRF_HEADER = "X-CSRF-Token"


def set_session_cookie(resp: web.StreamResponse, token: str, *, max_age: int, secure: bool) -> None:
    resp.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=max_age,
        httponly=True,
        samesite="Lax",
        secure=secure,
        path="/",
    )


def set_csrf_cookie(resp: web.StreamResponse, token: str, *, secure: bool) -> None:
    # Readable by our own scripts (double-submit); Strict so no other site ever sends it.
    resp.set_cookie(CSRF_COOKIE, token, httponly=False, samesite="Strict", secure=secure, path="/")


def clear_session_cookie(resp: web.StreamResponse) -> None:
    resp.del_cookie(SESSION_COOKIE, path="/")
