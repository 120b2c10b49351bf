"""Notifications: SMTP through aiosmtplib to a local aiosmtpd, retries with backoff, failures
surfaced, interrupted sends never repeated; the embedded outbox default."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta

import pytest
from icalendar import Calendar
from sqlalchemy import select, update

from server.db.engine import Database
from server.notify.mailer import MAX_ATTEMPTS, Mailer, SmtpNotifier, backoff
from server.notify.models import OutboxMessage, OutboxStatus
from server.scheduling.booking import book
from server.scheduling.dispatcher import Dispatcher
from server.scheduling.ics import calendar_attachments
from server.scheduling.plan import SchedulingConfig
from server.scheduling.series import parse_spec
from tests.smtp import Inbox, free_port, smtp_server

from .conftest import Clock, World


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    with smtp_server() as server:
        yield server


async def _book_and_sweep(
    db: Database, w: World, clock: Clock, cfg: SchedulingConfig, notifier: SmtpNotifier
) -> None:
    spec = parse_spec(
        {
            "title": "Balint",
            "sessions": 6,
            "weekdays": ["MO"],
            "local_time": "19:00",
            "start_date": "2026-10-19",
            "duration_minutes": 60,
            "timezone": "Europe/Amsterdam",
        }
    )
    async with db.sessionmaker() as s, s.begin():
        await book(s, w.group_id, spec, actor_id=None, cfg=cfg, now=clock())
    await Dispatcher(db.sessionmaker, cfg, notifier, worker="t").sweep_once(clock())


async def _rows(db: Database) -> list[OutboxMessage]:
    async with db.sessionmaker() as s:
        return list(await s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


async def test_smtp_delivery_in_each_language(
    db: Database, world: World, clock: Clock, cfg: SchedulingConfig, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    notifier = SmtpNotifier(host="127.0.0.1", port=port, sender="circle@localhost", starttls=False)
    await _book_and_sweep(db, world, clock, cfg, notifier)
    queued = await _rows(db)
    assert len(queued) == 9 and {m.status for m in queued} == {OutboxStatus.QUEUED}
    attach = calendar_attachments(db.sessionmaker, cfg.public_url)
    mailer = Mailer(db.sessionmaker, notifier, worker="t", attachments=attach)
    result = await mailer.deliver_once(clock())
    assert result.sent == 9
    assert {m.status for m in await _rows(db)} == {OutboxStatus.SENT}
    assert len(inbox.messages) == 9
    by_lang = {m["Content-Language"]: m for m in inbox.messages}
    assert set(by_lang) == {"en", "fa", "nl"}
    fa_msg = by_lang["fa"]
    body = next(p for p in fa_msg.walk() if p.get_content_type() == "text/plain")
    payload = body.get_payload(decode=True)
    assert isinstance(payload, bytes)
    fa = payload.decode()
    assert "گرامی" in fa and "Asia/Tehran" in fa
    # The booking notice carries the series as an .ics (UTC times, the reader's zone named).
    ics = next(p for p in fa_msg.walk() if p.get_content_type() == "text/calendar")
    assert ics.get_filename() == "series.ics"
    attached = ics.get_payload(decode=True)
    assert isinstance(attached, bytes)
    cal = Calendar.from_ical(attached)
    events = cal.walk("VEVENT")
    assert len(events) == 6
    assert {e.decoded("dtstart").utcoffset().total_seconds() for e in events} == {0}
    assert str(cal["x-wr-timezone"]) == "Asia/Tehran"
    assert (await Mailer(db.sessionmaker, notifier, worker="t").deliver_once(clock())).sent == 0


async def test_failed_sends_retry_with_backoff_then_fail_visibly(
    db: Database, world: World, clock: Clock, cfg: SchedulingConfig
) -> None:
    dead = SmtpNotifier(
        host="127.0.0.1", port=free_port(), sender="c@localhost", starttls=False, timeout_s=2
    )
    await _book_and_sweep(db, world, clock, cfg, dead)
    mailer = Mailer(db.sessionmaker, dead, worker="t")
    for attempt in range(1, MAX_ATTEMPTS + 1):
        result = await mailer.deliver_once(clock())
        rows = await _rows(db)
        assert {m.attempts for m in rows} == {attempt}
        if attempt < MAX_ATTEMPTS:
            assert result.retried == 9
            assert {m.status for m in rows} == {OutboxStatus.RETRY}
            assert {m.next_attempt_at - clock() for m in rows} == {backoff(attempt)}
            assert (await mailer.deliver_once(clock())).retried == 0  # not before its time
            clock.advance(seconds=backoff(attempt).total_seconds())
        else:
            assert result.failed == 9
            assert {m.status for m in rows} == {OutboxStatus.FAILED}
            assert all("Error" in (m.last_error or "") for m in rows)
    assert backoff(1) == timedelta(seconds=30) and backoff(3) == timedelta(seconds=120)


async def test_interrupted_send_is_surfaced_not_repeated(
    db: Database, world: World, clock: Clock, cfg: SchedulingConfig, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    notifier = SmtpNotifier(host="127.0.0.1", port=port, sender="c@localhost", starttls=False)
    await _book_and_sweep(db, world, clock, cfg, notifier)
    async with db.sessionmaker() as s, s.begin():  # a process claimed them and died
        await s.execute(
            update(OutboxMessage).values(
                status=OutboxStatus.SENDING, lease_until=clock() + timedelta(minutes=2)
            )
        )
    clock.advance(minutes=3)
    await Mailer(db.sessionmaker, notifier, worker="t").deliver_once(clock())
    rows = await _rows(db)
    assert {m.status for m in rows} == {OutboxStatus.FAILED}
    assert "interrupted" in (rows[0].last_error or "")
    assert inbox.messages == []


async def test_two_mailers_send_each_message_once(
    db: Database, world: World, clock: Clock, cfg: SchedulingConfig, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    notifier = SmtpNotifier(host="127.0.0.1", port=port, sender="c@localhost", starttls=False)
    await _book_and_sweep(db, world, clock, cfg, notifier)
    other_db = Database(db.url)  # a second engine: its own connections, as a second process
    try:
        a = Mailer(db.sessionmaker, notifier, worker="a", batch=2)
        b = Mailer(other_db.sessionmaker, notifier, worker="b", batch=2)
        sent = 0
        for _ in range(10):
            ra, rb = await asyncio.gather(a.deliver_once(clock()), b.deliver_once(clock()))
            sent += ra.sent + rb.sent
    finally:
        await other_db.dispose()
    assert sent == 9
    assert len(inbox.messages) == 9
    assert len({m["To"] for m in inbox.messages}) == 9
    assert {m.status for m in await _rows(db)} == {OutboxStatus.SENT}
