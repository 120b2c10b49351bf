"""Undo a cancellation: a cancelled session that has not reached its planned start is
restored to ``scheduled`` (through the one writer, ``server.session_status``), keeps the
series' rules, gets its dispatches planned again under a new SEQUENCE and everyone is told."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from server.audit import record
from server.db.models import ScheduledSession
from server.domain import AuditOutcome, SessionStatus
from server.errors import Conflict, ErrorCode
from server.lifecycle import Change
from server.notify.templates import Kind
from server.scheduling.changes import (
    TIMEPOINTS,
    _check_placement,
    _fix_timepoints,
    _notify_all,
    _siblings,
    load_session,
)
from server.scheduling.plan import SchedulingConfig
from server.scheduling.store import insert_dispatches, leader_conflicts, plan_for, roster
from server.session_status import write_status

log = logging.getLogger("circle.scheduling")


async def restore_session(
    s: AsyncSession,
    session_id: int,
    *,
    actor_id: int | None,
    cfg: SchedulingConfig,
    now: datetime,
) -> ScheduledSession:
    """Restore a cancelled session before its planned start, or raise a Conflict naming why
    not (not cancelled, already past its start, or the series' rules would break)."""
    sess = await load_session(s, session_id)
    if sess.status is not SessionStatus.CANCELLED:
        raise Conflict(
            f"session {sess.id} is not cancelled (status {sess.status.value})",
            code=ErrorCode.NOT_CANCELLED,
        )
    if sess.starts_at <= now:
        raise Conflict(
            f"session {sess.id} was planned to start at {sess.starts_at:%Y-%m-%d %H:%M} UTC; "
            "a session whose time has passed cannot be restored",
            code=ErrorCode.IN_PAST,
        )
    # The restored session counts again: the rules a booking keeps must still hold (a make-up
    # may have taken its place, a leader may be busy at that time now).
    await _check_placement(
        s,
        sess.group_id,
        [x for x in await _siblings(s, sess) if x.id != sess.id],
        {},
        added=(sess.index, sess.starts_at, sess.duration_minutes),
        timezone=sess.timezone,
    )
    problems = await leader_conflicts(
        s,
        sess.group_id,
        [(sess.index, sess.starts_at, sess.starts_at + timedelta(minutes=sess.duration_minutes))],
        exclude_sessions=[sess.id],
    )
    if problems:
        raise Conflict(problems[0].message, code=ErrorCode.LEADER_DOUBLE_BOOKED, field="local_time")
    written = await write_status(s, sess.id, Change.RESTORE, now=now, loaded=sess)
    if not written.ok:  # the row is locked FOR UPDATE: only a bug gets here
        raise Conflict(
            f"session {sess.id} is {written.status}; it cannot be restored",
            code=ErrorCode.NOT_CANCELLED,
        )
    sess.sequence += 1
    await s.flush()
    siblings = await _siblings(s, sess)
    people = await roster(s, sess.group_id)
    planned = [p for p in plan_for(sess, siblings, people, cfg, now) if p.purpose not in TIMEPOINTS]
    planned += await _notify_all(s, sess, Kind.RESTORED, now)
    await insert_dispatches(s, planned)
    await _fix_timepoints(s, sess, cfg, now)
    await record(
        s,
        actor_id=actor_id,
        action="session.restore",
        target=f"session:{sess.id}",
        outcome=AuditOutcome.ALLOWED,
        details={"sequence": sess.sequence},
    )
    log.info("session %s restored (sequence %d)", sess.id, sess.sequence)
    return sess
