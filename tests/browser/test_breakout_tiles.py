"""While the room is split into breakout groups, the gallery says who is elsewhere (issue 15):
tiles of people not in my group are dimmed and labelled "In another group" (or "In the main
room", seen from a group), for members and the leader, in English and Persian; when everyone
is back the labels go. Against the scripted room of test_room_pages.py."""

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

AWAY = {
    "en": ("In another group", "In the main room"),
    "fa": ("در گروه دیگری است", "در اتاق اصلی است"),
}


def away_of(page: Any) -> dict[str, str]:
    """person id -> the tile's away state ("" when with me), and its overlay's text."""
    return dict(
        page.evaluate(
            """() => [...document.querySelectorAll('[data-testid=gallery] .tile')].map((t) => [
                 t.dataset.person,
                 t.dataset.away ? t.dataset.away + ':' + t.querySelector('.tile-overlay').innerText
                                : (t.querySelector('.tile-overlay').hidden ? '' : 'overlay!'),
               ])"""
        )
    )


@pytest.mark.parametrize("locale", ["en", "fa"])
def test_tiles_of_people_in_other_groups_are_dimmed_and_labelled(
    browser: Any, rs: RoomServer, locale: str
) -> None:
    other, main = AWAY[locale]
    room = rs.room
    room.phase = "questions"
    room.people["2"].present = False  # left: no tile
    room.breakouts = [["3", "4"]]
    in_group = person_page(browser, rs, "3", DESKTOP, locale)
    join(in_group)
    in_main = person_page(browser, rs, "5", DESKTOP, locale)
    join(in_main)
    leader = person_page(browser, rs, "1", DESKTOP, locale)
    join(leader)
    seen_by_group = {
        "1": f"main:{main}",
        "3": "",
        "4": "",
        "5": f"main:{main}",
    }
    seen_by_main = {"1": "", "3": f"group:{other}", "4": f"group:{other}", "5": ""}
    for page, want in ((in_group, seen_by_group), (in_main, seen_by_main), (leader, seen_by_main)):
        page.wait_for_function(
            "() => document.querySelectorAll('[data-testid=gallery] .tile[data-away=group], "
            "[data-testid=gallery] .tile[data-away=main]').length >= 2"
        )
        assert away_of(page) == want
    tile = in_main.locator('[data-testid=gallery] .tile[data-person="3"]')
    assert other in (tile.get_attribute("aria-label") or "")
    opacity = tile.locator(".avatar").evaluate("(e) => getComputedStyle(e).opacity")
    assert float(opacity) < 0.5
    clean(in_group, f"breakout-tiles-group-{locale}")
    clean(in_main, f"breakout-tiles-main-{locale}")

    # Everyone back: nobody is elsewhere.
    room.breakouts = None
    rs.run(rs.broadcast())
    for page in (in_group, in_main, leader):
        page.wait_for_function("() => !document.querySelector('[data-testid=gallery] .tile.away')")
        assert set(away_of(page).values()) == {""}
    for p in (in_group, in_main, leader):
        p.context.close()
