"""Who may come in: the session's join window (server.lifecycle), the group agreement, and a
free place for members. Pure."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from server.domain import GroupRole, SessionStatus
from server.errors import CapacityReached, Conflict, ErrorCode, Gone
from server.lifecycle import Refusal, Window, may_enter

from .participants import Participant
from .ports import SessionInfo


def window_of(info: SessionInfo) -> Window:
    return Window(info.starts_at, info.lobby_minutes, info.duration_minutes)


def check_open(
    info: SessionInfo, status: SessionStatus, ended: bool, role: GroupRole, now_ms: int
) -> None:
    """Refuse a join into an ended or cancelled session, one past its join window that never
    went live, or a member's before the lobby opens (``lobby_minutes`` before the start;
    leaders may open the room earlier)."""
    if ended:
        raise Gone("This session has ended.", code=ErrorCode.ENDED)
    window = window_of(info)
    now = datetime.fromtimestamp(now_ms / 1000, tz=UTC)
    refusal = may_enter(status, window, now, early=role is not GroupRole.MEMBER)
    if refusal is Refusal.ENDED or refusal is Refusal.CLOSED:
        raise Gone("This session has ended.", code=ErrorCode.ENDED)
    if refusal is Refusal.CANCELLED:
        raise Gone("This session was cancelled.", code=ErrorCode.CANCELLED)
    if refusal is Refusal.NOT_OPEN:
        opens = int(window.opens_at.timestamp() * 1000)
        at = window.opens_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        raise Conflict(
            f"The room opens {info.lobby_minutes} minutes before the session, at {at}.",
            code=ErrorCode.NOT_OPEN,
            opens_at_ms=opens,
        )


def check_place(info: SessionInfo, role: GroupRole, participants: Iterable[Participant]) -> None:
    """Members fill ``capacity`` places (present or reconnecting); leaders are not counted."""
    if role is not GroupRole.MEMBER:
        return
    taken = sum(1 for q in participants if q.in_room and q.group_role is GroupRole.MEMBER)
    if taken >= info.capacity:
        raise CapacityReached(
            f"This group is full: all {info.capacity} member places are taken.",
            capacity=info.capacity,
        )
