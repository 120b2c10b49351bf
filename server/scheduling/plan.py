"""Pure dispatch planning: which dispatches a session needs, when they are due, until when a
missed one is still worth running (its misfire grace)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from server.lifecycle import Window
from server.scheduling.models import Purpose
from server.settings import Settings

LONG_GRACE = timedelta(days=30)
NOTICE_GRACE = timedelta(days=7)
POST_GRACE = timedelta(days=14)
CHECKIN_GRACE = timedelta(days=2)


@dataclass(frozen=True, slots=True)
class SchedulingConfig:
    lobby_minutes: int = 10
    reminder_offsets_minutes: tuple[int, ...] = (24 * 60, 15)
    # The pre questionnaire opens this long before the first session; None: at booking or
    # enrolment, whichever is later (the default, docs/questionnaires-answering.md).
    timepoint_pre_minutes: int | None = None
    public_url: str = "http://127.0.0.1:8080"
    secret_key: str = ""  # signs one-click confirmation links; none are offered without it

    @classmethod
    def from_settings(cls, settings: Settings) -> SchedulingConfig:
        return cls(
            lobby_minutes=settings.lobby_minutes,
            reminder_offsets_minutes=tuple(settings.reminder_offsets_minutes),
            public_url=settings.public_url,
            secret_key=settings.secret_key,
        )


@dataclass(frozen=True, slots=True)
class SessionTimes:
    """What planning needs to know about a session."""

    id: int
    sequence: int
    starts_at: datetime
    duration_minutes: int
    lobby_minutes: int

    @property
    def window(self) -> Window:
        return Window(self.starts_at, self.lobby_minutes, self.duration_minutes)

    @property
    def ends_at(self) -> datetime:
        return self.window.ends_at


@dataclass(frozen=True, slots=True)
class PlannedDispatch:
    key: str
    session_id: int
    person_id: int | None
    purpose: Purpose
    offset_minutes: int
    due_at: datetime
    expires_at: datetime
    payload: dict[str, Any] = field(default_factory=dict)

    def row(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "session_id": self.session_id,
            "person_id": self.person_id,
            "purpose": self.purpose,
            "offset_minutes": self.offset_minutes,
            "due_at": self.due_at,
            "expires_at": self.expires_at,
            "payload": self.payload,
        }


def dispatch_key(
    session_id: int, sequence: int, person_id: int | None, purpose: Purpose, offset: int = 0
) -> str:
    who = "-" if person_id is None else str(person_id)
    return f"s{session_id}.{sequence}:p{who}:{purpose.value}:{offset}"


def _make(
    s: SessionTimes,
    person_id: int | None,
    purpose: Purpose,
    due: datetime,
    expires: datetime,
    offset: int = 0,
    payload: dict[str, Any] | None = None,
) -> PlannedDispatch:
    return PlannedDispatch(
        dispatch_key(s.id, s.sequence, person_id, purpose, offset),
        s.id,
        person_id,
        purpose,
        offset,
        due,
        expires,
        payload or {},
    )


def plan_session(
    s: SessionTimes,
    people: Iterable[int],
    cfg: SchedulingConfig,
    now: datetime,
    *,
    members: Iterable[int] = (),
    first: bool = False,
    last: bool = False,
) -> list[PlannedDispatch]:
    """Dispatches for one session: lobby, start, close, the check-in at its end, a reminder per
    person and offset, and the pre/post timepoints for members when the session opens or closes
    its series (pre: due at once by default, and worth sending until the session ends)."""
    out: list[PlannedDispatch] = []
    window = s.window
    close = window.closes_at  # the end of the join window: late joiners are not cut off
    if close <= now:
        return out
    out.append(_make(s, None, Purpose.LOBBY_OPEN, window.opens_at, s.ends_at))
    out.append(_make(s, None, Purpose.SESSION_START, s.starts_at, s.ends_at))
    out.append(_make(s, None, Purpose.SESSION_CLOSE, close, close + LONG_GRACE))
    out.append(_make(s, None, Purpose.TIMEPOINT_CHECKIN, s.ends_at, s.ends_at + CHECKIN_GRACE))
    people = list(people)
    for offset in cfg.reminder_offsets_minutes:
        due = s.starts_at - timedelta(minutes=offset)
        if due <= now:  # booked too late for this reminder: the booking notice says it all
            continue
        for pid in people:
            out.append(_make(s, pid, Purpose.REMINDER, due, s.starts_at, offset))
    for pid in members:
        if first:
            due = now
            if cfg.timepoint_pre_minutes is not None:
                due = max(now, s.starts_at - timedelta(minutes=cfg.timepoint_pre_minutes))
            out.append(_make(s, pid, Purpose.TIMEPOINT_PRE, due, s.ends_at))
        if last:
            out.append(_make(s, pid, Purpose.TIMEPOINT_POST, s.ends_at, s.ends_at + POST_GRACE))
    return out


def notice(
    s: SessionTimes, person_id: int, purpose: Purpose, now: datetime, payload: dict[str, Any]
) -> PlannedDispatch:
    """A change or enrolment notice, due now. Its key carries a fresh nonce: it is created in
    the same transaction as the change it reports, which is what makes it happen once."""
    key = f"{dispatch_key(s.id, s.sequence, person_id, purpose)}:{uuid.uuid4().hex[:12]}"
    return PlannedDispatch(key, s.id, person_id, purpose, 0, now, now + NOTICE_GRACE, payload)
