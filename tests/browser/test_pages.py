"""The join path in a real browser, against a stand-in REST server (no room needed):
the pre-join check with and without permission, the lobby wait in the viewer's time zone,
Persian right-to-left, accessibility (axe-core) and screenshots at desktop and phone sizes."""

from __future__ import annotations

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
    page.goto(url)
    page.errors = errors  # type: ignore[attr-defined]
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
    assert page.errors == []  # type: ignore[attr-defined]
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
