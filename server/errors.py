"""The error taxonomy: every expected failure is one of these, mapped to the wire in one place.

Anything else that escapes a handler is a bug: it is logged with a traceback and answered
with a generic ``internal`` error that leaks nothing.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import ValidationError


class CircleError(Exception):
    """Base of all expected errors. ``code`` is stable and machine-readable."""

    code: ClassVar[str] = "error"
    http_status: ClassVar[int] = 400

    def __init__(
        self, message: str, *, code: str | None = None, field: str | None = None, **details: Any
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code  # type: ignore[misc]
        # One shape for naming what was wrong: ``details.fields`` maps each field to its
        # problem. ``field=`` is the shorthand for a single one.
        if field is not None:
            details["fields"] = {field: message, **details.get("fields", {})}
        self.details = details

    def to_wire(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body


class UserError(CircleError):
    """Malformed or invalid input."""

    code = "invalid"
    http_status = 400


class Unauthenticated(CircleError):
    code = "unauthenticated"
    http_status = 401


class PermissionDenied(CircleError):
    code = "forbidden"
    http_status = 403


class NotFound(CircleError):
    code = "not_found"
    http_status = 404


class Conflict(CircleError):
    code = "conflict"
    http_status = 409


class Gone(CircleError):
    """An expired or already-used link or token."""

    code = "gone"
    http_status = 410


class PayloadTooLarge(CircleError):
    code = "too_large"
    http_status = 413


class RateLimited(CircleError):
    code = "rate_limited"
    http_status = 429


class Unavailable(CircleError):
    """A feature this deployment does not offer (e.g. e-mail when no SMTP server is set up)."""

    code = "unavailable"
    http_status = 503


class ProtocolError(CircleError):
    """A command that the current protocol phase does not allow."""

    code = "protocol"
    http_status = 409


class CapacityReached(CircleError):
    code = "capacity"
    http_status = 409


def validation_fields(exc: ValidationError, limit: int = 20) -> dict[str, str]:
    """``{field: problem}`` for a pydantic error (the ``details.fields`` of a UserError);
    a field the model does not know is named as "unknown field"."""
    out: dict[str, str] = {}
    for err in exc.errors()[:limit]:
        loc = ".".join(str(p) for p in err["loc"]) or "body"
        msg = "unknown field" if err["type"] == "extra_forbidden" else str(err["msg"])
        out.setdefault(loc, msg.removeprefix("Value error, "))
    return out


def error_body(exc: BaseException) -> dict[str, Any]:
    """The one mapping from an exception to the wire body ``{"error": {...}}``."""
    if isinstance(exc, CircleError):
        return {"error": exc.to_wire()}
    return {"error": {"code": "internal", "message": "internal error"}}


def http_status(exc: BaseException) -> int:
    return exc.http_status if isinstance(exc, CircleError) else 500
