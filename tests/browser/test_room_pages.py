"""The room's pages for members and leaders (issue 16, items 1-7), in Chromium against a
stand-in server: REST as in stub.py, and a /room namespace that keeps a small Balint room
(phase, presenter, hands, who has the floor, microphones held by the floor) and answers the
commands used here as the real server does, refusals with the real error codes. The protocol
itself is tested in tests/protocols and tests/signaling; the whole flow against the real server
is test_room_pages_flow.py. Screenshots and axe-core results go to artifacts/browser/
(git-ignored)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import socketio
from aiohttp import web

from server.api import headers
from server.appkeys import SETTINGS_KEY
from server.settings import Settings
from tests.browser.stub import iso, now, session_at
from tests.browser.support import DESKTOP, axe_violations, screenshot

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
ORDER = ["waiting", "presentation", "questions", "sit_back", "return", "open", "closed"]
LEADERS = {"leader", "co_leader"}
PEOPLE = {
    "1": ("Dr. Hanna Leader", "leader"),
    "2": ("Omid Co-leader", "co_leader"),
    "3": ("Sara Member", "member"),
    "4": ("Amir Rahimi", "member"),
    "5": ("Bea de Vries", "member"),
}


@dataclass
class Person:
    pid: str
    name: str
    role: str
    present: bool = True
    self_muted: bool = False
    camera_off: bool = False
    hand: bool = False


@dataclass
class Room:
    phase: str = "waiting"
    presenter: str | None = None
    called_on: str | None = None
    floor: str = "hands"
    hands: list[str] = field(default_factory=list)
    people: dict[str, Person] = field(default_factory=dict)
    version: int = 1
    sids: dict[str, str] = field(default_factory=dict)  # sid -> person
    events: list[tuple[str, str, Any]] = field(default_factory=list)  # (person, event, data)
    accepted: set[str] = field(default_factory=set)
    agreement_required: bool = False

    def held(self, p: Person) -> bool:
        if p.role in LEADERS:
            return False
        if self.phase == "presentation":
            return p.pid != self.presenter
        if self.phase == "sit_back":
            return p.pid == self.presenter
        if self.phase in ("questions", "return") and self.floor == "hands":
            return p.pid not in (self.presenter, self.called_on)
        return False

    def caps(self, p: Person) -> list[str]:
        if p.role == "leader":
            return ["lead", "moderate", "note", "speak", "show_video"]
        if p.role == "co_leader":
            return ["moderate", "note", "speak", "show_video"]
        return ["raise_hand", "show_video"] + ([] if self.held(p) else ["speak"])

    def snapshot(self, you: str) -> dict[str, Any]:
        t = int(now().timestamp() * 1000)
        return {
            "version": self.version,
            "server_time_ms": t,
            "session_id": "41",
            "protocol": "balint",
            "phases": ORDER,
            "phase": self.phase,
            "phase_started_at_ms": t,
            "phase_ends_at_ms": None if self.phase == "waiting" else t + 10 * 60_000,
            "remaining_ms": None if self.phase == "waiting" else 10 * 60_000,
            "paused": False,
            "overrun": False,
            "presenter_id": self.presenter,
            "floor": self.floor,
            "called_on": self.called_on,
            "hands": list(self.hands),
            "participants": [
                {
                    "person_id": p.pid,
                    "display_name": p.name,
                    "role": p.role,
                    "presence": "present" if p.present else "left",
                    "muted_by_rule": self.held(p),
                    "self_muted": p.self_muted,
                    "camera_off": p.camera_off,
                    "hand_raised": p.pid in self.hands,
                    "capabilities": self.caps(p),
                }
                for p in self.people.values()
            ],
            "you": {"person_id": you, "capabilities": self.caps(self.people[you])},
            "ended": self.phase == "closed",
        }


def refusal(code: str, message: str) -> dict[str, Any]:
    return {"ok": False, "error": {"code": code, "message": message}}


class RoomServer:
    """REST (/api/me by the `who` cookie, sessions, join tokens) and the scripted /room."""

    def __init__(self, dist: Path) -> None:
        self.dist = dist
        self.room = Room(people={pid: Person(pid, n, r) for pid, (n, r) in PEOPLE.items()})
        self.locales: dict[str, str] = {}
        self.starts_in = timedelta(minutes=4)
        self.agreement: dict[str, Any] | None = None
        self.url = ""
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.sio = socketio.AsyncServer(async_mode="aiohttp")

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    def sent(self, person: str, event: str) -> list[Any]:
        return [d for (p, e, d) in list(self.room.events) if p == person and e == event]

    async def broadcast(self) -> None:
        self.room.version += 1
        for sid, pid in list(self.room.sids.items()):
            await self.sio.emit("room.snapshot", self.room.snapshot(pid), to=sid, namespace="/room")

    def _app(self) -> web.Application:
        app = web.Application()
        app[SETTINGS_KEY] = Settings(public_url="http://127.0.0.1")
        headers.setup(app)
        room = self.room

        def who(request: web.Request) -> str:
            return request.cookies.get("who", "3")

        async def index(request: web.Request) -> web.StreamResponse:
            return web.FileResponse(self.dist / "index.html")

        async def me(request: web.Request) -> web.Response:
            pid = who(request)
            name, role = PEOPLE[pid]
            return web.json_response(
                {
                    "id": pid,
                    "display_name": name,
                    "email": f"p{pid}@example.org",
                    "locale": self.locales.get(pid, "en"),
                    "timezone": "Asia/Tehran"
                    if self.locales.get(pid) == "fa"
                    else "Europe/Amsterdam",
                    "roles": [],
                    "groups": [{"id": "5", "name": "Balint group: Tuesday", "role": role}],
                }
            )

        async def sessions(request: web.Request) -> web.Response:
            s = session_at(now() + self.starts_in, status="open")
            s["role"] = PEOPLE[who(request)][1]
            s["series_id"] = "9"
            if self.agreement is not None:
                s["agreement"] = {**self.agreement, "accepted": who(request) in room.accepted}
            return web.json_response([s])

        async def join_token(request: web.Request) -> web.Response:
            return web.json_response({"token": f"tok-{who(request)}", "expires_at": iso(now())})

        sio = self.sio
        sio.attach(app)

        @sio.on("connect", namespace="/room")  # type: ignore[misc]
        async def connect(sid: str, environ: Any, auth: Any) -> bool:
            token = auth.get("token", "") if isinstance(auth, dict) else ""
            pid = token.removeprefix("tok-")
            if pid not in room.people:
                return False
            room.sids[sid] = pid
            return True

        @sio.on("disconnect", namespace="/room")  # type: ignore[misc]
        async def disconnect(sid: str, *args: Any) -> None:
            room.sids.pop(sid, None)

        @sio.on("*", namespace="/room")  # type: ignore[misc]
        async def any_event(event: str, sid: str, data: Any = None) -> dict[str, Any]:
            pid = room.sids.get(sid, "")
            room.events.append((pid, event, data))
            reply = self.handle(pid, event, data if isinstance(data, dict) else {})
            if reply.get("ok") and event not in ("hello", "media.answer", "media.candidate"):
                await self.broadcast()
            return reply

        app.router.add_get("/app/", index)
        app.router.add_static("/app/assets/", self.dist / "assets")
        app.router.add_get("/api/me", me)
        app.router.add_get("/api/me/sessions", sessions)
        app.router.add_post("/api/sessions/{id}/join-token", join_token)
        return app

    def handle(self, pid: str, event: str, d: dict[str, Any]) -> dict[str, Any]:
        room = self.room
        p = room.people[pid]
        if event == "hello":
            need = self.agreement is not None and pid not in room.accepted
            return {
                "ok": True,
                "server_time_ms": int(now().timestamp() * 1000),
                "you": {"person_id": pid, "role": p.role, "display_name": p.name},
                "agreement": {
                    "required": need,
                    "version": (self.agreement or {}).get("version", "1"),
                    "text": "Group agreement (server text)",
                },
            }
        if event == "agreement.accept":
            room.accepted.add(pid)
            return {"ok": True, "version": d.get("version")}
        if event == "join":
            p.present = True
            return {"ok": True, "snapshot": room.snapshot(pid)}
        if event == "hand.raise":
            if pid in room.hands:
                return refusal("protocol", "your hand is already raised")
            room.hands.append(pid)
            return {"ok": True}
        if event == "hand.lower":
            room.hands = [h for h in room.hands if h != pid]
            return {"ok": True}
        if event == "mic.set":
            if not d.get("muted", True) and room.held(p):
                return refusal("protocol", "the room holds your microphone")
            p.self_muted = bool(d.get("muted"))
            return {"ok": True}
        if event == "cam.set":
            p.camera_off = bool(d.get("off"))
            return {"ok": True}
        if event == "protocol.command":
            return self.command(p, d)
        if event in ("media.answer", "media.candidate", "note.set"):
            return {"ok": True}
        return refusal("unknown_event", event)

    def command(self, p: Person, d: dict[str, Any]) -> dict[str, Any]:
        room = self.room
        cmd = d.get("command")
        caps = room.caps(p)
        need = "moderate" if cmd in ("call_on", "set_floor") else "lead"
        if need not in caps:
            return refusal("forbidden", f"{cmd} needs the {need} capability")
        target = str(d.get("person_id")) if d.get("person_id") is not None else None
        if cmd == "advance":
            nxt = ORDER[ORDER.index(room.phase) + 1]
            if nxt == "presentation" and room.presenter is None:
                return refusal(
                    "presenter_required",
                    f"advance is not possible in phase {room.phase}: choose a presenter first",
                )
            room.phase, room.called_on = nxt, None
            return {"ok": True}
        if cmd in ("set_presenter", "accept_hand"):
            if room.phase not in ("waiting", "presentation"):
                return refusal(
                    "presenter_locked",
                    f"{cmd} is not possible in phase {room.phase}: "
                    "the presenter is chosen before the presentation ends",
                )
            room.presenter = target
            room.hands = [h for h in room.hands if h != target]
            return {"ok": True}
        if cmd == "call_on":
            if d.get("clear"):
                room.called_on = None
                return {"ok": True}
            room.called_on = target
            room.hands = [h for h in room.hands if h != target]
            return {"ok": True}
        if cmd == "set_floor":
            room.floor = str(d.get("floor"))
            return {"ok": True}
        return refusal("protocol", f"{cmd} is not scripted")

    def start(self) -> None:
        self._thread.start()

        async def go() -> str:
            self._runner = web.AppRunner(self._app())
            await self._runner.setup()
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            await site.start()
            return f"http://127.0.0.1:{self._runner.addresses[0][1]}"

        self.url = self.run(go())

    def stop(self) -> None:
        async def down() -> None:
            for sid in list(self.room.sids):
                with contextlib.suppress(Exception):
                    await self.sio.disconnect(sid, namespace="/room")
            if self._runner is not None:
                await self._runner.cleanup()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(down(), self._loop).result(15)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        # Socket.IO's ping and writer tasks outlive closed pages: end them before closing.
        tasks = asyncio.all_tasks(self._loop)
        for t in tasks:
            t.cancel()
        with contextlib.suppress(Exception):
            self._loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
        self._loop.close()


@pytest.fixture
def rs(built_client: Path) -> Any:
    server = RoomServer(built_client)
    server.start()
    yield server
    server.stop()


def person_page(
    browser: Any, rs: RoomServer, pid: str, viewport: dict[str, int], locale: str = "en"
) -> Any:
    rs.locales[pid] = locale
    context = browser.new_context(viewport=viewport, locale="fa-IR" if locale == "fa" else "en-GB")
    context.add_cookies([{"name": "who", "value": pid, "url": rs.url}])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{rs.url}/app/")
    page.errors = errors  # type: ignore[attr-defined]
    return page


def join(page: Any, how: str = "join-full") -> None:
    button = page.get_by_test_id(how)
    button.wait_for()
    page.wait_for_function(
        f"() => !document.querySelector('[data-testid={how}]').disabled", timeout=15_000
    )
    button.click()
    page.locator('[data-testid="room"][data-state="joined"]').wait_for()


def announced(page: Any, text: str) -> None:
    page.wait_for_function(
        "(t) => document.getElementById('announcer').textContent.includes(t)", arg=text
    )


def boxes_overlap(a: dict[str, float] | None, b: dict[str, float] | None) -> bool:
    assert a is not None and b is not None
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


def clean(page: Any, name: str) -> None:
    screenshot(page, name)
    assert axe_violations(page, name) == []
    assert page.errors == [], page.errors  # type: ignore[attr-defined]


# ---- 1. the focus layout ----------------------------------------------------------------


@pytest.mark.parametrize(("size", "locale"), [("phone", "en"), ("phone", "fa"), ("desktop", "en")])
def test_focus_layout_spotlights_the_presenter_without_clipping(
    browser: Any, rs: RoomServer, size: str, locale: str
) -> None:
    room = rs.room
    room.phase, room.presenter = "presentation", "4"
    page = person_page(browser, rs, "3", PHONE if size == "phone" else DESKTOP, locale)
    join(page)
    gallery = page.get_by_test_id("gallery")
    if size == "desktop":
        # Desktops start in the grid and can choose the speaker view.
        assert gallery.get_attribute("data-layout") == "grid"
        page.get_by_test_id("layout").click()
    page.wait_for_function(
        "() => document.querySelector('[data-testid=gallery]').dataset.layout === 'focus'"
    )
    spot = page.locator('[data-testid="spotlight"] li.tile')
    assert spot.count() == 1 and spot.get_attribute("data-person") == "4"
    assert page.locator('[data-testid="strip"] li.tile').count() == 4
    # The spotlight is the largest tile by far, and the strip is below it.
    big = spot.bounding_box()
    small = page.locator('[data-testid="strip"] li.tile').first.bounding_box()
    assert big is not None and small is not None
    assert big["width"] * big["height"] > 3 * small["width"] * small["height"], (big, small)
    # Badges are icons with their text for screen readers; the tile's summary says it all.
    held = page.locator('li.tile[data-person="5"] .badge-mutedbyroom')
    assert held.locator(".sr-only").count() == 1
    label = page.locator('li.tile[data-person="5"]').get_attribute("aria-label") or ""
    assert ("Mic off by the room" if locale == "en" else "میکروفون را اتاق بسته است") in label
    # No name is clipped inside its tile: every caption fits within its tile.
    clipped = page.evaluate(
        """() => [...document.querySelectorAll('li.tile')].filter(t => {
             const n = t.querySelector('.tile-name');
             return n.scrollWidth > n.clientWidth + 1 || n.getBoundingClientRect().right > t.getBoundingClientRect().right + 1
               || n.getBoundingClientRect().left < t.getBoundingClientRect().left - 1;
           }).map(t => t.dataset.person)"""
    )
    assert clipped == []
    if size == "phone":
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= PHONE["width"], width
        # Tiles are focusable.
        page.locator('li.tile[data-person="4"]').focus()
        assert page.evaluate("() => document.activeElement.dataset.person") == "4"
    # The return phase spotlights the presenter again, even when someone else speaks.
    room.phase = "return"
    rs.run(rs.broadcast())
    page.wait_for_function(
        "() => document.querySelector('[data-testid=room]').dataset.phase === 'return'"
    )
    assert page.locator('[data-testid="spotlight"] li.tile').get_attribute("data-person") == "4"
    clean(page, f"room16-focus-{size}-{locale}")
    page.context.close()


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

    rs.starts_in = timedelta(minutes=4, seconds=30)
    rs.room.people["4"].present = False
    member = person_page(browser, rs, "3", PHONE, locale)
    join(member)
    leader = person_page(browser, rs, "1", DESKTOP, locale)
    join(leader)
    start = session_at(now() + rs.starts_in)["starts_at"]
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
