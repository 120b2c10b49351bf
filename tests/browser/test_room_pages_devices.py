"""Issue 16 item 2 in Chromium against the scripted room of test_room_pages.py: switching
camera, microphone and speaker in the room, the speaker test before joining, the M and Space
shortcuts with their announcements, focusable tiles, and the skip link to the leader console."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.support import DESKTOP
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


# ---- 2. devices, shortcuts, focus, the skip link ------------------------------------------


@pytest.fixture(scope="module")
def two_camera_browser(playwright_driver: Any) -> Any:
    """Chromium with two fake cameras (and its fake microphones), to switch between."""
    from tests.browser.support import CHROMIUM, GRANTING_ARGS

    args = [
        "--use-fake-device-for-media-stream=device-count=2"
        if a == "--use-fake-device-for-media-stream"
        else a
        for a in GRANTING_ARGS
    ]
    b = playwright_driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
    yield b
    b.close()


OWN_CAMERA = (
    "() => document.querySelector('li.tile.self video')?.srcObject?.getVideoTracks()[0]"
    "?.getSettings().deviceId ?? ''"
)


@pytest.mark.parametrize(("size", "locale"), [("phone", "en"), ("desktop", "fa")])
def test_switch_camera_and_microphone_in_the_room_and_test_the_speaker(
    two_camera_browser: Any, rs: RoomServer, size: str, locale: str
) -> None:
    page = person_page(two_camera_browser, rs, "3", PHONE if size == "phone" else DESKTOP, locale)
    # Pre-join: the speaker can be tested before joining.
    page.get_by_test_id("speaker-test").click()
    page.wait_for_function(
        "() => document.querySelector('[data-testid=speaker-status]').textContent.length > 0"
    )
    join(page)
    page.wait_for_function(f"{OWN_CAMERA} !== ''")
    before = page.evaluate(OWN_CAMERA)
    page.get_by_test_id("devices-open").click()
    dialog = page.get_by_test_id("devices")
    dialog.wait_for()
    cams = page.get_by_test_id("device-cam")
    options = cams.locator("option").evaluate_all("os => os.map(o => o.value)")
    assert len(options) == 2, options
    other = next(o for o in options if o != before)
    cams.select_option(other)
    page.wait_for_function(f"{OWN_CAMERA} === '{other}'")
    switched = "Camera switched" if locale == "en" else "دوربین به"
    page.wait_for_function(
        "(t) => document.querySelector('[data-testid=device-status]').textContent.startsWith(t)",
        arg=switched,
    )
    # The old camera was stopped; a reload keeps the new one.
    record = page.evaluate("() => JSON.parse(sessionStorage.getItem('circle.rejoin'))")
    assert other in str(record), record
    mics = page.get_by_test_id("device-mic")
    mic_options = mics.locator("option").evaluate_all("os => os.map(o => o.value)")
    if len(mic_options) > 1:
        current = mics.evaluate("s => s.value")
        target = next(o for o in mic_options if o not in (current, "default"))
        mics.select_option(target)
        page.wait_for_function(
            "() => /Microphone switched|میکروفون به/.test(document.querySelector('[data-testid=device-status]').textContent)"
        )
    # The speaker: chosen where the browser allows it, always testable.
    page.get_by_test_id("device-test").click()
    page.wait_for_function(
        "() => /short tone|صدای کوتاه/.test(document.querySelector('[data-testid=device-status]').textContent)"
    )
    clean(page, f"room16-devices-{size}-{locale}")
    page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")
    page.context.close()


def test_mute_shortcut_and_push_to_talk_are_announced(browser: Any, rs: RoomServer) -> None:
    rs.room.phase = "open"
    page = person_page(browser, rs, "3", DESKTOP)
    join(page)
    mic = page.get_by_test_id("mic")
    assert mic.get_attribute("aria-keyshortcuts") == "M"
    hint = page.get_by_test_id("shortcut-hint")
    assert "hold Space to talk" in hint.inner_text()
    page.locator("body").click(position={"x": 5, "y": 200})
    page.keyboard.press("m")
    announced(page, "Microphone muted.")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=mic]').dataset.state === 'muted'"
    )
    assert rs.sent("3", "mic.set")[-1] == {"muted": True}
    # Push-to-talk: Space held opens the microphone, releasing it closes it again.
    page.keyboard.down("Space")
    announced(page, "Talking while you hold Space.")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=mic]').dataset.state === 'live'"
    )
    page.keyboard.up("Space")
    announced(page, "Muted again.")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=mic]').dataset.state === 'muted'"
    )
    assert [d["muted"] for d in rs.sent("3", "mic.set")][-3:] == [True, False, True]
    # Typing in a field is never a shortcut.
    page.keyboard.press("m")
    announced(page, "Microphone on: the group can hear you.")
    assert rs.sent("3", "mic.set")[-1] == {"muted": False}
    page.context.close()


def test_leader_console_is_one_skip_link_away_and_tiles_are_focusable(
    browser: Any, rs: RoomServer
) -> None:
    rs.room.phase = "questions"
    rs.room.presenter = "4"
    page = person_page(browser, rs, "1", DESKTOP)
    join(page)
    page.get_by_test_id("leader-console").wait_for()
    # Outside the presentation and the return, desktops show the grid.
    assert page.get_by_test_id("gallery").get_attribute("data-layout") == "grid"
    # The first two stops of the page are "Skip to content" and "Skip to the leader console".
    first = page.evaluate(
        """() => [...document.querySelectorAll('a[href], button, select, textarea, input, [tabindex]')]
             .filter(e => e.tabIndex >= 0).slice(0, 2).map(e => e.getAttribute('href'))"""
    )
    assert first == ["#main", "#leader-console"], first
    page.locator("header a.skip").first.focus()
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.dataset.testid") == "skip-console"
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "leader-console"
    # Every tile can take the keyboard focus and reads as one summary.
    focusable = page.evaluate(
        "() => [...document.querySelectorAll('li.tile')].every(t => t.tabIndex === 0 && t.getAttribute('aria-label'))"
    )
    assert focusable
    page.context.close()
