"""Issue 16 items 3-7 in Chromium against the scripted room of test_room_pages.py: being called
on and the floor taken back, the presenter told, the group agreement on the pre-join page, the
waiting room, refusals and impossible buttons, and the console (1280x800, phones, co-leader)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.browser.stub import now, session_at
from tests.browser.support import DESKTOP, axe_violations, screenshot
from tests.browser.test_room_pages import (  # noqa: F401 (room_server: the `rs` fixture)
    PHONE,
    RoomServer,
    announced,
    boxes_overlap,
    clean,
    join,
    person_page,
    room_server,
)

pytestmark = pytest.mark.browser


# ---- 3. being called on, and the presenter told so ----------------------------------------

FLOOR_TEXT = {
    "en": ("You have the floor: the group can hear you.", "The leader took the floor back."),
    "fa": ("نوبت صحبت با شماست: گروه صدای شما را می‌شنود.", "رهبر نوبت صحبت را پس گرفت."),
}


@pytest.mark.parametrize("locale", ["en", "fa"])
def test_called_on_member_hears_they_have_the_floor_and_the_leader_takes_it_back(
    browser: Any, rs: RoomServer, locale: str
) -> None:
    room = rs.room
    room.phase, room.presenter = "questions", "4"
    member = person_page(browser, rs, "3", PHONE, locale)
    join(member)
    other = person_page(browser, rs, "5", DESKTOP)
    join(other)
    leader = person_page(browser, rs, "1", DESKTOP)
    join(leader)
    member.get_by_test_id("hand").click()
    leader.locator('[data-key="callon-3"]').click()
    mine, taken = FLOOR_TEXT[locale]
    line = member.get_by_test_id("floor-line")
    line.wait_for()
    assert line.inner_text().strip() == mine
    announced(member, mine)
    member.wait_for_function(
        "() => document.querySelector('[data-testid=mic]').dataset.state === 'live'"
    )
    # Everyone sees who has the floor.
    other.get_by_test_id("floor-line").wait_for()
    assert other.get_by_test_id("floor-line").inner_text().strip() == "Sara Member has the floor."
    holder = leader.get_by_test_id("console-floor-holder")
    assert holder.inner_text() == "Sara Member has the floor."
    screenshot(member, f"room16-floor-mine-phone-{locale}")
    assert axe_violations(member, f"room16-floor-mine-phone-{locale}") == []
    take_back = leader.get_by_test_id("console-take-back")
    assert take_back.get_attribute("aria-label") == "Take the floor back from Sara Member"
    take_back.click()
    announced(member, taken)
    line.wait_for(state="hidden")
    assert {"command": "call_on", "clear": True} in rs.sent("1", "protocol.command")
    member.wait_for_function(
        "() => document.querySelector('[data-testid=mic]').dataset.state === 'held'"
    )
    leader.wait_for_function(
        "() => !document.querySelector('[data-testid=console-take-back]').checkVisibility()"
    )
    clean(leader, f"room16-floor-leader-{locale}")
    for p in (member, other, leader):
        p.context.close()


@pytest.mark.parametrize("locale", ["en", "fa"])
def test_accepted_presenter_is_told_and_not_offered_to_present(
    browser: Any, rs: RoomServer, locale: str
) -> None:
    member = person_page(browser, rs, "3", PHONE, locale)
    join(member)
    hand = member.get_by_test_id("hand")
    assert hand.inner_text() == (
        "Raise hand to present" if locale == "en" else "بالا بردن دست برای ارائه"
    )
    hand.click()
    leader = person_page(browser, rs, "1", DESKTOP)
    join(leader)
    leader.locator('[data-key="accept-3"]').click()
    notice = member.get_by_test_id("presenter-notice")
    notice.wait_for()
    told = (
        "You are the presenter. The leader starts the presentation when the group is ready."
        if locale == "en"
        else "شما ارائه‌دهنده هستید. رهبر وقتی گروه آماده باشد ارائه را آغاز می‌کند."
    )
    assert notice.inner_text() == told
    announced(member, told)
    assert not hand.is_visible()
    clean(member, f"room16-presenter-told-{locale}")
    for p in (member, leader):
        p.context.close()


# ---- 4. the group agreement on the pre-join page ------------------------------------------


def test_agreement_is_shown_and_accepted_on_the_prejoin_page(browser: Any, rs: RoomServer) -> None:
    rs.agreement = {"version": "2", "planned_sessions": 6}
    page = person_page(browser, rs, "3", PHONE)
    section = page.get_by_test_id("prejoin-agreement")
    section.wait_for()
    paras = section.locator("[data-testid=agreement-text] p").all_inner_texts()
    assert len(paras) >= 5, paras
    assert any("This series has 6 sessions" in p for p in paras), paras
    assert any("Balint group" in p for p in paras), paras
    assert not any("As a leader" in p for p in paras)
    # The agreement comes before the ways in.
    a = section.bounding_box()
    b = page.get_by_test_id("join-full").bounding_box()
    assert a is not None and b is not None and a["y"] < b["y"]
    page.wait_for_function("() => !document.querySelector('[data-testid=join-full]').disabled")
    page.get_by_test_id("join-full").click()
    needed = page.get_by_test_id("agreement-needed")
    needed.wait_for()
    assert needed.inner_text() == "Tick “I agree to the group agreement” to join."
    assert page.evaluate("() => document.activeElement.dataset.testid") == "agreement-check"
    assert rs.sent("3", "hello") == []  # nothing joined before agreeing
    clean(page, "room16-agreement-prejoin-phone-en")
    page.get_by_label("I agree to the group agreement").check()
    page.get_by_test_id("join-full").click()
    page.locator('[data-testid="room"][data-state="joined"]').wait_for()
    assert rs.sent("3", "agreement.accept") == [{"version": "2"}]
    # No second agreement screen was shown.
    assert page.get_by_test_id("agreement").count() == 0
    page.context.close()


@pytest.mark.parametrize(("locale", "n", "expected"), [("fa", 6, "۶ جلسه"), ("nl", 1, "1 sessie;")])
def test_agreement_in_the_person_s_language_with_leader_wording(
    browser: Any, rs: RoomServer, locale: str, n: int, expected: str
) -> None:
    rs.agreement = {"version": "1", "planned_sessions": n}
    page = person_page(browser, rs, "1", DESKTOP, locale)
    section = page.get_by_test_id("prejoin-agreement")
    section.wait_for()
    text = section.inner_text()
    assert expected in text, text
    leader_intro = {
        "fa": "شما به‌عنوان رهبر این گروه",
        "nl": "Als begeleider van deze groep",
    }[locale]
    assert leader_intro in text
    assert "Group agreement" not in text and "session" not in text.replace("sessie", "")
    clean(page, f"room16-agreement-leader-{locale}")
    page.context.close()


# ---- 5. the waiting room ------------------------------------------------------------------


@pytest.mark.parametrize("locale", ["en", "fa"])
def test_waiting_room_says_when_who_and_the_leader_s_next_step(
    browser: Any, rs: RoomServer, locale: str
) -> None:
    from zoneinfo import ZoneInfo

    rs.starts_at = now() + timedelta(minutes=4, seconds=30)
    rs.room.people["4"].present = False
    member = person_page(browser, rs, "3", PHONE, locale)
    join(member)
    leader = person_page(browser, rs, "1", DESKTOP, locale)
    join(leader)
    start = session_at(rs.starts_at)["starts_at"]
    from datetime import datetime

    zone = ZoneInfo("Asia/Tehran" if locale == "fa" else "Europe/Amsterdam")
    local = datetime.fromisoformat(start.replace("Z", "+00:00")).astimezone(zone)
    hhmm = f"{local:%H:%M}"
    digits = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
    starts = member.get_by_test_id("waiting-starts").inner_text()
    if locale == "en":
        assert starts == f"Starts at {hhmm} (in 5 min)", starts
    else:
        assert hhmm.translate(digits) in starts and "۵ دقیقهٔ دیگر" in starts, starts
    here = member.get_by_test_id("waiting-here").inner_text()
    assert "Dr. Hanna Leader" in here and "Sara Member" in here and "Amir Rahimi" not in here
    assert not member.get_by_test_id("waiting-next").is_visible()  # members have no next step
    nxt = leader.get_by_test_id("waiting-next")
    nxt.wait_for()
    assert nxt.inner_text() == (
        "Next step: choose a presenter, then press Next."
        if locale == "en"
        else "گام بعد: یک ارائه‌دهنده انتخاب کنید، سپس «بعدی» را بزنید."
    )
    # With a presenter chosen, the next step is the Next button itself.
    leader.get_by_test_id("console-set-presenter").click()
    leader.wait_for_function(
        "() => !document.querySelector('[data-testid=console-advance]').disabled"
    )
    assert ("Next: Presentation" if locale == "en" else "بعدی") in leader.get_by_test_id(
        "waiting-next"
    ).inner_text()
    clean(member, f"room16-waiting-member-{locale}")
    clean(leader, f"room16-waiting-leader-{locale}")
    for p in (member, leader):
        p.context.close()


# ---- 6. refusals in the person's language; buttons that cannot succeed ---------------------


@pytest.mark.parametrize(("size", "locale"), [("desktop", "en"), ("phone", "fa")])
def test_refusal_reason_reaches_the_leader_and_impossible_buttons_say_why(
    browser: Any, rs: RoomServer, size: str, locale: str
) -> None:
    room = rs.room
    page = person_page(browser, rs, "1", DESKTOP if size == "desktop" else PHONE, locale)
    join(page)
    if size == "phone":
        page.get_by_test_id("console-open").click()
    advance = page.get_by_test_id("console-advance")
    why = page.get_by_test_id("console-advance-why")
    # No presenter yet: Next is disabled, with the reason beside it.
    assert advance.is_disabled()
    first = "Choose a presenter first." if locale == "en" else "ابتدا یک ارائه‌دهنده انتخاب کنید."
    assert why.inner_text().strip().endswith(first)
    page.get_by_test_id("console-set-presenter").click()
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=console-advance]').disabled"
    )
    # Meanwhile the presenter left the choice (another leader, a stale page): the server's
    # refusal reaches this leader in their language.
    room.presenter = None
    advance.click()
    toast = page.locator(".toast-error")
    toast.wait_for()
    assert toast.inner_text() == first
    if size == "phone":
        page.get_by_test_id("console-close").click()
    # Toasts never cover the room's controls.
    assert not boxes_overlap(toast.bounding_box(), page.locator("nav.controls").bounding_box())
    screenshot(page, f"room16-refusal-{size}-{locale}")
    # After the presentation, "Make presenter" is disabled and says why.
    room.presenter, room.phase = "4", "questions"
    rs.run(rs.broadcast())
    if size == "phone":
        page.get_by_test_id("console-open").click()
    page.wait_for_function(
        "() => document.querySelector('[data-testid=console-set-presenter]').disabled"
    )
    locked = page.get_by_test_id("console-presenter-why")
    assert locked.inner_text() == (
        "The presenter can only be chosen before the presentation ends."
        if locale == "en"
        else "ارائه‌دهنده را فقط پیش از پایان ارائه می‌توان انتخاب کرد."
    )
    clean(page, f"room16-console-locked-{size}-{locale}")
    page.context.close()


# ---- 7. the console: fits 1280x800, one tap away on phones, the co-leader's rights ----------


@pytest.mark.parametrize("phase", ["waiting", "questions"])
def test_console_fits_1280x800_without_inner_scroll(
    browser: Any, rs: RoomServer, phase: str
) -> None:
    room = rs.room
    room.phase, room.hands = phase, ["3", "5"]
    room.presenter = None if phase == "waiting" else "4"
    page = person_page(browser, rs, "1", DESKTOP)
    join(page)
    console = page.get_by_test_id("leader-console")
    console.wait_for()
    page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=console-hands] li').length === 2"
    )
    sizes = console.evaluate("e => [e.scrollHeight, e.clientHeight]")
    assert sizes[0] <= sizes[1] + 1, f"console scrolls inside: {sizes}"
    page_height = page.evaluate("() => document.documentElement.scrollHeight")
    assert page_height <= DESKTOP["height"], page_height
    # Every console control is on the screen.
    box = page.get_by_test_id("console-note-save").bounding_box()
    assert box is not None and box["y"] + box["height"] <= DESKTOP["height"]
    clean(page, f"room16-console-desktop-{phase}-en")
    page.context.close()


@pytest.mark.parametrize("locale", ["en", "fa"])
def test_phone_console_is_one_tap_away_and_the_co_leader_sees_their_rights(
    browser: Any, rs: RoomServer, locale: str
) -> None:
    room = rs.room
    room.phase, room.presenter, room.hands = "questions", "4", ["3"]
    page = person_page(browser, rs, "2", PHONE, locale)
    join(page)
    console = page.get_by_test_id("leader-console")
    opener = page.get_by_test_id("console-open")
    # The opener sits in the pinned controls, on the first screen, wherever the page is.
    assert not console.is_visible()
    page.mouse.wheel(0, 2000)
    box = opener.bounding_box()
    assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"]
    opener.click()
    console.wait_for()
    assert opener.get_attribute("aria-expanded") == "true"
    rights = page.get_by_test_id("console-rights")
    assert rights.inner_text() == (
        "As co-leader you can: call on raised hands and set the floor; write the leaders' "
        "private note. The leader moves the phases and keeps the time."
        if locale == "en"
        else "شما به‌عنوان کمک‌رهبر می‌توانید: به دست‌های بالا نوبت صحبت بدهید و شیوهٔ صحبت را "
        "تعیین کنید؛ یادداشت خصوصی رهبران را بنویسید. رهبر مرحله‌ها را پیش می‌برد و زمان را نگه می‌دارد."
    )
    # No phase controls for a co-leader; calling on is there.
    assert not page.get_by_test_id("console-advance").is_visible()
    assert page.locator('[data-key="callon-3"]').is_visible()
    clean(page, f"room16-console-phone-coleader-{locale}")
    page.get_by_test_id("console-close").click()
    console.wait_for(state="hidden")
    assert page.evaluate("() => document.activeElement.dataset.testid") == "console-open"
    page.context.close()
