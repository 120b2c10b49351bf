"""The coaching call offered after a workshop, on the member's session list in headless
Chromium against the real server, in English and Persian: the offer says it is optional and
who coaches; one click declines it, and the server holds the decline."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from server.coaching.models import CoachingOffer, OfferStatus
from server.db.engine import Database
from tests.browser.support import DESKTOP, screenshot
from tests.browser.test_attendance import _open
from tests.browser.test_coordinator import Server
from tests.foundation.seed import World

pytestmark = pytest.mark.browser

TEXT = {
    "en": ("It is optional.", "No, thank you", "You declined the coaching call."),
    "fa": ("شرکت در آن اختیاری است.", "نه، متشکرم", "شما جلسهٔ مربیگری را نپذیرفتید."),
}


async def offer(url: str, w: World, person_id: int) -> int:
    db = Database(url)
    try:
        async with db.sessionmaker() as s, s.begin():
            row = CoachingOffer(
                workshop_session_id=w.session_id,
                person_id=person_id,
                coach_id=w.leader_id,
                status=OfferStatus.OFFERED,
            )
            s.add(row)
            await s.flush()
            return row.id
    finally:
        await db.dispose()


async def status_of(url: str, offer_id: int) -> OfferStatus:
    db = Database(url)
    try:
        async with db.sessionmaker() as s:
            row = await s.scalar(select(CoachingOffer).where(CoachingOffer.id == offer_id))
            assert row is not None
            return row.status
    finally:
        await db.dispose()


@pytest.fixture
def server(tmp_path: Path, built_client: Path) -> Iterator[tuple[Server, World]]:
    srv = Server(tmp_path, built_client)
    world = srv.start()
    yield srv, world
    srv.stop()


@pytest.mark.parametrize("locale", ["en", "fa"])
def test_the_offer_is_shown_and_declined_in_one_click(
    browser: Any, server: tuple[Server, World], locale: str
) -> None:
    srv, w = server
    me = w.member_ids[0]
    offer_id = srv.run(offer(srv.db_url, w, me))
    optional, decline, declined = TEXT[locale]
    context = _open(browser, srv, me, DESKTOP, locale)
    page = context.new_page()
    try:
        page.goto(f"{srv.url}/app/?list=1")
        panel = page.get_by_test_id("coaching")
        panel.wait_for()
        assert optional in panel.inner_text()
        button = page.get_by_test_id(f"coaching-decline-{offer_id}")
        assert button.inner_text() == decline
        button.click()
        page.get_by_text(declined).wait_for()
        assert page.get_by_test_id(f"coaching-decline-{offer_id}").count() == 0
        assert srv.run(status_of(srv.db_url, offer_id)) is OfferStatus.DECLINED
        screenshot(page, f"coaching-declined-{locale}")
    finally:
        context.close()


def test_no_offers_no_panel(browser: Any, server: tuple[Server, World]) -> None:
    srv, w = server
    context = _open(browser, srv, w.member_ids[1], DESKTOP, "en")
    page = context.new_page()
    try:
        page.goto(f"{srv.url}/app/?list=1")
        page.get_by_test_id("sessions").wait_for()
        page.wait_for_load_state("networkidle")
        assert not page.get_by_test_id("coaching").is_visible()
    finally:
        context.close()
