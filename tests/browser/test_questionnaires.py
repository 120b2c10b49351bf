"""The questionnaire pages in headless Chromium on a phone-sized page (390x844), against the
real server: open the mailed one-click link, answer half the form, reload and resume, meet the
safety rule (help at once; the leader sees the alert on their page), submit; the Persian page
is right-to-left; axe finds no serious violations."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from server.db.engine import Database
from server.questionnaires.form_models import SeriesFormPlan
from tests.browser.support import axe_violations, screenshot
from tests.browser.test_coordinator import Server
from tests.foundation.seed import PASSWORD, World
from tests.questionnaires.forms_seed import mailed_links, open_pre_forms

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
PLAN = {
    "pre": {"instruments": ["phq9", "who5"], "close_days": None},
    "post": {"instruments": ["phq9"], "reminder_days": [3, 7], "close_days": 14},
    "followup": {"instruments": ["phq9"], "close_days": 14},
    "checkin": {"enabled": False, "instruments": ["checkin"], "close_days": 2},
}


async def _plan_and_open(url: str, w: World) -> None:
    db = Database(url)
    try:
        async with db.sessionmaker() as s, s.begin():
            s.add(SeriesFormPlan(series_id=w.series_id, plan=PLAN))
    finally:
        await db.dispose()
    await open_pre_forms(url, w.session_id, w.member_ids[:2])


@pytest.fixture
def forms_server(tmp_path: Path, built_client: Path) -> Iterator[tuple[Server, World]]:
    srv = Server(tmp_path, built_client, scheduler_enabled=False)
    world = srv.start()
    srv.run(_plan_and_open(srv.db_url, world))
    yield srv, world
    srv.stop()


def _choose(page: Any, item: str, label: str) -> None:
    box = page.locator(f'fieldset[data-item="{item}"]')
    box.get_by_label(label, exact=True).check()
    status = box.locator(".q-item-status")
    status.filter(has_text="Saved").wait_for()


def test_answer_half_reload_resume_safety_and_submit_on_a_phone(
    browser: Any, forms_server: tuple[Server, World]
) -> None:
    srv, w = forms_server
    (token,) = srv.run(mailed_links(srv.db_url, w.member_ids[0]))
    context = browser.new_context(viewport=PHONE, locale="en-GB", is_mobile=True, has_touch=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    page.goto(f"{srv.url}/app/questionnaires.html?lang=en#form={token}")
    page.get_by_test_id("form").wait_for()
    assert "#f=" in page.url and token not in page.url  # the token left the address bar
    assert page.get_by_role("heading", name="Patient Health Questionnaire (PHQ-9)").is_visible()
    for n in range(1, 6):
        _choose(page, f"phq9.item_{n}", "Several days")
    assert page.locator("#form-progress").inner_text() == "5 of 14 answered"
    assert axe_violations(page, "questionnaire-form-phone") == []

    # Submitting early names what is missing and moves focus to the first open question.
    page.get_by_test_id("form-submit").click()
    assert "9 still open" in page.locator("#submit-msg").inner_text()

    page.reload()
    page.get_by_test_id("form").wait_for()
    assert page.locator("#form-progress").inner_text() == "5 of 14 answered"
    first = page.locator('fieldset[data-item="phq9.item_1"]')
    assert first.get_by_label("Several days", exact=True).is_checked()

    # The safety item: help at once, from the organisation's setting.
    _choose(page, "phq9.item_9", "Several days")
    help_box = page.locator("#form-help")
    help_box.wait_for()
    assert "emergency" in help_box.inner_text()
    assert "leaders have been told" in help_box.inner_text()

    for n in (6, 7, 8):
        _choose(page, f"phq9.item_{n}", "Not at all")
    for n in range(1, 6):
        box = page.locator(f'fieldset[data-item="who5.item_{n}"]')
        box.locator("input[type=radio]").nth(3).check()
        box.locator(".q-item-status").filter(has_text="Saved").wait_for()
    assert page.locator("#form-progress").inner_text() == "14 of 14 answered"
    page.get_by_test_id("form-submit").click()
    page.get_by_test_id("form-done").wait_for()
    screenshot(page, "questionnaire-submitted-phone")

    # Signed in, the member sees their own scores over time with the instrument's bands.
    resp = context.request.post(
        f"{srv.url}/api/auth/login", data={"email": "m0@test.example", "password": PASSWORD}
    )
    assert resp.ok
    page.goto(f"{srv.url}/app/questionnaires.html?lang=en")
    chart = page.get_by_test_id("scores-phq9")
    chart.wait_for()
    assert chart.locator("svg[role=img]").count() == 1
    assert page.get_by_test_id("form-row").first.get_attribute("data-state") == "submitted"
    scores = page.locator("section.q-scores").first.inner_text()
    assert "mild" in scores  # 5 x 1 + 1 on item 9 = 6: PHQ-9 "mild" (5-9)
    assert axe_violations(page, "questionnaire-mine-phone") == []
    assert errors == []
    context.close()

    # The leader's page shows the alert (the member's name, never the answer).
    leader = browser.new_context(viewport=PHONE, locale="en-GB")
    lp = leader.new_page()
    resp = leader.request.post(
        f"{srv.url}/api/auth/login", data={"email": "leader@test.example", "password": PASSWORD}
    )
    assert resp.ok
    lp.goto(f"{srv.url}/app/questionnaires.html#alerts={w.group_id}")
    row = lp.get_by_test_id("alert-row")
    row.wait_for()
    assert "Member 0" in row.inner_text() and "phq9" in row.inner_text()
    assert axe_violations(lp, "questionnaire-alerts") == []
    row.get_by_role("button", name="Mark as handled").click()
    row.get_by_text("Handled").wait_for()
    leader.close()


def test_the_persian_form_is_right_to_left(
    browser: Any, forms_server: tuple[Server, World]
) -> None:
    srv, w = forms_server
    (token,) = srv.run(mailed_links(srv.db_url, w.member_ids[1]))
    context = browser.new_context(viewport=PHONE, locale="fa-IR", is_mobile=True, has_touch=True)
    page = context.new_page()
    page.goto(f"{srv.url}/app/questionnaires.html?lang=fa#form={token}")
    page.get_by_test_id("form").wait_for()
    assert page.evaluate("document.documentElement.dir") == "rtl"
    assert page.evaluate("getComputedStyle(document.querySelector('main')).direction") == "rtl"
    assert page.get_by_role("heading", level=1).inner_text() == "پرسشنامه"
    # PHQ-9 carries no authorised Persian text: its items stay English, marked as such.
    item = page.locator('fieldset[data-item="phq9.item_1"]')
    assert item.get_attribute("lang") == "en" and item.get_attribute("dir") == "ltr"
    assert page.locator("#form-progress").inner_text() == "۰ از ۱۴ پاسخ داده شده"
    screenshot(page, "questionnaire-fa-phone")
    assert axe_violations(page, "questionnaire-form-fa") == []
    context.close()


async def _submitted_pre_and_post(url: str, w: World) -> None:
    """Three members with pre and post PHQ-9 (and research consent), through the store."""
    from server.questionnaires.forms import record_submission
    from server.questionnaires.models import Timepoint
    from server.questionnaires.registry import load_registry
    from server.questionnaires.store import give_consent

    phq9 = load_registry().get("phq9")
    db = Database(url)
    try:
        async with db.sessionmaker() as s, s.begin():
            for n, pid in enumerate(w.member_ids[2:5]):
                await give_consent(s, person_id=pid, organisation_id=w.org_id)
                for tp, value in ((Timepoint.PRE, 2), (Timepoint.POST, n % 2)):
                    answers: dict[str, int | str] = {f"item_{i}": value for i in range(1, 10)}
                    answers["item_9"] = 0
                    await record_submission(
                        s,
                        phq9,
                        person_id=pid,
                        organisation_id=w.org_id,
                        series_id=w.series_id,
                        timepoint=tp,
                        answers=answers,
                    )
    finally:
        await db.dispose()


def test_the_coordinator_outcomes_page_draws_the_report(
    browser: Any, forms_server: tuple[Server, World]
) -> None:
    srv, w = forms_server
    srv.run(_submitted_pre_and_post(srv.db_url, w))
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    resp = context.request.post(
        f"{srv.url}/api/auth/login", data={"email": "coord@test.example", "password": PASSWORD}
    )
    assert resp.ok
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{srv.url}/app/outcomes.html?series={w.series_id}")
    table = page.get_by_test_id("outcomes-table")
    table.wait_for()
    assert "phq9" in table.inner_text()
    for testid in ("paired-phq9", "dist-phq9", "completion"):
        assert page.get_by_test_id(testid).locator("svg").count() >= 1, testid
    # Three pseudonymous members with pre and post: three lines.
    assert "(3 pairs)" in page.get_by_test_id("paired-phq9").inner_text()
    screenshot(page, "questionnaire-outcomes")
    assert axe_violations(page, "questionnaire-outcomes") == []
    assert errors == []
    context.close()


def test_one_click_from_the_session_list_to_an_open_questionnaire(
    browser: Any, forms_server: tuple[Server, World]
) -> None:
    srv, _ = forms_server
    context = browser.new_context(viewport=PHONE, locale="en-GB", is_mobile=True, has_touch=True)
    resp = context.request.post(
        f"{srv.url}/api/auth/login", data={"email": "m1@test.example", "password": PASSWORD}
    )
    assert resp.ok
    page = context.new_page()
    page.goto(f"{srv.url}/app/?list=1")
    link = page.get_by_test_id("questionnaire-links").get_by_role("link")
    link.first.wait_for()
    assert link.first.inner_text() == "Questionnaire to answer: S (0/14)"
    link.first.click()
    page.get_by_test_id("form").wait_for()
    assert page.locator("#form-progress").inner_text() == "0 of 14 answered"
    context.close()
