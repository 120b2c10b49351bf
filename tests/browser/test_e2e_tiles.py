"""The forwarding unit sends each tile the layers its size needs, as the page reports them.

Real Chromium pages (fake camera at 20 fps, L1T3 by default) against the real server. Two
members with cameras, A and B; the leader's page receives both. A becomes the presenter and
the session enters the presentation: the leader's page shows A large (the focus layout's
spotlight) and B small (the strip), tells the server so (``media.view``), and the unit gives
that page all of A's layers and layers 0-1 of B's: the page decodes A at the full rate and B
at about half. The leader then picks the grid (both tiles large): B climbs back to the full
rate. The tab is hidden: both drop to layer 0, a quarter. Frame rates come from the page's
own ``getStats()`` (framesDecoded over a window)."""

from __future__ import annotations

import functools
import time
from pathlib import Path
from typing import Any

import pytest

from server.media.layers import MAX_TID
from tests.browser.live import LiveServer
from tests.browser.test_e2e_balint import Person, desktop, wait_until
from tests.browser.test_e2e_layers import OUTBOUND_VIDEO, WINDOW_S

pytestmark = [pytest.mark.browser, pytest.mark.media, pytest.mark.slow, pytest.mark.timeout(300)]

HIDE_TAB = """
() => {
  Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "hidden" });
  document.dispatchEvent(new Event("visibilitychange"));
}
"""


def test_tile_sizes_choose_the_layers(browser: Any, live_server: LiveServer) -> None:
    cast = live_server.start(members=2)
    room_id = str(cast.session_id)
    a_id, b_id = cast.members
    leader = desktop(browser, live_server, cast, cast.leader, "leader-tiles")
    a = desktop(browser, live_server, cast, a_id, "a-tiles")
    b = desktop(browser, live_server, cast, b_id, "b-tiles")
    people: list[Person] = [leader, a, b]
    engine = live_server.engine

    def on_loop(fn: Any) -> Any:
        async def call() -> Any:
            return fn()

        return live_server.run(call())

    def caps() -> dict[str, int]:
        return dict(engine._rooms[room_id].participants[leader.id].link.tile_caps)

    def layer(publisher: Person) -> int | None:
        link = engine._rooms[room_id].participants[leader.id].link
        for d in link.downs:
            src = d.source
            if d.kind == "video" and src is not None and src.participant_id == publisher.id:
                return None if d.layers is None else int(d.layers.current)
        return None

    def frames(p: Person) -> int:
        return leader.inbound(p.id).get("video", {}).get("frames", 0)

    def sent(p: Person) -> int:
        out = p.page.evaluate(OUTBOUND_VIDEO)
        return out["frames"] if out else 0

    def rates(what: str) -> dict[str, float]:
        """Each publisher's encoded and the leader's decoded frame rates over one window,
        and what share of its frames the leader decodes (so a busy host slowing every
        page alike does not count as a layer)."""
        time.sleep(1.5)  # the decoder's rate settles after a switch
        counters: tuple[functools.partial[int], ...]
        counters = (functools.partial(sent, a), functools.partial(sent, b))
        counters += (functools.partial(frames, a), functools.partial(frames, b))
        start, t0 = [f() for f in counters], time.monotonic()
        time.sleep(WINDOW_S)
        end, span = [f() for f in counters], time.monotonic() - t0
        fps = [(e - s0) / span for s0, e in zip(start, end, strict=True)]
        out = {"a_sent": fps[0], "b_sent": fps[1], "a": fps[2], "b": fps[3]}
        out["a_share"] = fps[2] / max(fps[0], 0.1)
        out["b_share"] = fps[3] / max(fps[1], 0.1)
        layers = on_loop(lambda: (layer(a), layer(b)))
        print(
            f"{what}: "
            + ", ".join(f"{k} {v:.2f}" for k, v in out.items())
            + f"; layers {layers}, caps {on_loop(caps)}, load {Path('/proc/loadavg').read_text()[:14]}"
        )
        return out

    try:
        leader.join("join-audio")
        a.join()
        b.join()
        for p in (a, b):
            decodes = functools.partial(lambda who: frames(who) > 40, p)
            wait_until(decodes, 60, f"the leader decodes {p.tag}")
        out = a.page.evaluate(OUTBOUND_VIDEO)
        assert out is not None and out["mode"] == "L1T3", out  # on by default

        # A presents: the leader's page shows A large and B small.
        a.page.get_by_test_id("hand").click()
        leader.page.get_by_role("button", name=f"Accept as presenter ({a.name})").click()
        leader.page.get_by_test_id("console-advance").click()
        wait_until(lambda: leader.phase() == "presentation", what="presentation")
        leader.page.locator('[data-testid="gallery"][data-layout="focus"]').wait_for()
        wait_until(
            lambda: on_loop(caps) == {a.id: MAX_TID, b.id: 1}, 15, "A large, B small at the unit"
        )
        wait_until(lambda: on_loop(lambda: layer(b)) == 1, 10, "B on layers 0-1")
        focus = rates("focus layout (A large, B small)")
        # layers 0-1 are half the frames: B's share about half of A's
        assert 0.3 * focus["a_share"] <= focus["b_share"] <= 0.7 * focus["a_share"], focus

        # The grid: both tiles large, B back to every layer.
        leader.page.get_by_test_id("layout").click()
        leader.page.locator('[data-testid="gallery"][data-layout="grid"]').wait_for()
        wait_until(lambda: on_loop(caps) == {a.id: MAX_TID, b.id: MAX_TID}, 15, "both large")
        wait_until(lambda: on_loop(lambda: layer(b)) == MAX_TID, 15, "B on every layer")
        grid = rates("grid (both large)")
        assert grid["b_share"] >= 0.8 * grid["a_share"], grid

        # The tab is hidden: every tile hidden, layer 0 only.
        leader.page.evaluate(HIDE_TAB)
        wait_until(lambda: on_loop(caps) == {a.id: 0, b.id: 0}, 15, "both hidden")
        wait_until(lambda: on_loop(lambda: (layer(a), layer(b))) == (0, 0), 10, "layer 0")
        hidden = rates("tab hidden")
        # layer 0 is a quarter of the frames: both shares about a quarter of the grid's
        for who in ("a_share", "b_share"):
            assert 0.1 * grid[who] <= hidden[who] <= 0.45 * grid[who], (grid, hidden)
        assert all(p.errors == [] for p in people)
    finally:
        for p in people:
            p.context.close()
