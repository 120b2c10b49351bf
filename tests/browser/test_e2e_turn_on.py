"""A member who joined listen-only turns the microphone and then the camera on, in real
Chromium against the real server and its forwarding unit (in a private network namespace,
like test_e2e_balint.py). The server offers every participant recvonly upstream slots for
audio and video whatever the join mode; the client answers them sendonly with no track and
later puts the new track on that sender with replaceTrack. Checked: the leader starts to
receive the member's audio packets and then video frames, the member's page never renegotiates
(one answer per offer, no new peer connection), and the tiles say so."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.live import LiveServer
from tests.browser.test_e2e_balint import desktop, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.media, pytest.mark.slow, pytest.mark.timeout(300)]

PEERS = "() => (window.__pcs || []).filter((p) => p.connectionState !== 'closed').length"


def test_listen_only_member_turns_devices_on_without_renegotiation(
    browser: Any, live_server: LiveServer
) -> None:
    cast = live_server.start(members=1)
    leader = desktop(browser, live_server, cast, cast.leader, "leader-turn-on")
    (mid,) = cast.members
    member = desktop(browser, live_server, cast, mid, "member-turn-on")
    leader.join()
    member.join("join-listen")
    wait_until(lambda: leader.page.locator("li.tile").count() == 2, what="two tiles")

    mic = member.page.get_by_test_id("mic")
    wait_until(lambda: mic.get_attribute("data-state") == "turn-on", what="turn-on microphone")
    wait_until(lambda: "Muted" in leader.tile(member.id).inner_text(), what="member shown muted")
    assert leader.packets(member.id, "audio") == 0
    wait_until(lambda: member.page.evaluate(PEERS) == 1, what="member's peer connection")

    mic.click()
    wait_until(lambda: mic.get_attribute("data-state") == "live", what="microphone live")
    try:
        wait_until(
            lambda: leader.packets(member.id, "audio") > 0, what="member's audio at the leader"
        )
    except AssertionError as exc:
        raise AssertionError(
            f"{exc}: member {member.diagnose()}, leader {leader.diagnose()}"
        ) from None
    wait_until(lambda: "Muted" not in leader.tile(member.id).inner_text(), what="member unmuted")

    cam = member.page.get_by_test_id("cam")
    assert cam.get_attribute("data-state") == "turn-on"
    cam.click()
    wait_until(lambda: cam.get_attribute("data-state") == "on", what="camera on")
    try:
        wait_until(
            lambda: leader.inbound(member.id).get("video", {}).get("frames", 0) > 0,
            what="member's video frames at the leader",
        )
    except AssertionError as exc:
        raise AssertionError(
            f"{exc}: member {member.diagnose()}, leader {leader.diagnose()}"
        ) from None
    # Still the same single peer connection on the member's page: replaceTrack, no new peer.
    assert member.page.evaluate(PEERS) == 1
    assert member.page.evaluate("() => (window.__pcs || []).length") == 1
    member.shot("after")
    assert member.errors == [] and leader.errors == []
    for p in (leader, member):
        p.context.close()
