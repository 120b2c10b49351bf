"""A series' attendance: the grid (members x sessions), rates and regularity.

Each cell shows the effective status (a leader's newest correction, else the derived record)
beside the derived one, so the original is always kept and shown. Rates count present, late
and left early as attended; excused sessions are left out of a member's denominator.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.attendance.models import (
    AttendanceCorrection,
    AttendanceExcuse,
    AttendanceRecordRow,
    AttendanceStatus,
)
from server.db.models import Membership, Person, ScheduledSession, Series
from server.domain import MembershipStatus, SessionStatus
from server.errors import NotFound

JSON = dict[str, Any]
ATTENDED = frozenset({AttendanceStatus.PRESENT, AttendanceStatus.LATE, AttendanceStatus.LEFT_EARLY})
HELD = frozenset({SessionStatus.LIVE, SessionStatus.ENDED})


def rate(num: int, den: int) -> float | None:
    return None if den == 0 else round(num / den, 4)


@dataclass
class SeriesData:
    """What a report is built from (loaded by ``load``; built by hand in tests)."""

    series: Series
    sessions: list[ScheduledSession]
    people: dict[int, tuple[str, str]]  # person -> (display name, group role)
    records: dict[tuple[int, int], AttendanceRecordRow] = field(default_factory=dict)
    corrections: dict[tuple[int, int], list[AttendanceCorrection]] = field(default_factory=dict)
    excuses: dict[tuple[int, int], AttendanceExcuse] = field(default_factory=dict)


async def load(s: AsyncSession, series_id: int) -> SeriesData:
    series = await s.get(Series, series_id)
    if series is None:
        raise NotFound("no such series")
    sessions = list(
        await s.scalars(
            select(ScheduledSession)
            .where(ScheduledSession.series_id == series_id)
            .order_by(ScheduledSession.starts_at, ScheduledSession.id)
        )
    )
    ids = [x.id for x in sessions]
    data = SeriesData(series, sessions, {})
    for rec in await s.scalars(
        select(AttendanceRecordRow).where(AttendanceRecordRow.session_id.in_(ids))
    ):
        data.records[(rec.session_id, rec.person_id)] = rec
    for cor in await s.scalars(
        select(AttendanceCorrection)
        .where(AttendanceCorrection.session_id.in_(ids))
        .order_by(AttendanceCorrection.at, AttendanceCorrection.id)
    ):
        data.corrections.setdefault((cor.session_id, cor.person_id), []).append(cor)
    for exc in await s.scalars(
        select(AttendanceExcuse).where(AttendanceExcuse.session_id.in_(ids))
    ):
        data.excuses[(exc.session_id, exc.person_id)] = exc
    rows = await s.execute(
        select(Person.id, Person.display_name, Membership.role)
        .join(Membership, Membership.person_id == Person.id)
        .where(
            Membership.group_id == series.group_id,
            Membership.status == MembershipStatus.ACTIVE,
        )
    )
    for pid, name, role in rows:
        data.people[pid] = (name, role.value)
    extra = {p for _, p in data.records} - set(data.people)
    if extra:
        for pid, name in await s.execute(
            select(Person.id, Person.display_name).where(Person.id.in_(extra))
        ):
            data.people[pid] = (name, "former")
    return data


def effective(data: SeriesData, sid: int, pid: int) -> AttendanceStatus | None:
    fixes = data.corrections.get((sid, pid))
    if fixes:
        return fixes[-1].status
    rec = data.records.get((sid, pid))
    return None if rec is None else rec.status


def _cell(data: SeriesData, sid: int, pid: int, *, leader_view: bool) -> JSON | None:
    rec = data.records.get((sid, pid))
    fixes = data.corrections.get((sid, pid), [])
    excuse = data.excuses.get((sid, pid))
    if rec is None and not fixes and excuse is None:
        return None
    cell: JSON = {
        "status": None if (st := effective(data, sid, pid)) is None else st.value,
        "derived_status": None if rec is None else rec.status.value,
        "minutes_present": None if rec is None else rec.seconds_present // 60,
        "reconnects": None if rec is None else rec.reconnects,
        "excused_ahead": excuse is not None,
        "corrections": [
            {
                "status": c.status.value,
                "reason": c.reason,
                "by": c.by_id,
                "at": c.at.isoformat(),
            }
            for c in fixes
        ],
    }
    if excuse is not None and leader_view:
        cell["excuse_reason"] = excuse.reason
    return cell


def regularity(sessions: list[ScheduledSession], now: datetime) -> JSON:
    """Sessions held as booked vs moved or cancelled, over the sessions whose time has come
    (or that were held or cancelled)."""
    due = [
        x
        for x in sessions
        if x.starts_at <= now or x.status in HELD or x.status is SessionStatus.CANCELLED
    ]
    cancelled = sum(1 for x in due if x.status is SessionStatus.CANCELLED)
    moved = sum(
        1 for x in due if x.status is not SessionStatus.CANCELLED and (x.sequence or x.is_makeup)
    )
    as_booked = sum(1 for x in due if x.status in HELD and not x.sequence and not x.is_makeup)
    return {
        "due": len(due),
        "held_as_booked": as_booked,
        "moved": moved,
        "cancelled": cancelled,
        "rate": rate(as_booked, len(due)),
    }


def build(
    data: SeriesData, now: datetime, *, only_person: int | None = None, leader_view: bool = False
) -> JSON:
    sessions: list[JSON] = []
    for x in data.sessions:
        attended = expected = 0
        for (sid, pid), _rec in data.records.items():
            if sid != x.id:
                continue
            st = effective(data, sid, pid)
            if st is AttendanceStatus.EXCUSED:
                continue
            expected += 1
            attended += st in ATTENDED
        sessions.append(
            {
                "id": x.id,
                "index": x.index,
                "starts_at": x.starts_at.isoformat(),
                "status": x.status.value,
                "held": x.status in HELD,
                "moved": bool(x.sequence or x.is_makeup)
                and x.status is not SessionStatus.CANCELLED,
                "attendance_rate": rate(attended, expected) if only_person is None else None,
            }
        )
    members: list[JSON] = []
    for pid in sorted(data.people, key=lambda p: (data.people[p][0].casefold(), p)):
        if only_person is not None and pid != only_person:
            continue
        name, role = data.people[pid]
        cells: dict[str, JSON | None] = {}
        attended = expected = 0
        for x in data.sessions:
            cell = _cell(data, x.id, pid, leader_view=leader_view)
            cells[str(x.id)] = cell
            st = effective(data, x.id, pid)
            if x.status in HELD and st is not None and st is not AttendanceStatus.EXCUSED:
                expected += 1
                attended += st in ATTENDED
        members.append(
            {
                "person_id": pid,
                "display_name": name,
                "role": role,
                "sessions": cells,
                "attended": attended,
                "expected": expected,
                "attendance_rate": rate(attended, expected),
            }
        )
    held = [x for x in data.sessions if x.status in HELD]
    return {
        "series_id": data.series.id,
        "group_id": data.series.group_id,
        "title": data.series.title,
        "period": {
            "from": data.sessions[0].starts_at.isoformat() if data.sessions else None,
            "to": held[-1].starts_at.isoformat() if held else None,
        },
        "sessions": sessions,
        "members": members,
        "regularity": regularity(data.sessions, now),
    }


def to_csv(report: JSON) -> str:
    """One row per member: each session's effective status (text, never colour alone), then
    the member's rate; a last row with each session's rate."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    sessions = report["sessions"]
    w.writerow(
        ["person_id", "name", "role"]
        + [f"session {x['index']} ({x['starts_at'][:10]})" for x in sessions]
        + ["attended", "expected", "attendance_rate"]
    )
    for m in report["members"]:
        row = [m["person_id"], m["display_name"], m["role"]]
        for x in sessions:
            cell = m["sessions"].get(str(x["id"]))
            row.append("" if cell is None else cell["status"] or "")
        row += [m["attended"], m["expected"], _num(m["attendance_rate"])]
        w.writerow(row)
    if any(x["attendance_rate"] is not None for x in sessions):
        w.writerow(
            ["", "session attendance rate", ""]
            + [_num(x["attendance_rate"]) for x in sessions]
            + ["", "", ""]
        )
    return out.getvalue()


def _num(v: float | None) -> str:
    return "" if v is None else f"{v:.4f}"
