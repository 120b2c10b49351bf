"""Structured logs: one JSON object a line, with the request and session they belong to.

``log_format = "json"`` (docs/configuration.md) makes ``circle serve`` write every log line as
``{"ts", "level", "logger", "msg", "node", "request", "session", "exc"}`` (the last three only
when known). ``request`` is the id of the HTTP request the line belongs to: the proxy's
``X-Request-Id`` when it sends a plausible one, else a fresh one; every response echoes it.
A Socket.IO connection's events run under the request id of its websocket upgrade, so it
doubles as a connection id. ``session`` is the live session (room) an event concerns.

No personal data: the server never logs names or e-mail addresses by design (ids only), and
this formatter also replaces anything shaped like an e-mail address in a message or a
traceback with ``(e-mail hidden)``, in case a library's message carries one. Client addresses
are not logged either (the access log has none; the proxy keeps those).
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from aiohttp import web

REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "circle_request_id", default=None
)
SESSION_ID: contextvars.ContextVar[int | None] = contextvars.ContextVar(
    "circle_session_id", default=None
)
_PLAUSIBLE_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
HIDDEN = "(e-mail hidden)"


def scrub(text: str) -> str:
    """``text`` with every e-mail address replaced."""
    return _EMAIL.sub(HIDDEN, text)


# Loggers that put personal data in their DEBUG lines: aiosqlite logs every statement with its
# parameters (names, e-mail addresses, room state). They never go below INFO, at any log_level.
PARAMETER_LOGGERS = ("aiosqlite",)


def quiet_parameter_loggers() -> None:
    for name in PARAMETER_LOGGERS:
        logging.getLogger(name).setLevel(logging.INFO)


def bind_session(session_id: int) -> None:
    """Mark the lines logged from here on (in this task) as about ``session_id``."""
    SESSION_ID.set(session_id)


class JsonFormatter(logging.Formatter):
    def __init__(self, node: str = "") -> None:
        super().__init__()
        self.node = node

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": scrub(record.getMessage()),
        }
        if self.node:
            out["node"] = self.node
        request, session = REQUEST_ID.get(), SESSION_ID.get()
        if request is not None:
            out["request"] = request
        if session is not None:
            out["session"] = session
        if record.exc_info:
            out["exc"] = scrub(self.formatException(record.exc_info))
        return json.dumps(out, ensure_ascii=False)


def use_json(node: str, root: logging.Logger | None = None) -> None:
    """Make every handler of the root logger write JSON lines."""
    root = root or logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.StreamHandler())
    for handler in root.handlers:
        handler.setFormatter(JsonFormatter(node))


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def request_id_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Give the request an id (the proxy's, if plausible), for its log lines and its answer."""
    given = request.headers.get("X-Request-Id", "")
    rid = given if _PLAUSIBLE_ID.match(given) else secrets.token_hex(8)
    REQUEST_ID.set(rid)
    SESSION_ID.set(None)
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        exc.headers["X-Request-Id"] = rid
        raise
    if not response.prepared:
        response.headers["X-Request-Id"] = rid
    return response
