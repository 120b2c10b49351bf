"""The error taxonomy: every expected failure is one of these, mapped to the wire in one place.

Anything else that escapes a handler is a bug: it is logged with a traceback and answered
with a generic ``internal`` error that leaks nothing.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar

from pydantic import ValidationError


class ErrorCode(StrEnum):
    """Every error code the server sends (REST envelopes and Socket.IO refusals).

    The web client has an ``error.<code>`` text for each in every catalogue
    (tests/foundation/test_error_codes.py checks both that and that no code is spelled
    outside this enum).
    """

    # the taxonomy below
    INVALID = "invalid"
    UNAUTHENTICATED = "unauthenticated"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    GONE = "gone"
    TOO_LARGE = "too_large"
    RATE_LIMITED = "rate_limited"
    UNAVAILABLE = "unavailable"
    PROTOCOL = "protocol"
    CAPACITY = "capacity"
    INTERNAL = "internal"
    # the HTTP edge
    CSRF = "csrf"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    # accounts and links
    BAD_CREDENTIALS = "bad_credentials"
    WEAK_PASSWORD = "weak_password"
    RESET_UNAVAILABLE = "reset_unavailable"
    EXPIRED = "expired"
    USED = "used"
    USE_PASSWORD_RESET = "use_password_reset"  # no sign-in link for people with an account
    INACTIVE = "inactive"
    NAME_IMPERSONATES = "name_impersonates"
    # entering a session's room
    NOT_OPEN = "not_open"
    CLOSED = "closed"
    ENDED = "ended"
    CANCELLED = "cancelled"
    WRONG_NODE = "wrong_node"
    TOKEN_USED = "token_used"  # a join token opens one connection
    REMOVED = "removed"  # withdrawn, deactivated or role changed: out of the live room
    # the live room (signaling)
    UNSUPPORTED_VERSION = "unsupported_version"
    HELLO_REQUIRED = "hello_required"
    UNKNOWN_EVENT = "unknown_event"
    AGREEMENT_REQUIRED = "agreement_required"
    AGREEMENT_VERSION = "agreement_version"
    NOT_IN_ROOM = "not_in_room"
    MEDIA_UNAVAILABLE = "media_unavailable"
    # scheduling (the coordinator pages)
    ALREADY_ENROLLED = "already_enrolled"
    BOOKING_REFUSED = "booking_refused"
    SCHEDULE_REFUSED = "schedule_refused"
    IN_PAST = "in_past"
    LEADER_DOUBLE_BOOKED = "leader_double_booked"
    NONEXISTENT_LOCAL_TIME = "nonexistent_local_time"
    SESSION_CANCELLED = "session_cancelled"
    SESSION_STARTED = "session_started"
    UNKNOWN_TIMEZONE = "unknown_timezone"
    # answering questionnaires
    FOREIGN_LINK = "foreign_link"  # a form link opened while signed in as somebody else
    FOREIGN_FORM = "foreign_form"  # a form's access token used on another form
    INCOMPLETE = "incomplete"  # submitted with required items unanswered (details.fields)
    SUBMITTED = "submitted"  # the form was already submitted
    ROOM_MOVING = "room_moving"  # a cluster moves the room between processes: retry (issue 17)


class CircleError(Exception):
    """Base of all expected errors. ``code`` is stable and machine-readable (an ErrorCode)."""

    code: ClassVar[str] = ErrorCode.INTERNAL
    http_status: ClassVar[int] = 400

    # ``code`` also takes the plain string of an ErrorCode member, for modules not yet moved to
    # the enum; the test named above refuses any string that is not a member.
    def __init__(
        self,
        message: str,
        *,
        code: ErrorCode | str | None = None,
        field: str | None = None,
        **details: Any,
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
        body: dict[str, Any] = {"code": str(self.code), "message": self.message}
        if self.details:
            body["details"] = self.details
        return body


class UserError(CircleError):
    """Malformed or invalid input."""

    code = ErrorCode.INVALID
    http_status = 400


class Unauthenticated(CircleError):
    code = ErrorCode.UNAUTHENTICATED
    http_status = 401


class PermissionDenied(CircleError):
    code = ErrorCode.FORBIDDEN
    http_status = 403


class NotFound(CircleError):
    code = ErrorCode.NOT_FOUND
    http_status = 404


class Conflict(CircleError):
    code = ErrorCode.CONFLICT
    http_status = 409


class Gone(CircleError):
    """An expired or already-used link or token."""

    code = ErrorCode.GONE
    http_status = 410


class PayloadTooLarge(CircleError):
    code = ErrorCode.TOO_LARGE
    http_status = 413


class RateLimited(CircleError):
    code = ErrorCode.RATE_LIMITED
    http_status = 429


class Unavailable(CircleError):
    """A feature this deployment does not offer (e.g. e-mail when no SMTP server is set up)."""

    code = ErrorCode.UNAVAILABLE
    http_status = 503


class ProtocolError(CircleError):
    """A command that the current protocol phase does not allow."""

    code = ErrorCode.PROTOCOL
    http_status = 409


class CapacityReached(CircleError):
    code = ErrorCode.CAPACITY
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
    return {"error": {"code": ErrorCode.INTERNAL.value, "message": "internal error"}}


def http_status(exc: BaseException) -> int:
    return exc.http_status if isinstance(exc, CircleError) else 500
