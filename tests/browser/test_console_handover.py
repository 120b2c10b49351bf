"""Issue 15, leader continuity, in Chromium against the scripted room of test_room_pages.py:
the console's `hand_over` control. Disabled with its reason while no co-leader is present; a
leader hands leading to the co-leader, who then holds the console's phase controls and hands
leading back."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.support import DESKTOP
from tests.browser.test_room_pages import (  # noqa: F401 (room_server: the `rs` fixture)
    RoomServer,
    clean,
    join,
    person_page,
    room_server,
)

pytestmark = pytest.mark.browser

TEXT = {
    "en": {
        "button": "Hand over leading",
        "none": "No co-leader is present to hand leading to.",
        "back": "Dr. Hanna Leader (hand back to the leader)",
    },
    "fa": {
        "button": "واگذاری هدایت گروه",
        "none": "هیچ کمک‌رهبری حاضر نیست که هدایت به او واگذار شود.",
        "back": "Dr. Hanna Leader (بازگرداندن هدایت به رهبر گروه)",
    },
}


def open_roster(page: Any) -> None:
    """The control sits in the folded roster ("Who is here (n)"): the console fits 1280x800."""
    page.locator("[data-testid=leader-console] details.console-roster > summary").click()


def enabled(page: Any, testid: str) -> None:
    page.wait_for_function(
        f"() => !document.querySelector('[data-testid={testid}]').disabled", timeout=15_000
    )


@pytest.mark.parametrize("locale", ["en", "fa"])
def test_leader_hands_over_to_a_present_coleader_and_gets_it_back(
    browser: Any, rs: RoomServer, locale: str
) -> None:
    text = TEXT[locale]
    rs.room.people["2"].present = False
    leader = person_page(browser, rs, "1", DESKTOP, locale)
    join(leader)
    open_roster(leader)
    button = leader.get_by_test_id("console-handover")
    why = leader.get_by_test_id("console-handover-why")
    # No co-leader present: the button stays, disabled, with the reason.
    why.wait_for()
    assert button.inner_text() == text["button"]
    assert button.is_disabled()
    assert why.inner_text() == text["none"]
    assert not leader.get_by_test_id("console-handover-to").is_visible()
    clean(leader, f"console-handover-none-{locale}")

    coleader = person_page(browser, rs, "2", DESKTOP, locale)
    join(coleader)
    open_roster(coleader)
    # Before the handover the co-leader has no leading controls and cannot hand over.
    assert not coleader.get_by_test_id("console-handover").is_visible()
    assert not coleader.get_by_test_id("console-advance").is_visible()
    enabled(leader, "console-handover")
    assert not why.is_visible()
    options = leader.get_by_test_id("console-handover-to").locator("option").all_inner_texts()
    assert options == ["Omid Co-leader"]
    button.click()

    # The co-leader now leads: phase controls, and handing back to the leader.
    coleader.get_by_test_id("console-advance").wait_for()
    # (read once the room's answer is seen: the click returns before the server has it)
    assert {"command": "hand_over", "person_id": "2"} in rs.sent("1", "protocol.command")
    back = coleader.get_by_test_id("console-handover")
    back.wait_for()
    enabled(coleader, "console-handover")
    to = coleader.get_by_test_id("console-handover-to")
    assert to.locator("option").all_inner_texts() == [text["back"]]
    clean(coleader, f"console-handover-coleader-{locale}")
    back.click()
    coleader.get_by_test_id("console-advance").wait_for(state="hidden")
    coleader.get_by_test_id("console-handover").wait_for(state="hidden")
    assert {"command": "hand_over", "person_id": "1"} in rs.sent("2", "protocol.command")
    assert rs.room.stand_in is None
    for p in (leader, coleader):
        p.context.close()
