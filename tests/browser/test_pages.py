"""The join path in a real browser, against a stand-in REST server (no room needed):
the pre-join check with and without permission, the lobby wait in the viewer's time zone,
Persian right-to-left, accessibility (axe-core) and screenshots at desktop and phone sizes."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.browser.stub import StubServer, now, session_at
from tests.browser.support import DESKTOP, PHONE, axe_violations, screenshot

pytestmark = pytest.mark.browser

PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


def open_page(browser: Any, url: str, viewport: dict[str, int], locale: str = "en-GB") -> Any:
    context = browser.new_context(viewport=viewport, locale=locale)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    # A Content-Security-Policy refusal is reported on the console, not as a page error.
    page.on(
        "console",
        lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None,
    )
    page.goto(url)
    page.errors = errors
    return page


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_prejoin_check_shows_preview_level_and_devices(
    browser: Any, stub: StubServer, size: str
) -> None:
    stub.state.sessions = [session_at(now() + timedelta(minutes=5), status="open")]
    page = open_page(browser, f"{stub.url}/app/", DESKTOP if size == "desktop" else PHONE)
    page.get_by_role("heading", name="Before you join: Balint group: Tuesday").wait_for()
    # The fake camera delivers frames into the preview.
    page.wait_for_function("() => document.querySelector('video.preview')?.videoWidth > 0")
    assert page.get_by_label("Microphone", exact=True).is_visible()
    assert page.get_by_label("Camera", exact=True).is_visible()
    assert page.get_by_label("Microphone level").is_visible()
    assert page.get_by_test_id("join-full").is_enabled()
    assert page.get_by_test_id("join-audio").is_enabled()
    assert page.get_by_test_id("join-listen").is_enabled()
    assert page.get_by_text("Sessions are never recorded.").is_visible()
    # The URL names the session, so a reload comes back to it.
    assert "session=41" in page.url
    if size == "phone":
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"horizontal scroll at 360 px: {width}"
    screenshot(page, f"join-prejoin-{size}")
    assert axe_violations(page, f"prejoin-{size}") == []
    assert page.errors == []
    page.context.close()


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_prejoin_check_explains_denied_permission(
    denying_browser: Any, stub: StubServer, size: str
) -> None:
    stub.state.sessions = [session_at(now() + timedelta(minutes=5), status="open")]
    page = open_page(denying_browser, f"{stub.url}/app/", DESKTOP if size == "desktop" else PHONE)
    alert = page.get_by_role("alert").filter(has_text="Camera and microphone are blocked")
    alert.wait_for()
    assert "choose Allow" in alert.inner_text()
    # No broken buttons: only the way in that works is offered, plus a retry.
    assert page.get_by_test_id("join-full").is_disabled()
    assert page.get_by_test_id("join-audio").is_disabled()
    assert page.get_by_test_id("join-listen").is_enabled()
    assert page.get_by_test_id("prejoin-retry").is_visible()
    assert page.locator("section.prejoin").get_attribute("data-problem") == "denied"
    screenshot(page, f"join-denied-{size}")
    assert axe_violations(page, f"denied-{size}") == []
    page.context.close()


def test_lobby_not_open_says_when_in_viewer_time_zone_in_persian_rtl(
    browser: Any, stub: StubServer
) -> None:
    start = (now() + timedelta(hours=3)).replace(second=0, microsecond=0)
    stub.state.sessions = [session_at(start, status="scheduled", lobby_minutes=10)]
    stub.state.me = {**stub.state.me, "locale": "fa", "timezone": "Asia/Tehran"}
    for size, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page = open_page(browser, f"{stub.url}/app/", viewport)
        lobby = page.get_by_test_id("wait-lobby")
        lobby.wait_for()
        assert page.evaluate("() => document.documentElement.dir") == "rtl"
        assert page.evaluate("() => document.documentElement.lang") == "fa"
        opens = (start - timedelta(minutes=10)).astimezone(ZoneInfo("Asia/Tehran"))
        expected = f"{opens:%H:%M}".translate(PERSIAN_DIGITS)
        assert expected in lobby.inner_text(), lobby.inner_text()
        # Right-to-left layout: the heading starts at the right edge of its card.
        card = page.locator("section.card").bounding_box()
        heading = page.locator("section.card h1").bounding_box()
        assert card is not None and heading is not None
        assert (
            page.locator("section.card h1").evaluate("e => getComputedStyle(e).direction") == "rtl"
        )
        text_right = page.locator("section.card h1").evaluate(
            "e => { const r = document.createRange(); r.selectNodeContents(e); const b = r.getBoundingClientRect(); return [b.left, b.right]; }"
        )
        assert abs((card["x"] + card["width"]) - text_right[1]) < 40, (card, text_right)
        screenshot(page, f"join-wait-fa-{size}")
        assert axe_violations(page, f"wait-fa-{size}") == []
        page.context.close()
    assert stub.state.token_requests == 0  # nothing is asked of the room before the lobby opens


def test_persian_prejoin_is_right_to_left(browser: Any, stub: StubServer) -> None:
    stub.state.sessions = [session_at(now() + timedelta(minutes=5), status="open")]
    stub.state.me = {**stub.state.me, "locale": "fa", "timezone": "Asia/Tehran"}
    page = open_page(browser, f"{stub.url}/app/", PHONE)
    page.get_by_test_id("join-full").wait_for()
    assert page.get_by_test_id("join-full").inner_text() == "ورود با دوربین و میکروفون"
    # The first action button sits at the right in RTL.
    first = page.get_by_test_id("join-full").bounding_box()
    last = page.get_by_test_id("join-listen").bounding_box()
    assert first is not None and last is not None
    assert first["x"] + first["width"] >= last["x"] + last["width"] - 1
    screenshot(page, "join-prejoin-fa-phone")
    assert axe_violations(page, "prejoin-fa-phone") == []
    page.context.close()


def test_join_before_the_server_opens_the_lobby_is_explained(
    browser: Any, stub: StubServer
) -> None:
    # The browser thinks the lobby is open; the server says not yet (409 not_open).
    stub.state.sessions = [
        session_at(now() + timedelta(minutes=5), status="scheduled", lobby_minutes=10)
    ]
    page = open_page(browser, f"{stub.url}/app/", DESKTOP)
    page.get_by_test_id("join-listen").click()
    error = page.get_by_test_id("error-page")
    error.wait_for()
    assert error.get_attribute("data-code") == "not_open"
    assert "The lobby for this session is not open yet." in error.inner_text()
    assert stub.state.token_requests == 1
    # Nothing about the session is kept once joining failed.
    assert page.evaluate("() => sessionStorage.length") == 0
    page.context.close()


def test_prejoin_is_usable_by_keyboard_with_visible_focus(browser: Any, stub: StubServer) -> None:
    stub.state.sessions = [session_at(now() + timedelta(minutes=5), status="scheduled")]
    page = open_page(browser, f"{stub.url}/app/", DESKTOP)
    page.get_by_test_id("join-full").wait_for()
    page.wait_for_function("() => !document.querySelector('[data-testid=join-full]').disabled")
    seen: list[str] = []
    for _ in range(25):
        page.keyboard.press("Tab")
        testid = page.evaluate("() => document.activeElement?.dataset?.testid ?? ''")
        seen.append(testid or page.evaluate("() => document.activeElement?.tagName"))
        if testid == "join-listen":
            break
    assert seen[-1] == "join-listen", seen
    # The focused control shows a visible focus ring.
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("none", ""), outline
    page.keyboard.press("Enter")
    page.get_by_test_id("error-page").wait_for()
    assert stub.state.token_requests == 1
    page.context.close()


def scripted_room(phase: str, *, protocol: str = "balint", over_ms: int = 0) -> dict[str, Any]:
    t = int(now().timestamp() * 1000)
    people = [
        ("1", "Dr. Hanna Leader", "leader", False),
        ("2", "Amir Rahimi", "presenter", False),
        ("3", "Sara Member", "member", True),
        ("4", "Bea de Vries", "member", True),
    ]
    return {
        "version": 7,
        "server_time_ms": t,
        "session_id": "41",
        "protocol": protocol,
        "phases": None,
        "phase": phase,
        "phase_started_at_ms": t - 8 * 60_000 - over_ms,
        "phase_duration_ms": 8 * 60_000,
        "phase_ends_at_ms": t - over_ms,
        "remaining_ms": 0,
        "paused": False,
        "overrun": over_ms > 0,
        "presenter_id": "2",
        "floor": "hands",
        "called_on": None,
        "hands": ["4"],
        "participants": [
            {
                "person_id": pid,
                "display_name": name,
                "role": role,
                "presence": "present",
                "muted_by_rule": held,
                "self_muted": False,
                "camera_off": True,
                "hand_raised": pid == "4",
                "capabilities": ["raise_hand", "show_video"] + ([] if held else ["speak"]),
            }
            for pid, name, role, held in people
        ],
        "capacity": 12,
        "ended": False,
    }


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_countdown_shows_overrun_and_the_floor_rule(
    browser: Any, stub: StubServer, size: str
) -> None:
    stub.state.sessions = [session_at(now() + timedelta(minutes=5), status="live")]
    stub.state.room_snapshot = scripted_room("questions", over_ms=75_000)
    page = open_page(browser, f"{stub.url}/app/", DESKTOP if size == "desktop" else PHONE)
    page.get_by_test_id("join-listen").click()
    page.locator('[data-testid="room"][data-state="joined"]').wait_for()
    banner = page.get_by_test_id("phase-banner")
    assert banner.get_attribute("data-countdown") == "overrun"
    text = page.get_by_test_id("countdown").inner_text()
    assert re.fullmatch(r"\+1:1\d over time", text), text
    assert page.get_by_test_id("phase-title").inner_text() == "Questions"
    assert "Short factual questions to Amir Rahimi" in page.get_by_test_id("phase-ask").inner_text()
    # Held by the hands floor: shown on the tiles, with the raised hand. Listening only, this
    # person has no microphone to hold, so no explanation is needed and the button says so.
    assert not page.get_by_test_id("held-note").is_visible()
    assert page.get_by_test_id("mic").get_attribute("data-state") == "none"
    assert "Mic off by the room" in page.locator('li.tile[data-person="4"]').inner_text()
    assert "Hand raised" in page.locator('li.tile[data-person="4"]').inner_text()
    assert page.locator("li.tile").count() == 4
    assert stub.state.room_events[:2] == ["hello", "join"]
    screenshot(page, f"room-overrun-{size}")
    assert axe_violations(page, f"room-overrun-{size}") == []
    page.context.close()


def test_other_protocols_show_their_phases(browser: Any, stub: StubServer) -> None:
    stub.state.sessions = [session_at(now() + timedelta(minutes=5), status="live")]
    stub.state.room_snapshot = {
        **scripted_room("open_floor", protocol="dynamic"),
        "phases": ["waiting", "check_in", "open_floor", "closing_round", "closed"],
        "phase_ends_at_ms": None,
        "remaining_ms": None,
    }
    stub.state.me = {**stub.state.me, "locale": "nl"}
    page = open_page(browser, f"{stub.url}/app/", DESKTOP)
    page.get_by_test_id("join-listen").click()
    page.locator('[data-testid="room"][data-state="joined"]').wait_for()
    assert page.get_by_test_id("phase-title").inner_text() == "Open gesprek"
    assert page.locator(".phase-step").text_content() == "Fase 2 van 3"
    assert page.get_by_test_id("countdown").inner_text() == "Geen tijdslimiet"
    page.context.close()
