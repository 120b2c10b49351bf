"""The coordinator pages of issue 16 (items 8-13) in headless Chromium against the real server.

One flow a newcomer completes without docs: create a group, make someone its leader, invite
members from a CSV file (a bad file first: nothing written, each problem named by row and
column), book a series with one organisation holiday skipped, move a session with a note (the
note reaches the notice), cancel one and undo it, withdraw a member and undo it, set reminder
timing, and read the outbox that says nothing was e-mailed. Then the same pages in Persian on
a phone, and the coordinator's one-click link landing on the coordinator pages."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from server.auth.sessions import create_invitation
from server.db.engine import Database
from server.db.models import AuditEntry, Person
from server.pages import sign_in_page
from tests.browser.support import DESKTOP, axe_violations, screenshot
from tests.browser.test_coordinator import Server, next_monday, set_jalali
from tests.conftest import SECRET
from tests.foundation.seed import PASSWORD, World

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
GOOD_CSV = "name,email,language,zone,profession,department\n" + "".join(
    f"Nurse {i},nurse{i}@test.example,{'fa' if i % 2 else 'en'},Europe/Amsterdam,nurse,Ward {i}\n"
    for i in range(8)
)
BAD_CSV = (
    "name,email,language,zone,profession,department\n"
    "Nurse 0,nurse0@test.example,en,Europe/Amsterdam,nurse,Ward 0\n"
    "Nurse 1,not-an-address,de,Europe/Amsterdam,nurse,Ward 1\n"
)


@pytest.fixture
def server(tmp_path: Path, built_client: Path) -> Iterator[tuple[Server, World]]:
    srv = Server(tmp_path, built_client)
    world = srv.start()
    yield srv, world
    srv.stop()


def _login(page: Any, url: str, email: str = "coord@test.example") -> None:
    page.goto(f"{url}/app/coordinator.html")
    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form button[type=submit]").click()


def _flash(page: Any, text: str) -> None:
    try:
        page.get_by_test_id("flash").filter(has_text=text).wait_for(timeout=15_000)
    except Exception:
        screenshot(page, "coord-flow-failed")  # what the page said instead
        raise


def _fits(page: Any) -> None:
    """No sideways scrolling of the page; every button and field at least 48 px high."""
    width = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert width <= 1, width
    targets = (
        "#coordinator button, #coordinator select, "
        "#coordinator input:not([type=checkbox]):not([type=file])"
    )
    small = page.evaluate(
        """(sel) => [...document.querySelectorAll(sel)]
              .filter((el) => el.offsetParent !== null && el.getBoundingClientRect().height < 47.5)
              .map((el) => el.outerHTML.slice(0, 80))""",
        targets,
    )
    assert small == [], small


async def _audit(db_url: str, action: str) -> list[AuditEntry]:
    db = Database(db_url)
    try:
        async with db.sessionmaker() as s:
            return list(await s.scalars(select(AuditEntry).where(AuditEntry.action == action)))
    finally:
        await db.dispose()


async def _people(db_url: str) -> int:
    db = Database(db_url)
    try:
        async with db.sessionmaker() as s:
            return len(list(await s.scalars(select(Person.id))))
    finally:
        await db.dispose()


def test_a_new_coordinator_runs_a_group_from_creation_to_a_moved_session(
    browser: Any, server: tuple[Server, World], tmp_path: Path
) -> None:
    srv, _ = server
    context = browser.new_context(viewport=DESKTOP, locale="en-GB", timezone_id="Europe/Amsterdam")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    _login(page, srv.url)

    # Item 11: the home says plainly that nothing is e-mailed.
    banner = page.get_by_test_id("mail-banner")
    banner.get_by_role("heading", name="Not sent: no mail server configured").wait_for()
    assert axe_violations(page, "coord-flow-home") == []

    # Item 13: the organisation's zone and one holiday (the second Monday of the series).
    start = next_monday()
    holiday = start + timedelta(days=7)
    cal = page.locator("form[aria-labelledby=org-cal]")
    cal.get_by_label("Time zone new series start in").fill("Europe/Amsterdam")
    cal.get_by_label("Holiday date").fill(holiday.isoformat())
    cal.get_by_label("Holiday name").fill("Feast day")
    cal.get_by_role("button", name="Add holiday").click()
    cal.get_by_role("button", name="Save time zone and holidays").click()
    _flash(page, "Time zone and holidays saved.")
    # The page was rebuilt: focus continues from the message, not from the top.
    assert page.evaluate("() => document.activeElement.dataset.testid") == "flash"

    # Item 8: a new group has nobody who leads, and says so.
    new = page.locator("form[aria-labelledby=new-group]")
    new.get_by_label("Name").fill("Balint night shift")
    new.get_by_role("button", name="Create group").click()
    page.get_by_role("heading", name="Balint night shift", level=1).wait_for()
    page.get_by_test_id("no-leader").wait_for()
    page.get_by_test_id("book-no-leader").wait_for()
    # The preview shows the server's warnings (here: nobody leads) without refusing.
    form = page.locator("form[aria-labelledby=book]")
    form.get_by_label("Monday").check()
    form.get_by_label("First date").fill(start.isoformat())
    form.get_by_role("button", name="Preview").click()
    warning = page.get_by_test_id("preview").locator("li[data-code=no_leader]")
    warning.wait_for()
    assert warning.inner_text().startswith("Warning: nobody in this group is leader")
    page.get_by_label("Person").select_option(
        label="\u2068Outsider\u2069 \u2068<out@test.example>\u2069"
    )
    page.locator("select[name=role]").select_option("leader")
    page.get_by_role("button", name="Enrol").click()
    _flash(page, "Outsider is enrolled and was told.")
    assert page.get_by_test_id("no-leader").count() == 0
    assert page.get_by_label("Role of Outsider").input_value() == "leader"

    # Item 13: a CSV with a bad row invites nobody and names row and column.
    imp = page.locator("form[aria-labelledby=import]")
    bad = tmp_path / "bad.csv"
    bad.write_text(BAD_CSV)
    imp.get_by_label("CSV file").set_input_files(str(bad))
    imp.get_by_role("button", name="Check and invite").click()
    problems = page.get_by_test_id("import-problems")
    problems.wait_for()
    cells = problems.locator("tbody tr").all_inner_texts()
    assert any(c.startswith("3\temail") for c in cells), cells
    assert any(c.startswith("3\tlanguage") for c in cells), cells
    people_before = srv.run(_people(srv.db_url))
    good = tmp_path / "good.csv"
    good.write_text(GOOD_CSV)
    imp.get_by_label("CSV file").set_input_files(str(good))
    imp.get_by_role("button", name="Check and invite").click()
    _flash(page, "Invited from the file: 8 (new accounts: 8")
    assert srv.run(_people(srv.db_url)) == people_before + 8
    assert page.get_by_label("Role of Nurse 7").input_value() == "member"

    # Reminder timing for this group.
    rem = page.locator("form[aria-labelledby=reminders]")
    rem.get_by_label("1 day(s)").uncheck()
    rem.get_by_label("2 hour(s)").check()
    rem.get_by_role("button", name="Save reminders").click()
    _flash(page, "Reminders will go out: 2 hour(s), 15 minutes before each session.")

    # Item 12/13: book a series; the zone defaults to the organisation's; the holiday is skipped.
    form = page.locator("form[aria-labelledby=book]")
    assert form.get_by_label("Timezone of the group").input_value() == "Europe/Amsterdam"
    form.get_by_label("Title").fill("Night shift autumn")
    form.get_by_label("Number of sessions").fill("6")
    form.get_by_label("Monday").check()
    form.get_by_label("Thursday").check()
    form.get_by_label("First date").fill(start.isoformat())
    form.get_by_role("button", name="Preview").click()
    page.get_by_role("heading", name="Preview: ready to book").wait_for()
    skipped = page.get_by_test_id("skipped")
    assert "holiday (Feast day)" in skipped.inner_text()
    days = [
        t[:10]
        for t in page.get_by_test_id("preview")
        .locator("tbody time[datetime]")
        .evaluate_all(
            "(els) => els.filter((e, i) => i % 2 === 0).map((e) => e.getAttribute('datetime'))"
        )
    ]
    assert holiday.isoformat() not in days and len(days) == 6
    screenshot(page, "coord-flow-preview")
    form.get_by_role("button", name="Book series").click()
    _flash(page, "Booked: Night shift autumn (sessions: 6). Everyone in the group was told.")

    # Item 9/13: move session 2 with a note; the confirmation names everyone who is told.
    card = page.locator("section.series").filter(has_text="Night shift autumn")
    row = card.locator("tbody[data-session]").nth(1)
    second = row.locator("time").first.get_attribute("datetime")
    assert second is not None
    row.get_by_label("New time for session 2").fill("18:00")
    row.get_by_role("button", name="Move").click()
    dialog = page.get_by_test_id("confirm-dialog")
    dialog.get_by_role("heading", name="Move session 2?").wait_for()
    told = dialog.locator("li").all_inner_texts()
    assert "Outsider" in told and "Nurse 3" in told and len(told) == 9
    dialog.get_by_label("Note for everyone (optional)").fill("The ward meeting room is free then.")
    assert axe_violations(page, "coord-flow-dialog") == []
    dialog.get_by_test_id("confirm-yes").click()
    _flash(page, "Session 2 moved. Everyone in the group was told.")
    card = page.locator("section.series").filter(has_text="Night shift autumn")
    card.locator(f"time[datetime='{second[:10]}T18:00']").wait_for()

    # Cancel session 3, then undo: restored through the server, everyone told again.
    row = card.locator("tbody[data-session]").nth(2)
    row.get_by_role("button", name="Cancel", exact=True).click()
    dialog = page.get_by_test_id("confirm-dialog")
    dialog.get_by_role("heading", name="Cancel session 3?").wait_for()
    dialog.get_by_test_id("confirm-yes").click()
    _flash(page, "Session 3 cancelled.")
    card = page.locator("section.series").filter(has_text="Night shift autumn")
    assert card.locator("tbody[data-session]").nth(2).get_attribute("data-status") == "cancelled"
    page.get_by_test_id("undo").click()
    _flash(page, "Restored sessions: 1. Everyone in the group was told again.")
    card = page.locator("section.series").filter(has_text="Night shift autumn")
    assert card.locator("tbody[data-session]").nth(2).get_attribute("data-status") == "scheduled"
    assert len(srv.run(_audit(srv.db_url, "session.restore"))) == 1

    # Withdraw a member (confirmed, the member is told), then undo.
    page.locator("tr[data-person]").filter(has_text="Nurse 5").get_by_role(
        "button", name="Withdraw"
    ).click()
    dialog = page.get_by_test_id("confirm-dialog")
    dialog.get_by_role("heading", name="Withdraw Nurse 5 from the group?").wait_for()
    assert dialog.locator("li").all_inner_texts() == ["Nurse 5"]
    dialog.get_by_test_id("confirm-no").click()
    assert page.get_by_test_id("confirm-dialog").count() == 0
    page.locator("tr[data-person]").filter(has_text="Nurse 5").get_by_role(
        "button", name="Withdraw"
    ).click()
    page.get_by_test_id("confirm-yes").click()
    _flash(page, "Nurse 5 was withdrawn and told.")
    page.get_by_test_id("undo").click()
    _flash(page, "Nurse 5 is enrolled and was told.")
    assert axe_violations(page, "coord-flow-group") == []
    _fits(page)
    screenshot(page, "coord-flow-group-desktop")

    # Item 11: the outbox in words, with recipients and the messages themselves.
    page.get_by_role("link", name="Outbox").click()
    page.get_by_role("heading", name="Outbox", level=1).wait_for()
    page.wait_for_function(
        "() => document.querySelectorAll('tr[data-kind=moved]').length >= 9", timeout=20_000
    )
    moved = page.locator("tr[data-kind=moved]").filter(has_text="Outsider")
    assert "Session moved" in moved.inner_text()
    assert moved.get_by_test_id("delivery").inner_text() == "Not sent: no mail server configured"
    moved.locator("summary").click()
    assert "Note: The ward meeting room is free then." in moved.locator("pre").inner_text()
    booked = page.locator("tr[data-kind=booked]").filter(has_text="Nurse 0").locator("pre")
    assert booked.evaluate("(e) => e.textContent").count("\n- ") == 6  # every session's time
    # Nothing claims "Sent": every message says it was not e-mailed.
    statuses = set(page.locator("td[data-testid=delivery]").all_inner_texts())
    assert statuses == {"Not sent: no mail server configured"}, statuses
    assert axe_violations(page, "coord-flow-outbox") == []
    screenshot(page, "coord-flow-outbox")
    assert errors == []
    context.close()


def test_coordinator_pages_on_a_phone_in_persian(
    browser: Any, server: tuple[Server, World]
) -> None:
    """Persian on a 390 px phone: right-to-left, Solar Hijri date entry that books the right
    Gregorian day, messages after actions in Persian, no sideways scrolling, 48 px targets."""
    srv, world = server
    context = browser.new_context(
        viewport=PHONE, locale="fa-IR", timezone_id="Asia/Tehran", is_mobile=True, has_touch=True
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    _login(page, srv.url)
    page.get_by_test_id("mail-banner").get_by_role(
        "heading", name="ارسال نشد: هیچ سرور ایمیلی تنظیم نشده است"
    ).wait_for()
    _fits(page)
    assert axe_violations(page, "coord-fa-phone-home") == []
    screenshot(page, "coord-fa-phone-home")
    page.get_by_role("link", name="Balint A").click()
    form = page.locator("form[aria-labelledby=book]")
    form.wait_for()
    # The member table fits the phone: name, role and withdraw without sideways scrolling.
    overflow = page.locator(".scroll").first.evaluate("(e) => e.scrollWidth - e.clientWidth")
    assert overflow <= 1, overflow
    start = next_monday(3)
    form.get_by_label("عنوان").fill("Balint phone")
    set_jalali(page, form, "تاریخ نخستین جلسه", start.isoformat())
    form.get_by_label("منطقهٔ زمانی گروه").fill("Asia/Tehran")
    form.get_by_label("دوشنبه").check()
    form.get_by_label("پنجشنبه").check()
    form.get_by_role("button", name="پیش‌نمایش").click()
    page.get_by_role("heading", name="پیش‌نمایش: آمادهٔ رزرو").wait_for()
    first = page.get_by_test_id("preview").locator("tbody time[datetime]").first
    assert first.get_attribute("datetime") == f"{start.isoformat()}T19:00"
    form.get_by_role("button", name="رزرو دوره").click()
    _flash(page, "ثبت شد: Balint phone")
    # Each session's changes sit on a row of their own: the series fits the phone too.
    for box in page.locator("section.series .scroll").all():
        assert box.evaluate("(e) => e.scrollWidth - e.clientWidth") <= 1
    # A role changed from the member table, confirmed in Persian.
    page.get_by_label("نقش Member 0").select_option("co_leader")
    _flash(page, "نقش Member 0 اکنون")
    # Cancel with a confirmation in Persian that names who is told, then undo.
    card = page.locator("section.series").filter(has_text="Balint phone")
    card.locator("tbody[data-session]").first.get_by_role("button", name="لغو", exact=True).click()
    dialog = page.get_by_test_id("confirm-dialog")
    dialog.get_by_role("heading", name="جلسه ۱ لغو شود؟").wait_for()
    assert "Member 3" in dialog.locator("li").all_inner_texts()
    dialog.get_by_label("دلیل، برای همه فرستاده می‌شود (اختیاری)").fill("رهبر بیمار است")
    dialog.get_by_test_id("confirm-yes").click()
    _flash(page, "جلسه ۱ لغو شد")
    page.get_by_test_id("undo").click()
    _flash(page, "جلسه‌های بازگردانده: ۱")
    # A CSV with a bad row: nobody invited, the report in Persian names row and column.
    page.locator("form[aria-labelledby=import]").get_by_label("پروندهٔ CSV").set_input_files(
        files=[{"name": "bad.csv", "mimeType": "text/csv", "buffer": BAD_CSV.encode()}]
    )
    page.get_by_role("button", name="بررسی و دعوت").click()
    page.get_by_role("alert").filter(has_text="هیچ‌کس دعوت نشد").wait_for()
    assert page.get_by_test_id("import-problems").locator("tbody tr").count() == 2
    _fits(page)
    assert axe_violations(page, "coord-fa-phone-group") == []
    screenshot(page, "coord-fa-phone-group")
    assert world.group_id > 0 and errors == []
    context.close()


def test_the_coordinators_one_click_link_lands_on_the_coordinator_pages(
    browser: Any, server: tuple[Server, World]
) -> None:
    srv, world = server

    async def link() -> str:
        db = Database(srv.db_url)
        try:
            async with db.sessionmaker() as s, s.begin():
                token, _ = await create_invitation(
                    s, SECRET, person_id=world.coordinator_id, ttl_hours=1, created_by=None
                )
        finally:
            await db.dispose()
        return sign_in_page(srv.url, token)

    context = browser.new_context(viewport=DESKTOP, locale="en-GB")
    page = context.new_page()
    page.goto(srv.run(link()))
    page.locator("form button[type=submit]").click()
    page.wait_for_url("**/app/coordinator.html**")
    page.get_by_role("heading", name="Coordinator home").wait_for()
    # Both apps link to each other.
    page.get_by_test_id("member-app-link").click()
    page.get_by_test_id("coordinator-link").wait_for()
    page.get_by_test_id("coordinator-link").click()
    page.get_by_role("heading", name="Coordinator home").wait_for()
    context.close()
