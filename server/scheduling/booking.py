"""Preview and book a series for a group."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from server.audit import record
from server.db.models import Group, ScheduledSession, Series
from server.domain import AuditOutcome
from server.errors import Conflict
from server.notify.templates import Kind
from server.scheduling.calendars import config_for, holidays
from server.scheduling.models import Purpose
from server.scheduling.plan import SchedulingConfig, notice
from server.scheduling.series import (
    Occurrence,
    Problem,
    ProblemKind,
    SeriesSpec,
    Skipped,
    Slot,
    check_rules,
    fields_of,
    placement_problems,
    plan_days,
)
from server.scheduling.store import (
    get_group,
    insert_dispatches,
    leader_conflicts,
    plan_for,
    roster,
    times,
)

log = logging.getLogger("circle.scheduling")


@dataclass(frozen=True, slots=True)
class Preview:
    group: Group
    spec: SeriesSpec
    occurrences: list[Occurrence]
    problems: list[Problem]
    members: int
    skipped: list[Skipped]

    @property
    def refusals(self) -> list[Problem]:
        return [p for p in self.problems if p.kind is ProblemKind.REFUSE]

    @property
    def ok(self) -> bool:
        return not self.refusals

    def to_wire(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "members": self.members,
            "sessions": [
                {
                    "index": o.index,
                    "starts_at": int(o.starts_at.timestamp() * 1000),
                    "local": o.local_start.strftime("%Y-%m-%dT%H:%M"),
                    "weekday": o.local_start.strftime("%a"),
                    "utc_offset": o.local_start.strftime("%z"),
                    "duration_minutes": o.duration_minutes,
                }
                for o in self.occurrences
            ],
            "problems": [p.to_wire() for p in self.problems],
            "skipped": [x.to_wire() for x in self.skipped],
        }


async def preview(s: AsyncSession, group_id: int, spec: SeriesSpec, now: datetime) -> Preview:
    group = await get_group(s, group_id)
    closed = await holidays(s, group.organisation_id, spec.start_date)
    occurrences, skipped = plan_days(spec, closed)
    people = await roster(s, group_id)
    problems = check_rules(
        spec,
        occurrences,
        protocol=group.protocol,
        members=len(people.members),
        min_members=group.min_members,
        capacity=group.capacity,
        now=now,
        settings=group.settings,
    )
    problems += await leader_conflicts(
        s, group_id, [(o.index, o.starts_at, o.ends_at) for o in occurrences]
    )
    slots = [Slot(o.index, o.local_start, o.duration_minutes) for o in occurrences]
    # Counts and weeks are the spec's own checks above (named by its fields); overlap is shared
    # with every later change.
    problems += [
        p for p in placement_problems(group.protocol, slots) if p.code == "sessions_overlap"
    ]
    if not people.leaders:
        problems.append(
            Problem(
                ProblemKind.WARN,
                "no_leader",
                "nobody in this group is leader or co-leader: make someone leader before the "
                "first session",
                field="members",
            )
        )
    return Preview(group, spec, occurrences, problems, len(people.members), skipped)


async def book(
    s: AsyncSession,
    group_id: int,
    spec: SeriesSpec,
    *,
    actor_id: int | None,
    cfg: SchedulingConfig,
    now: datetime,
) -> tuple[Series, list[ScheduledSession], Preview]:
    """Book ``spec`` for the group, or raise Conflict listing every refusal. The caller commits."""
    pv = await preview(s, group_id, spec, now)
    if not pv.ok:
        await record(
            s,
            actor_id=actor_id,
            action="series.book",
            target=f"group:{group_id}",
            outcome=AuditOutcome.REFUSED,
            details={"problems": [p.to_wire() for p in pv.refusals]},
        )
        raise Conflict(
            "the series cannot be booked: " + "; ".join(p.message for p in pv.refusals),
            code="booking_refused",
            fields=fields_of(pv.refusals),
            problems=[p.to_wire() for p in pv.problems],
        )
    cfg = await config_for(s, group_id, cfg)
    lobby = spec.lobby_minutes if spec.lobby_minutes is not None else cfg.lobby_minutes
    series = Series(
        group_id=group_id,
        title=spec.title,
        timezone=spec.timezone,
        planned_sessions=spec.sessions,
        pattern=spec.model_dump(mode="json") | {"skipped": [x.to_wire() for x in pv.skipped]},
        created_by=actor_id,
        created_at=now,
    )
    s.add(series)
    await s.flush()
    sessions = [
        ScheduledSession(
            series_id=series.id,
            group_id=group_id,
            index=o.index,
            starts_at=o.starts_at,
            timezone=spec.timezone,
            duration_minutes=o.duration_minutes,
            lobby_minutes=lobby,
            sequence=0,
        )
        for o in pv.occurrences
    ]
    s.add_all(sessions)
    await s.flush()
    people = await roster(s, group_id)
    planned = [p for x in sessions for p in plan_for(x, sessions, people, cfg, now)]
    # The booking notice lists every session's time, not only the first.
    every = {"kind": Kind.BOOKED.value, "sessions": [x.id for x in sessions]}
    planned += [
        notice(times(sessions[0]), pid, Purpose.CHANGE_NOTICE, now, every)
        for pid in people.everyone
    ]
    await insert_dispatches(s, planned)
    await record(
        s,
        actor_id=actor_id,
        action="series.book",
        target=f"series:{series.id}",
        outcome=AuditOutcome.ALLOWED,
        details={"group_id": group_id, "sessions": len(sessions)},
    )
    log.info("series %s booked: %d sessions, %d dispatches", series.id, len(sessions), len(planned))
    return series, sessions, pv
