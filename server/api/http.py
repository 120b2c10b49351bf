"""Turns Routes into aiohttp handlers: auth, CSRF, validation, serialisation, errors."""

from __future__ import annotations

import hmac
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ValidationError

from server.api.context import Ctx
from server.api.routing import Route, body_required
from server.appkeys import SETTINGS_KEY
from server.auth.cookies import CSRF_HEADER, bound_csrf, csrf_cookie, set_csrf_cookie
from server.errors import (
    CircleError,
    ErrorCode,
    PermissionDenied,
    UserError,
    error_body,
    http_status,
    validation_fields,
)

log = logging.getLogger("circle.api")
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Routes that are reached before a person has a session (and so a CSRF cookie).
CSRF_EXEMPT = frozenset({"/api/auth/login", "/api/auth/invitation"})


def json_error(exc: BaseException) -> web.Response:
    return web.json_response(error_body(exc), status=http_status(exc))


def parse_model(model: type[BaseModel], data: Any, where: str) -> BaseModel:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields = validation_fields(exc)
        summary = "; ".join(f"{k}: {v}" for k, v in list(fields.items())[:5])
        raise UserError(f"invalid {where}: {summary}", fields=fields) from None


async def read_json(request: web.Request) -> Any:
    ctype = request.headers.get("Content-Type", "")
    if not ctype.split(";")[0].strip().lower() == "application/json":
        raise UserError(
            "send the body as application/json",
            code=ErrorCode.UNSUPPORTED_MEDIA_TYPE,
            field="Content-Type",
        )
    raw = await request.read()
    try:
        return json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError):
        raise UserError("the body is not valid JSON", field="body") from None


def check_csrf(ctx: Ctx) -> None:
    """Double-submit check; for a signed-in person the token must be the one bound to this
    login (server/auth/cookies.py), so a token from before sign-in no longer passes."""
    settings = ctx.settings
    name = csrf_cookie(settings.secure_cookies)
    header = ctx.request.headers.get(CSRF_HEADER, "")
    if ctx.session_token is not None:
        expected = bound_csrf(settings.secret_key, ctx.session_token)
    else:
        expected = ctx.request.cookies.get(name, "")
    if not expected or not header or not hmac.compare_digest(expected, header):
        raise PermissionDenied(
            f"missing or wrong {CSRF_HEADER} header (send the value of the {name} cookie)",
            code=ErrorCode.CSRF,
        )


def make_handler(route: Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handler(request: web.Request) -> web.StreamResponse:
        ctx = Ctx(request)
        await ctx.load_person()
        if (
            route.method in UNSAFE
            and route.path not in CSRF_EXEMPT
            and (ctx.person is not None or route.auth == "person")
        ):
            check_csrf(ctx)
        if route.auth == "person":
            ctx.me()
        args: list[Any] = []
        if route.query is not None:
            args.append(parse_model(route.query, dict(request.query), "query"))
        elif request.query and route.method == "GET":
            unknown = ", ".join(sorted(request.query))
            raise UserError(
                f"unknown query parameter(s): {unknown}",
                fields={k: "unknown query parameter" for k in sorted(request.query)},
            )
        if route.body is not None:
            # A body whose every field is optional may be left out (as an empty object).
            empty = not request.body_exists and not body_required(route.body)
            data = {} if empty else await read_json(request)
            args.append(parse_model(route.body, data, "body"))
        result = await route.handler(ctx, *args)
        resp: web.StreamResponse
        if isinstance(result, web.StreamResponse):
            resp = result
        elif route.response is None:
            resp = web.Response(status=204)
        elif route.content_type != "application/json":
            resp = web.Response(
                body=result if isinstance(result, bytes) else str(result).encode(),
                status=route.status,
                content_type=route.content_type.split(";")[0],
                charset="utf-8",
            )
        else:
            assert route.adapter is not None
            resp = web.Response(
                body=route.adapter.dump_json(result),
                status=route.status,
                content_type="application/json",
            )
        if ctx.session_token is not None and not ctx.response_cookies:
            _keep_bound_csrf(ctx, request)
        for name, (value, attrs) in ctx.response_cookies.items():
            resp.set_cookie(name, value, **attrs)  # type: ignore[arg-type]
        for name in ctx.deleted_cookies:
            resp.del_cookie(name, path="/")
        return resp

    handler.__name__ = route.handler.__name__
    return handler


def _keep_bound_csrf(ctx: Ctx, request: web.Request) -> None:
    """A signed-in browser whose CSRF cookie is not its login's gets the right one back."""
    settings = ctx.settings
    assert ctx.session_token is not None
    name = csrf_cookie(settings.secure_cookies)
    bound = bound_csrf(settings.secret_key, ctx.session_token)
    if request.cookies.get(name) != bound:
        secure = settings.secure_cookies
        ctx.response_cookies[name] = (
            bound,
            {"httponly": False, "samesite": "Strict", "secure": secure, "path": "/"},
        )


@web.middleware
async def error_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    try:
        return await handler(request)
    except CircleError as exc:
        return json_error(exc)
    except web.HTTPRequestEntityTooLarge:
        return web.json_response(
            {
                "error": {
                    "code": ErrorCode.TOO_LARGE.value,
                    "message": "the request body is too large",
                }
            },
            status=413,
        )
    except web.HTTPException as exc:
        if exc.status < 400 or not request.path.startswith("/api/"):
            raise
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status, "http_error")
        return web.json_response(
            {"error": {"code": code, "message": exc.reason}}, status=exc.status
        )
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return web.json_response(
            {"error": {"code": ErrorCode.INTERNAL.value, "message": "internal error"}}, status=500
        )


@web.middleware
async def csrf_cookie_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Give every browser a CSRF token cookie to echo back in a header."""
    resp = await handler(request)
    secure = request.app[SETTINGS_KEY].secure_cookies
    name = csrf_cookie(secure)
    if name not in request.cookies and name not in resp.cookies and not resp.prepared:
        set_csrf_cookie(resp, secrets.token_urlsafe(24), secure=secure)
    return resp


@web.middleware
async def security_headers_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    resp = await handler(request)
    if not resp.prepared:
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("Referrer-Policy", "no-referrer")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        if request.path.startswith("/api/"):
            resp.headers.setdefault("Cache-Control", "no-store")
    return resp
