"""The attendance and scores pages in headless Chromium against the real server: a leader's and
a coordinator's dashboard (grid with colour and words, chart, group score and level with its
breakdown, each member's level, CSV export) and a member's own view, on a desktop and a phone,
in English and in Persian (right to left). Screenshots are kept in artifacts/browser/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from server.attendance import records
from server.attendance.derive import Rules
from server.db.engine import Database
from server.domain import SessionStatus
from tests.attendance.conftest import D, J, L, R, add_session, backdate_memberships, days_ago
from tests.browser.support import DESKTOP, PHONE, axe_violations, screenshot
from tests.browser.test_coordinator import Server
from tests.foundation.seed import World, session_cookie

pytestmark = pytest.mark.browser


async def _history(url: str, w: World) -> None:
    m = w.member_ids
    await backdate_memberships(url, w.group_id, days_ago(40))
    everyone = [w.leader_id, *m]
    for k in range(4):
        events: dict[int, list[tuple[Any, float]]] = {p: [(J, -2), (L, 60)] for p in everyone}
        if k == 0:
            events[m[1]] = [(J, 14), (L, 60)]  # late
            del events[m[2]]  # absent
        if k == 1:
            events[m[3]] = [(J, 0), (D, 10), (R, 10.5), (L, 30)]  # left early, a reconnect
        if k == 2:
            del events[m[4]]
        await add_session(
            url,
            w,
            k + 1,
            days_ago(28 - 7 * k),
            SessionStatus.ENDED,
            events,
            excused=(m[4],) if k == 2 else (),
        )
    db = Database(url)
    try:
        await records.rebuild(db, Rules(), series_id=w.series_id)
    finally:
        await db.dispose()


@pytest.fixture
def server(tmp_path: Path, built_client: Path) -> Iterator[tuple[Server, World]]:
    srv = Server(tmp_path, built_client)
    world = srv.start()
    srv.run(_history(srv.db_url, world))
    yield srv, world
    srv.stop()


def _open(browser: Any, srv: Server, person: int, viewport: dict[str, int], locale: str) -> Any:
    context = browser.new_context(
        viewport=viewport, locale="fa-IR" if locale == "fa" else "en-GB", timezone_id="UTC"
    )
    token = srv.run(session_cookie(srv.db_url, person))
    context.add_cookies([{"name": "circle_session", "value": token, "url": srv.url}])
    return context


@pytest.mark.parametrize("locale", ["en", "fa"])
@pytest.mark.parametrize(("device", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_leader_and_coordinator_dashboards(
    browser: Any, server: tuple[Server, World], locale: str, device: str, viewport: dict[str, int]
) -> None:
    srv, w = server
    m = w.member_ids
    for who, person in (("leader", w.leader_id), ("coordinator", w.coordinator_id)):
        context = _open(browser, srv, person, viewport, locale)
        page = context.new_page()
        try:
            page.goto(f"{srv.url}/app/attendance.html?series={w.series_id}&lang={locale}")
            grid = page.get_by_test_id("attendance-grid")
            grid.wait_for()
            assert page.evaluate("document.documentElement.dir") == (
                "rtl" if locale == "fa" else "ltr"
            )
            rows = grid.locator("tbody tr")
            assert rows.count() == len(m) + 2  # members, leader, co-leader
            late = grid.locator(f'tr[data-person="{m[1]}"] td[data-status="late"]')
            assert late.count() == 1
            # colour and words: the status is written in the cell, not only coloured
            word = {"en": "late", "fa": "با تأخیر"}[locale]
            assert word in late.inner_text()
            absent = grid.locator(f'tr[data-person="{m[2]}"] td[data-status]').first
            assert absent.get_attribute("data-status") == "absent"
            excused = grid.locator(f'tr[data-person="{m[4]}"] td[data-status="excused"]')
            assert excused.count() == 1
            assert page.get_by_test_id("attendance-chart").locator("rect.bar").count() == 4
            group = page.get_by_test_id("group-score")
            assert group.locator("[data-level]").get_attribute("data-level") in {
                "silver",
                "gold",
                "platinum",
                "diamond",
            }
            assert group.locator("tr[data-term]").count() == 7
            missing = {"en": "missing", "fa": "ناموجود"}[locale]
            assert missing in group.locator('tr[data-term="A"]').inner_text()
            levels = page.get_by_test_id("member-levels").locator("tbody tr")
            assert levels.count() == len(m) + 2
            csv = page.request.get(f"{srv.url}/api/series/{w.series_id}/attendance.csv")
            assert csv.ok and csv.text().startswith("person_id,name,role,session 1")
            assert page.get_by_test_id("csv").get_attribute("href") == (
                f"/api/series/{w.series_id}/attendance.csv"
            )
            if device == "desktop" and locale == "en" and who == "leader":
                assert axe_violations(page, "attendance-leader") == []
            screenshot(page, f"attendance-{who}-{device}-{locale}")
        finally:
            context.close()


@pytest.mark.parametrize("locale", ["en", "fa"])
@pytest.mark.parametrize(("device", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_a_member_sees_only_their_own(
    browser: Any, server: tuple[Server, World], locale: str, device: str, viewport: dict[str, int]
) -> None:
    srv, w = server
    me = w.member_ids[3]
    context = _open(browser, srv, me, viewport, locale)
    page = context.new_page()
    try:
        page.goto(f"{srv.url}/app/attendance.html?series={w.series_id}&lang={locale}")
        grid = page.get_by_test_id("attendance-grid")
        grid.wait_for()
        rows = grid.locator("tbody tr")
        assert rows.count() == 1 and rows.first.get_attribute("data-person") == str(me)
        assert grid.locator('td[data-status="left_early"]').count() == 1
        assert page.get_by_test_id("my-score").locator("tr[data-term]").count() == 9
        assert page.get_by_test_id("member-levels").count() == 0
        assert page.get_by_test_id("csv").count() == 0
        for other in w.member_ids:
            if other != me:
                assert grid.locator(f'tr[data-person="{other}"]').count() == 0
        screenshot(page, f"attendance-member-{device}-{locale}")
    finally:
        context.close()


def test_i_cant_come_from_the_session_list(browser: Any, server: tuple[Server, World]) -> None:
    srv, w = server
    me = w.member_ids[0]
    context = _open(browser, srv, me, DESKTOP, "en")
    page = context.new_page()
    try:
        page.on("dialog", lambda d: d.accept("night shift"))
        page.goto(f"{srv.url}/app/?list=1")
        button = page.get_by_test_id(f"excuse-{w.session_id}")
        button.click()
        page.get_by_text("You said you can't come.").wait_for()
        assert button.inner_text() == "I can come after all"
        leader = srv.url + f"/api/sessions/{w.session_id}/excuses"
        lctx = _open(browser, srv, w.leader_id, DESKTOP, "en")
        try:
            seen = lctx.request.get(leader).json()
            assert [(x["person_id"], x["reason"]) for x in seen] == [(me, "night shift")]
            # and on the leader's page, before the session
            lpage = lctx.new_page()
            lpage.goto(f"{srv.url}/app/attendance.html?series={w.series_id}&lang=en")
            ahead = lpage.locator(f'tr[data-person="{me}"] td[data-ahead]')
            ahead.wait_for()
            assert "night shift" in ahead.inner_text()
        finally:
            lctx.close()
        screenshot(page, "attendance-cant-come")
        # a reminder's link opens a later session's wait screen: the same one-click button
        later = srv.run(add_session(srv.db_url, w, 9, days_ago(-3), SessionStatus.SCHEDULED, {}))
        page.goto(f"{srv.url}/app/?session={later}")
        again = page.get_by_test_id(f"excuse-{later}")
        again.wait_for()
        assert again.inner_text() == "I can't come"
        again.click()
        page.get_by_text("You said you can't come.").wait_for()
        page.reload()  # the wait screen asks the server: still said
        page.get_by_role("button", name="I can come after all").wait_for()
    finally:
        context.close()
