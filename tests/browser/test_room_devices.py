"""Turning a device on in the room after joining without it, against the stand-in server with
a scripted /room namespace: a listen-only member turns the microphone on (the browser's own
getUserMedia with Chromium's fake devices) and the client asks the server to unmute; the
camera likewise; while the room holds microphones, a listen-only member gets the calm
explanation instead of the button. The sender side (replaceTrack on the existing upstream
slot, no renegotiation) is covered by the vitest tests of MediaSession."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from tests.browser.stub import StubServer, now, session_at
from tests.browser.support import DESKTOP, axe_violations, screenshot
from tests.browser.test_pages import open_page, scripted_room

pytestmark = pytest.mark.browser


def room_with_self(held: bool) -> dict[str, Any]:
    """The scripted open-floor room; "3" is the person in the browser."""
    snap = scripted_room("open")
    snap["floor"] = "open"
    snap["hands"] = []
    for p in snap["participants"]:
        p["muted_by_rule"] = held and p["person_id"] == "3"
        p["hand_raised"] = False
        p["capabilities"] = ["raise_hand", "show_video"] + ([] if p["muted_by_rule"] else ["speak"])
    return snap


def sent_commands(page: Any) -> list[tuple[str, Any]]:
    """Every Socket.IO event the page sends to /room, with its payload."""
    sent: list[tuple[str, Any]] = []

    def on_ws(ws: Any) -> None:
        def on_frame(payload: Any) -> None:
            text = payload if isinstance(payload, str) else payload.decode()
            if not text.startswith("42/room,"):
                return
            body = text[len("42/room,") :].lstrip("0123456789")
            try:
                event = json.loads(body)
            except ValueError:
                return
            sent.append((event[0], event[1] if len(event) > 1 else None))

        ws.on("framesent", on_frame)

    page.on("websocket", on_ws)
    return sent


def test_listen_only_member_turns_microphone_and_camera_on(browser: Any, stub: StubServer) -> None:
    stub.state.sessions = [session_at(now() + timedelta(minutes=5), status="live")]
    stub.state.room_snapshot = room_with_self(held=False)
    context = browser.new_context(viewport=DESKTOP, locale="en-GB")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sent = sent_commands(page)
    page.goto(f"{stub.url}/app/")
    page.get_by_test_id("join-listen").click()
    page.locator('[data-testid="room"][data-state="joined"]').wait_for()

    mic = page.get_by_test_id("mic")
    cam = page.get_by_test_id("cam")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=mic]').dataset.state === 'turn-on'"
    )
    assert mic.inner_text() == "Turn on microphone"
    assert cam.inner_text() == "Turn on camera"
    assert mic.is_enabled()
    assert cam.get_attribute("data-state") == "turn-on"
    assert not page.get_by_test_id("listen-note").is_visible()

    mic.click()
    # The fake microphone is live and the client asked the server to unmute (announced once
    # the server answered, so the frame has been sent by then).
    page.wait_for_function(
        "() => document.querySelector('[data-testid=mic]').dataset.state === 'live'"
    )
    page.wait_for_function(
        "() => document.getElementById('announcer').textContent.includes('Your microphone is on.')"
    )
    assert ("mic.set", {"muted": False}) in sent, sent
    assert mic.inner_text() == "Mute microphone"
    storage = page.evaluate("() => JSON.parse(sessionStorage.getItem('circle.rejoin'))")
    assert storage["mode"] == "audio", storage

    cam.click()
    page.wait_for_function(
        "() => ['on', 'off'].includes(document.querySelector('[data-testid=cam]').dataset.state)"
    )
    page.wait_for_function(
        "() => document.getElementById('announcer').textContent.includes('Your camera is on.')"
    )
    assert ("cam.set", {"off": False}) in sent, sent
    storage = page.evaluate("() => JSON.parse(sessionStorage.getItem('circle.rejoin'))")
    assert storage["mode"] == "full", storage
    assert axe_violations(page, "room-turned-on") == []
    screenshot(page, "room-turned-on")
    assert errors == []
    context.close()


def test_listen_only_member_held_by_the_room_gets_the_explanation(
    browser: Any, stub: StubServer
) -> None:
    stub.state.sessions = [session_at(now() + timedelta(minutes=5), status="live")]
    stub.state.room_snapshot = room_with_self(held=True)
    stub.state.me = {**stub.state.me, "locale": "fa"}
    page = open_page(browser, f"{stub.url}/app/", DESKTOP, locale="fa-IR")
    page.get_by_test_id("join-listen").click()
    page.locator('[data-testid="room"][data-state="joined"]').wait_for()
    mic = page.get_by_test_id("mic")
    note = page.get_by_test_id("listen-note")
    note.wait_for()
    assert "شما فقط گوش می‌دهید" in note.inner_text()
    assert mic.get_attribute("data-state") == "none"
    assert mic.is_disabled()
    assert mic.get_attribute("aria-describedby") == "listen-note"
    assert not page.get_by_test_id("held-note").is_visible()
    # The camera is not held by any rule: it can still be turned on.
    assert page.get_by_test_id("cam").get_attribute("data-state") == "turn-on"
    assert axe_violations(page, "room-listen-held-fa") == []
    screenshot(page, "room-listen-held-fa")
    assert page.errors == []
    page.context.close()
