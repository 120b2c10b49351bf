"""The coordinator pages in headless Chromium against the real server: log in, refuse a bad
booking with its reason, preview and book a series, move one session (SEQUENCE+1), see the
outbox."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from sqlalchemy import select

from server.db import migrate
from server.db.engine import Database
from server.db.models import ScheduledSession, Series, SeriesConfirmation
from tests.browser.support import DESKTOP, axe_violations, screenshot
from tests.conftest import make_settings
from tests.foundation.seed import PASSWORD, World, seed

pytestmark = pytest.mark.browser


class Server:
    """create_app on a migrated SQLite file, on its own loop in a thread (Playwright is sync)."""

    def __init__(self, tmp_path: Path, dist: Path, **overrides: Any) -> None:
        self.overrides = overrides  # more settings (tests/conftest.py make_settings)
        self.db_url = f"sqlite:///{tmp_path / 'circle.db'}"
        self.tmp_path = tmp_path
        self.dist = dist
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.runner: web.AppRunner | None = None
        self.url = ""

    def run(self, coro: Any, timeout: float = 60) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _start(self) -> World:
        from server.app import create_app

        db = Database(self.db_url)
        await migrate.upgrade(db)
        await db.dispose()
        world = await seed(self.db_url, members=8)
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        probe.close()
        self.url = f"http://127.0.0.1:{port}"
        settings = make_settings(
            self.db_url,
            self.tmp_path,
            **{
                "public_url": self.url,
                "web_root": self.dist,
                "scheduler_enabled": True,
                **self.overrides,
            },
        )
        self.runner = web.AppRunner(create_app(settings), access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", port).start()
        return world

    def start(self) -> World:
        self.thread.start()
        world: World = self.run(self._start())
        return world

    async def _sessions(self) -> list[tuple[int, datetime, int]]:
        db = Database(self.db_url)
        try:
            async with db.sessionmaker() as s:
                rows = await s.execute(
                    select(
                        ScheduledSession.id, ScheduledSession.starts_at, ScheduledSession.sequence
                    )
                    .join(Series, Series.id == ScheduledSession.series_id)
                    .where(Series.title == "Balint winter")
                    .order_by(ScheduledSession.starts_at)
                )
                return [(i, t, q) for i, t, q in rows]
        finally:
            await db.dispose()

    def sessions(self) -> list[tuple[int, datetime, int]]:
        result: list[tuple[int, datetime, int]] = self.run(self._sessions())
        return result

    async def _confirmed(self, series_id: int) -> list[int]:
        db = Database(self.db_url)
        try:
            async with db.sessionmaker() as s:
                rows = await s.scalars(
                    select(SeriesConfirmation.person_id).where(
                        SeriesConfirmation.series_id == series_id
                    )
                )
                return list(rows)
        finally:
            await db.dispose()

    def confirmed(self, series_id: int) -> list[int]:
        result: list[int] = self.run(self._confirmed(series_id))
        return result

    def stop(self) -> None:
        if self.runner is not None:
            with contextlib.suppress(Exception):
                self.run(self.runner.cleanup())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def server(tmp_path: Path, built_client: Path) -> Iterator[tuple[Server, World]]:
    srv = Server(tmp_path, built_client)
    world = srv.start()
    yield srv, world
    srv.stop()


def set_jalali(page: Any, scope: Any, label: str, iso: str) -> None:
    """Choose ``iso`` (Gregorian) in a Persian date entry: its Solar Hijri day, month, year."""
    y, m, d = page.evaluate(
        """(iso) => {
            const f = new Intl.DateTimeFormat("en-u-ca-persian-nu-latn",
              { timeZone: "UTC", year: "numeric", month: "numeric", day: "numeric" });
            const p = f.formatToParts(Date.parse(iso + "T00:00:00Z"));
            return ["year", "month", "day"].map((t) => Number(p.find((x) => x.type === t).value));
        }""",
        iso,
    )
    group = scope.get_by_role("group", name=label)
    group.get_by_label(f"{label}: سال").select_option(str(y))
    group.get_by_label(f"{label}: ماه").select_option(str(m))
    group.get_by_label(f"{label}: روز").select_option(str(d))


def next_monday(weeks: int = 2) -> date:
    today = datetime.now(UTC).date()
    return today + timedelta(days=7 * weeks - today.weekday())


def test_coordinator_books_a_series_through_the_pages(
    browser: Any, server: tuple[Server, World]
) -> None:
    srv, _ = server
    context = browser.new_context(viewport=DESKTOP, locale="en-GB")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{srv.url}/app/coordinator.html")

    page.get_by_label("Email").fill("coord@test.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Balint A").click()
    page.get_by_role("heading", name="Book a series").wait_for()

    # One-click sign-in links are the admins' (a coordinator is offered none).
    page.get_by_role("row", name="Member 0").wait_for()
    assert page.get_by_role("button", name="Invite link").count() == 0

    form = page.locator("form[aria-labelledby=book]")
    form.get_by_label("Title").fill("Balint winter")
    form.get_by_label("Number of sessions").fill("7")
    form.get_by_label("First date").fill(next_monday().isoformat())
    form.get_by_label("Timezone of the group").fill("Europe/Amsterdam")
    # No weekday chosen: refused with the reason, nothing booked.
    form.get_by_role("button", name="Preview").click()
    page.get_by_role("alert").filter(has_text="choose at least one weekday").wait_for()
    assert form.get_by_role("button", name="Book series").is_disabled()

    form.get_by_label("Monday").check()
    form.get_by_label("Thursday").check()
    form.get_by_role("button", name="Preview").click()
    page.get_by_role("heading", name="Preview: ready to book").wait_for()
    preview = page.get_by_test_id("preview")
    assert preview.locator("tbody tr").count() == 7
    assert all(
        t.endswith("19:00") for t in preview.locator("tbody tr td:nth-child(2)").all_inner_texts()
    )
    screenshot(page, "coordinator-preview")
    form.get_by_role("button", name="Book series").click()

    card = page.locator("section.series").filter(has_text="Balint winter")
    card.wait_for()
    assert card.locator("tbody[data-session]").count() == 7
    # The group's time (Amsterdam) beside the coordinator's own (from their profile).
    first_row = card.locator("tbody[data-session]").first
    assert "19:00 (Europe/Amsterdam)" in first_row.inner_text()
    booked = srv.sessions()
    assert len(booked) == 7
    ams = ZoneInfo("Europe/Amsterdam")
    assert {t.astimezone(ams).strftime("%H:%M") for _, t, _ in booked} == {"19:00"}

    # Move the first session to the Tuesday at 18:00.
    target = booked[0][0]
    row = card.locator(f"tbody[data-session='{target}']")
    new_day = (booked[0][1].astimezone(ams) + timedelta(days=1)).date().isoformat()
    row.get_by_label("New date for session 1").fill(new_day)
    row.get_by_label("New time for session 1").fill("18:00")
    row.get_by_role("button", name="Move").click()
    # A confirmation names who will be told (everyone active in the group).
    dialog = page.get_by_test_id("confirm-dialog")
    dialog.get_by_role("heading", name="Move session 1?").wait_for()
    assert dialog.locator("li").count() == 10  # eight members, the leader, the co-leader
    dialog.get_by_test_id("confirm-yes").click()
    page.get_by_test_id("flash").filter(has_text="Session 1 moved").wait_for()
    # The group's time is shown through Intl; its <time datetime> carries the wall time.
    card.locator(f"tbody[data-session='{target}'] time[datetime='{new_day}T18:00']").wait_for()
    moved = {i: (t, q) for i, t, q in srv.sessions()}
    assert moved[target][1] == 1
    assert moved[target][0].astimezone(ams).strftime("%Y-%m-%d %H:%M") == f"{new_day} 18:00"
    # The confirmations list is fetched after each render: wait for it, then count.
    confirmations = card.get_by_test_id("confirmations").locator("li")
    confirmations.nth(7).wait_for()
    assert confirmations.count() == 8

    # A make-up session a week after the last one (the eighth: a Balint series has 6-8, and a
    # make-up keeps the booking's rules).
    last_day = (booked[-1][1].astimezone(ams) + timedelta(days=7)).date().isoformat()
    card.get_by_label("Make-up date").fill(last_day)
    card.get_by_label("Make-up time").fill("19:00")
    card.get_by_role("button", name="Add make-up session").click()
    page.get_by_test_id("flash").filter(has_text="Make-up session added").wait_for()
    card = page.locator("section.series").filter(has_text="Balint winter")
    card.locator("tbody[data-session]").nth(7).wait_for()
    assert "make-up" in card.locator("tbody[data-session]").nth(7).inner_text()
    assert len(srv.sessions()) == 8
    assert axe_violations(page, "coordinator-group") == []
    screenshot(page, "coordinator-booked")

    page.get_by_role("link", name="Outbox").click()
    page.get_by_role("heading", name="Outbox").wait_for()
    page.locator("tbody tr").first.wait_for()
    assert errors == []
    context.close()


def test_coordinator_pages_in_persian_right_to_left(
    browser: Any, server: tuple[Server, World]
) -> None:
    """A browser in Persian (the profile names no language): the pages are right-to-left, the
    headings are Persian, weekdays and dates come from Intl with Persian digits, and no English
    is left in the main headings, labels and buttons."""
    srv, _ = server
    context = browser.new_context(viewport=DESKTOP, locale="fa-IR", timezone_id="Asia/Tehran")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{srv.url}/app/coordinator.html")

    page.get_by_label("ایمیل").fill("coord@test.example")
    page.get_by_label("گذرواژه").fill(PASSWORD)
    page.get_by_role("button", name="ورود").click()
    page.get_by_role("heading", name="گروه‌ها").wait_for()
    page.get_by_test_id("mail-banner").filter(has_text="ارسال نشد").wait_for()
    html = page.locator("html")
    assert html.get_attribute("dir") == "rtl"
    assert html.get_attribute("lang") == "fa"
    page.get_by_role("link", name="Balint A").click()
    page.get_by_role("heading", name="رزرو یک دوره").wait_for()

    form = page.locator("form[aria-labelledby=book]")
    form.get_by_label("عنوان").fill("Balint winter")
    # Date entry in the calendar the page shows: Solar Hijri day, month and year.
    set_jalali(page, form, "تاریخ نخستین جلسه", next_monday().isoformat())
    form.get_by_label("منطقهٔ زمانی گروه").fill("Europe/Amsterdam")
    # Refused with the reason in Persian (the server words it in English; the code is known).
    form.get_by_role("button", name="پیش‌نمایش").click()
    page.get_by_role("alert").filter(has_text="برخی از خانه‌ها درست پر نشده‌اند").wait_for()
    form.get_by_label("دوشنبه").check()
    form.get_by_role("button", name="پیش‌نمایش").click()
    page.get_by_role("heading", name="پیش‌نمایش: آمادهٔ رزرو").wait_for()
    form.get_by_role("button", name="رزرو دوره").click()
    card = page.locator("section.series").filter(has_text="Balint winter")
    card.locator("tbody[data-session]").first.wait_for()
    first = card.locator("tbody[data-session]").first.inner_text()
    assert "۱۹:۰۰" in first, first  # Persian digits, the group's wall time
    assert "برنامه‌ریزی‌شده" in first, first

    # Nothing English left in the main headings, table headers, labels and buttons.
    # The option lists (people, language names) are data, so they are left out.
    texts: list[str] = page.evaluate(
        """() => [...document.querySelectorAll("h1, h2, h3, th, legend, label, button, nav a")]
            .map((el) => { const c = el.cloneNode(true);
                           c.querySelectorAll("select, option").forEach((x) => x.remove());
                           return c.textContent.trim(); })"""
    )
    # Names that stay as they are: the seed's and this test's, file types, IANA zone names.
    kept = ["Balint winter", "Balint A", "(.ics)", "CSV", "IANA", "Asia/Tehran", "Europe/Amsterdam"]

    def rest(t: str) -> str:
        for k in kept:
            t = t.replace(k, "")
        return "" if t == "S" else t  # the seed's series is called "S"

    latin = [t for t in texts if any("a" <= c.lower() <= "z" for c in rest(t))]
    assert latin == [], latin
    # Mirrored: the page's content starts at the right.
    box = page.get_by_role("heading", name="رزرو یک دوره").bounding_box()
    form_box = form.bounding_box()
    assert box is not None and form_box is not None
    assert box["x"] + box["width"] > form_box["x"] + form_box["width"] - 40
    assert axe_violations(page, "coordinator-fa") == []
    screenshot(page, "coordinator-fa")
    assert errors == []
    context.close()


def test_member_confirms_the_series_with_one_button(
    browser: Any, server: tuple[Server, World]
) -> None:
    """A member's session list names the series they are in with "I will take part"; one click
    records the confirmation (the coordinator sees it), and a second visit shows it as already
    confirmed straight away."""
    srv, world = server
    context = browser.new_context(viewport=DESKTOP, locale="en-GB")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{srv.url}/app/?list=1")
    page.get_by_label("Email address").fill("m0@test.example")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    panel = page.get_by_test_id("confirm-series")
    panel.get_by_role("heading", name="Will you take part?").wait_for()
    row = panel.locator(f"li[data-series='{world.series_id}']")
    assert "Balint A" in row.inner_text()
    row.get_by_text("Let the coordinator know").wait_for()
    assert srv.confirmed(world.series_id) == []
    row.get_by_role("button", name="Confirm that you will take part in Balint A").click()
    row.get_by_text("You have confirmed that you will take part").wait_for()
    assert row.get_by_role("button").count() == 0 or not row.get_by_role("button").is_visible()
    assert srv.confirmed(world.series_id) == [world.member_ids[0]]
    assert axe_violations(page, "member-confirm") == []

    # Back later: the page knows at once (series_confirmed in /api/me/sessions), no button.
    page.reload()
    row = page.get_by_test_id("confirm-series").locator(f"li[data-series='{world.series_id}']")
    row.get_by_text("You had already confirmed").wait_for()
    assert row.get_by_role("button").count() == 0 or not row.get_by_role("button").is_visible()
    assert srv.confirmed(world.series_id) == [world.member_ids[0]]
    assert errors == []
    context.close()
