"""Issue 16's member flow in one browser test, against the real server and its forwarding unit
(in a private network namespace, like test_e2e_balint.py): a member on a phone (390x844) joins
through the pre-join page (agreeing to the group agreement there), switches camera in the room
(the same sender of the same peer connection carries the new camera), raises a hand, is called
on and hears that they have the floor (and the leader receives their audio); the leader takes
the floor back. A second member presents."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.live import LiveServer
from tests.browser.support import CHROMIUM, GRANTING_ARGS, axe_violations
from tests.browser.test_e2e_balint import Person, desktop, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.media, pytest.mark.slow, pytest.mark.timeout(600)]

PHONE = {"width": 390, "height": 844}
# The member's video sender: its track's camera, enabled, and state.
SENDER = """() => {
  const s = window.__pcs[0].getSenders().find((x) => x.track && x.track.kind === "video");
  return s ? [s.track.getSettings().deviceId, s.track.enabled, s.track.readyState] : null;
}"""
OWN_CAMERA = (
    "() => document.querySelector('li.tile.self video')?.srcObject?.getVideoTracks()[0]"
    "?.getSettings().deviceId ?? ''"
)


@pytest.fixture
def two_camera_browser(playwright_driver: Any) -> Iterator[Any]:
    """Chromium with two fake cameras, so the member has another one to switch to."""
    args = [
        "--use-fake-device-for-media-stream=device-count=2"
        if a == "--use-fake-device-for-media-stream"
        else a
        for a in GRANTING_ARGS
    ]
    b = playwright_driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
    yield b
    b.close()


def announced(page: Any, text: str) -> None:
    page.wait_for_function(
        "(t) => document.getElementById('announcer').textContent.includes(t)", arg=text
    )


def test_phone_member_switches_camera_is_called_on_and_the_leader_takes_the_floor_back(
    two_camera_browser: Any, live_server: LiveServer
) -> None:
    # Everyone in the one browser with two fake cameras (one Chromium process, as in the
    # other end-to-end tests; a second process starved the member's video encoder here).
    browser = two_camera_browser
    # Raised hands in questions and return (the seed's default is the free floor).
    cast = live_server.start(members=2, settings={"questions_floor": "hands"})
    leader = desktop(browser, live_server, cast, cast.leader, "flow-leader")
    presenter_id, member_id = cast.members
    presenter = desktop(browser, live_server, cast, presenter_id, "flow-presenter")
    member = Person(
        two_camera_browser,
        live_server,
        member_id,
        cast.names[member_id],
        locale="en",
        viewport=PHONE,
        tag="flow-member-phone",
    )
    leader.join()
    presenter.join()
    # The member reads the group agreement on the pre-join page and agrees there.
    agreement = member.page.get_by_test_id("prejoin-agreement")
    agreement.wait_for()
    assert "This series has 6 sessions" in agreement.inner_text()
    member.join()
    everyone = (leader, presenter, member)
    for p in everyone:
        wait_until(lambda p=p: p.page.locator("li.tile").count() == 3, what=f"tiles at {p.tag}")
    # Phones show the focus layout.
    assert member.page.get_by_test_id("gallery").get_attribute("data-layout") == "focus"

    # Switch camera without leaving: the new camera goes onto the same sender of the same
    # peer connection (replaceTrack, no renegotiation), live and enabled.
    page = member.page
    page.wait_for_function(f"{OWN_CAMERA} !== ''")
    before = page.evaluate(OWN_CAMERA)
    assert page.evaluate(SENDER) == [before, True, "live"]
    page.get_by_test_id("devices-open").click()
    page.get_by_test_id("devices").wait_for()  # shown once the devices are listed
    cams = page.get_by_test_id("device-cam")
    other = next(
        o for o in cams.locator("option").evaluate_all("os => os.map(o => o.value)") if o != before
    )
    cams.select_option(other)
    page.wait_for_function(f"{OWN_CAMERA} === '{other}'")
    wait_until(lambda: page.evaluate(SENDER) == [other, True, "live"], what="new camera sent")
    assert "Camera switched" in page.get_by_test_id("device-status").inner_text()
    page.keyboard.press("Escape")
    assert page.evaluate("() => (window.__pcs || []).length") == 1  # no renegotiation
    assert page.evaluate("() => JSON.parse(sessionStorage.getItem('circle.rejoin'))")

    # The leader chooses the presenter and moves on to the questions.
    lp = leader.page
    lp.get_by_test_id("console-presenter-select").select_option(presenter.id)
    lp.get_by_test_id("console-set-presenter").click()
    for phase in ("presentation", "questions"):
        lp.get_by_test_id("console-advance").click()
        for p in everyone:
            wait_until(lambda p=p, ph=phase: p.phase() == ph, what=f"{phase} at {p.tag}")
    mic = page.get_by_test_id("mic")
    wait_until(lambda: mic.get_attribute("data-state") == "held", what="member held by the floor")

    # The member raises a hand; the leader calls on them.
    page.get_by_test_id("hand").click()
    call_on = lp.locator(f'[data-key="callon-{member.id}"]')
    call_on.wait_for()
    audio_before = leader.packets(member.id, "audio")
    call_on.click()
    line = page.get_by_test_id("floor-line")
    line.wait_for()
    assert line.inner_text().strip() == "You have the floor: the group can hear you."
    announced(page, "You have the floor: the group can hear you.")
    wait_until(lambda: mic.get_attribute("data-state") == "live", what="member's mic open")
    wait_until(
        lambda: leader.packets(member.id, "audio") > audio_before + 20,
        what="the member's voice at the leader",
        timeout=30,
    )
    # Everyone else sees who has the floor.
    presenter_line = presenter.page.get_by_test_id("floor-line")
    presenter_line.wait_for()
    assert member.name in presenter_line.inner_text()
    member.shot("has-the-floor")
    assert axe_violations(page, "flow-member-floor-phone") == []

    # The leader takes the floor back.
    lp.get_by_test_id("console-take-back").click()
    announced(page, "The leader took the floor back.")
    line.wait_for(state="hidden")
    wait_until(lambda: mic.get_attribute("data-state") == "held", what="member held again")
    assert lp.get_by_test_id("console-floor-holder").inner_text() == "Nobody has been called on."
    leader.shot("floor-taken-back")
    assert axe_violations(lp, "flow-leader-console") == []
    assert all(p.errors == [] for p in everyone), [p.errors for p in everyone]
    for p in everyone:
        p.context.close()
