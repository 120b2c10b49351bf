"""iCalendar (RFC 5545) for sessions: a per-person feed behind a secret URL and series downloads.

Each session is one VEVENT whose UID never changes and whose SEQUENCE is the session's
``sequence`` (bumped on every move or cancellation), so calendar clients replace the old
version. Times are written in UTC (``DTSTART:...Z``): a local time with a TZID is ambiguous in
the repeated hour of an autumn change (RFC 5545 3.3.5 makes readers take the first of the two),
so a session at 02:30 on the fall-back night would land an hour off or end before it starts.
The calendar's name and ``X-WR-TIMEZONE`` carry the reader's zone for display; the description
repeats the group's own local time, with its offset, in words.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.db.models import Group, Membership, Person, ScheduledSession, Series
from server.domain import MembershipStatus, SessionStatus
from server.errors import Gone
from server.notify.mailer import Attachment, Attachments
from server.notify.models import OutboxMessage
from server.notify.templates import person_zone
from server.pages import session_page
from server.scheduling.models import CalendarToken, Dispatch

PRODID = "-//Healers' Circle//Scheduling//EN"


@dataclass(frozen=True, slots=True)
class EventRow:
    session: ScheduledSession
    group_name: str
    series_title: str
    planned: int


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def build_calendar(
    rows: Sequence[EventRow], zone: ZoneInfo, *, public_url: str, name: str
) -> bytes:
    host = urlsplit(public_url).hostname or "localhost"
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", zone.key)
    for r in rows:
        x = r.session
        ev = Event()
        ev.add("uid", f"session-{x.id}@{host}")
        ev.add("sequence", x.sequence)
        ev.add("dtstamp", x.updated_at)
        ev.add("last-modified", x.updated_at)
        start = x.starts_at.astimezone(UTC)
        ev.add("dtstart", start)
        ev.add("dtend", start + timedelta(minutes=x.duration_minutes))
        label = "make-up session" if x.is_makeup else f"session {x.index} of {r.planned}"
        ev.add("summary", f"{r.series_title} ({r.group_name}), {label}")
        local = x.starts_at.astimezone(ZoneInfo(x.timezone))
        ev.add(
            "description",
            f"{local:%Y-%m-%d %H:%M} (UTC{local:%z}) in {x.timezone} (the group's time).\n"
            f"Join: {session_page(public_url, x.id)}",
        )
        ev.add("url", session_page(public_url, x.id))
        cancelled = x.status is SessionStatus.CANCELLED
        ev.add("status", "CANCELLED" if cancelled else "CONFIRMED")
        cal.add_component(ev)
    return bytes(cal.to_ical())


async def _rows(s: AsyncSession, where: list[object]) -> list[EventRow]:
    stmt = (
        select(ScheduledSession, Group.name, Series.title, Series.planned_sessions)
        .join(Group, Group.id == ScheduledSession.group_id)
        .outerjoin(Series, Series.id == ScheduledSession.series_id)
        .where(*where)  # type: ignore[arg-type]
        .order_by(ScheduledSession.starts_at)
    )
    return [
        EventRow(sess, gname, title or gname, planned or 1)
        for sess, gname, title, planned in (await s.execute(stmt)).all()
    ]


async def person_calendar(s: AsyncSession, person: Person, public_url: str) -> bytes:
    groups = select(Membership.group_id).where(
        Membership.person_id == person.id, Membership.status == MembershipStatus.ACTIVE
    )
    rows = await _rows(s, [ScheduledSession.group_id.in_(groups)])
    zone = person_zone(person.timezone)
    return build_calendar(rows, zone, public_url=public_url, name="Healers' Circle")


async def series_calendar(
    s: AsyncSession, series: Series, zone: ZoneInfo, public_url: str
) -> bytes:
    rows = await _rows(s, [ScheduledSession.series_id == series.id])
    return build_calendar(rows, zone, public_url=public_url, name=series.title)


async def mint_feed_token(s: AsyncSession, person_id: int, now: datetime) -> str:
    """A new secret for the person's feed; earlier ones stop working."""
    for old in (
        await s.execute(
            select(CalendarToken).where(
                CalendarToken.person_id == person_id, CalendarToken.revoked_at.is_(None)
            )
        )
    ).scalars():
        old.revoked_at = now
    token = secrets.token_urlsafe(32)
    s.add(CalendarToken(person_id=person_id, token_hash=_hash(token), created_at=now))
    await s.flush()
    return token


async def person_for_token(s: AsyncSession, token: str) -> Person:
    if not token or len(token) > 100:
        raise Gone("unknown or revoked calendar link")
    found = await s.scalar(
        select(Person)
        .join(CalendarToken, CalendarToken.person_id == Person.id)
        .where(CalendarToken.token_hash == _hash(token), CalendarToken.revoked_at.is_(None))
    )
    if found is None or not found.is_active:
        raise Gone("unknown or revoked calendar link")
    return found


# Kinds of notice that carry the calendar: the whole series for a booking, the one session for
# a change (its new SEQUENCE lets the reader's calendar replace the old event).
SERIES_KINDS = frozenset({"booked", "enrolled", "promoted", "retimed", "cancelled_rest"})
SESSION_KINDS = frozenset({"moved", "cancelled", "makeup", "reminder"})


async def attachment_for(
    s: AsyncSession, dispatch_id: int | None, kind: str, person: Person | None, public_url: str
) -> tuple[str, bytes] | None:
    """(filename, .ics bytes) to attach to a notice, in the recipient's timezone, or None."""
    if dispatch_id is None or person is None or kind not in SERIES_KINDS | SESSION_KINDS:
        return None
    session_id = await s.scalar(select(Dispatch.session_id).where(Dispatch.id == dispatch_id))
    sess = await s.get(ScheduledSession, session_id) if session_id is not None else None
    if sess is None:
        return None
    zone = person_zone(person.timezone, sess.timezone)
    if kind in SERIES_KINDS and sess.series_id is not None:
        series = await s.get(Series, sess.series_id)
        if series is not None:
            return "series.ics", await series_calendar(s, series, zone, public_url)
    rows = await _rows(s, [ScheduledSession.id == sess.id])
    return "session.ics", build_calendar(rows, zone, public_url=public_url, name="Healers' Circle")


def calendar_attachments(
    sessionmaker: async_sessionmaker[AsyncSession], public_url: str
) -> Attachments:
    """The mailer's attachment source: the calendar a notice refers to, in its reader's zone."""

    async def attach(m: OutboxMessage) -> tuple[Attachment, ...]:
        async with sessionmaker() as s:
            person = await s.get(Person, m.person_id) if m.person_id else None
            found = await attachment_for(s, m.dispatch_id, m.kind, person, public_url)
        return (found,) if found else ()

    return attach
