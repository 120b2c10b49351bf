"""Who may come in: the session must be open, and a member needs a free place. Pure."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from server.domain import GroupRole, SessionStatus
from server.errors import CapacityReached, Conflict, Gone

from .participants import Participant
from .ports import SessionInfo


def check_open(
    info: SessionInfo, status: SessionStatus, ended: bool, role: GroupRole, now_ms: int
) -> None:
    """Refuse a join into an ended or cancelled session, or a member's before the lobby opens
    (``lobby_minutes`` before the start; leaders may open the room earlier)."""
    if ended or status is SessionStatus.ENDED:
        raise Gone("This session has ended.", code="ended")
    if status is SessionStatus.CANCELLED:
        raise Gone("This session was cancelled.", code="cancelled")
    if status is SessionStatus.SCHEDULED and role is GroupRole.MEMBER:
        opens = int(info.starts_at.timestamp() * 1000) - info.lobby_minutes * 60_000
        if now_ms < opens:
            at = datetime.fromtimestamp(opens / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")
            raise Conflict(
                f"The room opens {info.lobby_minutes} minutes before the session, at {at}.",
                code="not_open",
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
