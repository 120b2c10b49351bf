"""Two server processes on one PostgreSQL database open and mail each form once."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from server.db.engine import Database
from server.notify.models import OutboxMessage
from server.questionnaires.form_models import FormAssignment
from server.scheduling.booking import book
from server.scheduling.models import Dispatch, DispatchStatus
from server.scheduling.plan import SchedulingConfig
from server.scheduling.series import parse_spec
from tests.conftest import fresh_db_url
from tests.scheduling.conftest import make_world
from tests.scheduling.two_sweepers import run_two

pytestmark = pytest.mark.postgres
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def pg_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return fresh_db_url("postgresql", request, tmp_path)


@pytest.mark.slow
async def test_two_processes_open_and_mail_each_form_once(pg_url: str) -> None:
    db = Database(pg_url)
    spec = parse_spec(
        {
            "title": "Balint",
            "sessions": 6,
            "weekdays": ["MO", "TH"],
            "local_time": "19:00",
            "start_date": "2026-10-19",
            "duration_minutes": 60,
            "timezone": "Europe/Amsterdam",
        }
    )
    booked_at = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)
    members: set[int] = set()
    last_end = booked_at
    for i in range(8):
        w = await make_world(db, tag=f"g{i}")
        members |= set(w.member_ids)
        async with db.sessionmaker() as s, s.begin():
            _, sessions, _ = await book(
                s, w.group_id, spec, actor_id=None, cfg=SchedulingConfig(), now=booked_at
            )
            last_end = sessions[-1].starts_at + timedelta(hours=1)
    # Pre forms at booking, then post forms and their 3-day reminders, each by two processes.
    times = (booked_at, last_end + timedelta(minutes=1), last_end + timedelta(days=3, minutes=1))
    for n, now in enumerate(times):
        reports = await run_two(
            "tests.questionnaires.forms_sweeper_proc", pg_url, now, 7_402_100 + n
        )
        assert sum(r["done"] for r in reports) > 0
    async with db.sessionmaker() as s:
        forms = Counter(
            (p, slot)
            for p, slot in await s.execute(select(FormAssignment.person_id, FormAssignment.slot))
        )
        mails = Counter(
            (p, k)
            for p, k in await s.execute(select(OutboxMessage.person_id, OutboxMessage.kind))
            if k.startswith("form_")
        )
        workers = dict(
            (
                await s.execute(
                    select(Dispatch.done_by, func.count())
                    .where(Dispatch.status == DispatchStatus.DONE)
                    .group_by(Dispatch.done_by)
                )
            ).all()
        )
    await db.dispose()
    assert set(forms) == {(p, slot) for p in members for slot in ("pre", "post")}
    assert set(forms.values()) == {1}
    assert set(mails) == {(p, k) for p in members for k in ("form_open", "form_reminder")}
    assert mails == Counter({(p, "form_open"): 2 for p in members}) + Counter(
        {(p, "form_reminder"): 1 for p in members}
    )
    assert set(workers) == {"proc-1", "proc-2"}, workers  # both really worked
