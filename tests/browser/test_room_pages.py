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
from datetime import datetime, timedelta
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
    stand_in: str | None = None  # leader continuity: a co-leader leading (hand_over)
    breakouts: list[list[str]] | None = None  # the room split into breakout groups

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
            lead = ["lead"] if p.pid == self.stand_in else []
            return [*lead, "moderate", "note", "speak", "show_video"]
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
            "stand_in": self.stand_in,
            "lead_reason": "handed_over" if self.stand_in else None,
            "breakouts": None
            if self.breakouts is None
            else {
                "groups": self.breakouts,
                "started_at_ms": t,
                "ends_at_ms": t + 15 * 60_000,
                "remaining_ms": 15 * 60_000,
            },
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
        # A fixed start instead (a test that names the clock time it shows; one instant for
        # the page and the test, whatever minute the clock turns to between them).
        self.starts_at: datetime | None = None
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
            s = session_at(self.starts_at or now() + self.starts_in, status="open")
            s["role"] = PEOPLE[who(request)][1]
            s["series_id"] = "9"
            if self.agreement is not None:
                s["agreement"] = {**self.agreement, "accepted": who(request) in room.accepted}
            return web.json_response([s])

        async def join_token(request: web.Request) -> web.Response:
            return web.json_response({"token": f"tok-{who(request)}", "expires_at": iso(now())})

        sio = self.sio
        sio.attach(app)

        @sio.on("connect", namespace="/room")  # type: ignore[untyped-decorator]
        async def connect(sid: str, environ: Any, auth: Any) -> bool:
            token = auth.get("token", "") if isinstance(auth, dict) else ""
            pid = token.removeprefix("tok-")
            if pid not in room.people:
                return False
            room.sids[sid] = pid
            return True

        @sio.on("disconnect", namespace="/room")  # type: ignore[untyped-decorator]
        async def disconnect(sid: str, *args: Any) -> None:
            room.sids.pop(sid, None)

        @sio.on("*", namespace="/room")  # type: ignore[untyped-decorator]
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
        if cmd == "hand_over" and target in room.people:
            room.stand_in = None if room.people[target].role == "leader" else target
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


@pytest.fixture(name="rs")
def room_server(built_client: Path) -> Any:
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
    page.errors = errors
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
    assert page.errors == [], page.errors


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
        # Desktops too show the presenter large while presenting; the grid is a click away,
        # and the speaker view a click back.
        page.wait_for_function(
            "() => document.querySelector('[data-testid=gallery]').dataset.layout === 'focus'"
        )
        page.get_by_test_id("layout").click()
        assert gallery.get_attribute("data-layout") == "grid"
        assert page.get_by_test_id("layout").get_attribute("aria-pressed") == "false"
        assert page.locator(".gallery-grid li.tile").count() == 5
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
