"""The peer-support offer page in headless Chromium against the real server, in English and in
Persian (right to left), on a phone: accepting needs the consent box, a decline may carry a
reason and a note, the answer is stored, somebody else's offer is not shown; axe finds no
serious violations."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from server.db.engine import Database
from server.pathways.models import OfferStatus, PeerOffer
from tests.browser.support import PHONE, axe_violations, screenshot
from tests.browser.test_coordinator import Server
from tests.foundation.seed import World, session_cookie

pytestmark = pytest.mark.browser


async def _offer(url: str, w: World) -> int:
    """An offer as a BAT result at or above the cut-off queues it (tests/pathways cover that)."""
    db = Database(url)
    try:
        async with db.sessionmaker() as s, s.begin():
            now = datetime.now(UTC)
            offer = PeerOffer(
                organisation_id=w.org_id,
                person_id=w.member_ids[0],
                instrument="bat",
                score=3.4,
                cutoff=2.59,
                status=OfferStatus.OFFERED,
                created_at=now,
                updated_at=now,
            )
            s.add(offer)
            await s.flush()
            return offer.id
    finally:
        await db.dispose()


async def _stored(url: str, offer_id: int) -> PeerOffer:
    db = Database(url)
    try:
        async with db.sessionmaker() as s:
            got = await s.get(PeerOffer, offer_id)
            assert got is not None
            return got
    finally:
        await db.dispose()


@pytest.fixture
def server(tmp_path: Path, built_client: Path) -> Iterator[tuple[Server, World, int]]:
    srv = Server(tmp_path, built_client, scheduler_enabled=False)
    world = srv.start()
    offer_id = srv.run(_offer(srv.db_url, world))
    yield srv, world, offer_id
    srv.stop()


def _page(browser: Any, srv: Server, person: int, locale: str) -> tuple[Any, Any, list[str]]:
    context = browser.new_context(
        viewport=PHONE, locale="fa-IR" if locale == "fa" else "en-GB", is_mobile=True
    )
    token = srv.run(session_cookie(srv.db_url, person))
    context.add_cookies([{"name": "circle_session", "value": token, "url": srv.url}])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    return context, page, errors


def test_accept_with_consent_in_english(browser: Any, server: tuple[Server, World, int]) -> None:
    srv, w, offer_id = server
    context, page, errors = _page(browser, srv, w.member_ids[0], "en")
    page.goto(f"{srv.url}/app/pathways.html?lang=en#offer={offer_id}")
    page.get_by_role("heading", name="An offer of peer support").wait_for()
    assert page.evaluate("document.documentElement.dir") == "ltr"
    assert "Nobody else sees this offer" in page.get_by_test_id("offer-body").inner_text()
    assert axe_violations(page, "pathways-offer-en") == []

    # Accepting without the consent box: told, nothing sent.
    page.get_by_test_id("offer-accept").click()
    page.locator("#offer-accept-msg").filter(has_text="tick the box").wait_for()
    assert srv.run(_stored(srv.db_url, offer_id)).status is OfferStatus.OFFERED
    page.get_by_label("I agree to be contacted to arrange a conversation").check()
    page.get_by_test_id("offer-accept").click()
    page.get_by_test_id("offer-state").filter(has_text="A coordinator will contact you").wait_for()
    stored = srv.run(_stored(srv.db_url, offer_id))
    assert stored.status is OfferStatus.ACCEPTED and stored.consent_contact
    screenshot(page, "pathways-offer-accepted-en")

    # Somebody else sees nothing of it.
    other, page2, _ = _page(browser, srv, w.member_ids[1], "en")
    page2.goto(f"{srv.url}/app/pathways.html?lang=en#offer={offer_id}")
    page2.get_by_test_id("page-message").filter(has_text="could not be found").wait_for()
    assert page2.get_by_test_id("offer-accept").count() == 0
    assert "Nobody else sees this offer" not in page2.locator("main").inner_text()
    other.close()
    assert errors == []
    context.close()


def test_decline_with_a_reason_in_persian(browser: Any, server: tuple[Server, World, int]) -> None:
    srv, w, offer_id = server
    context, page, errors = _page(browser, srv, w.member_ids[0], "fa")
    page.goto(f"{srv.url}/app/pathways.html?lang=fa#offer={offer_id}")
    page.get_by_role("heading", name="پیشنهاد حمایت همتا").wait_for()
    assert page.evaluate("document.documentElement.dir") == "rtl"
    assert page.evaluate("document.documentElement.lang") == "fa"
    assert axe_violations(page, "pathways-offer-fa") == []
    page.locator("#offer-reason").select_option("confidentiality")
    page.locator("#offer-note").fill("شاید بعداً")
    page.get_by_test_id("offer-decline").click()
    page.get_by_test_id("offer-state").filter(has_text="این پیشنهاد بسته شد").wait_for()
    screenshot(page, "pathways-offer-declined-fa")
    stored = srv.run(_stored(srv.db_url, offer_id))
    assert stored.status is OfferStatus.DECLINED
    assert stored.decline_reason is not None and stored.decline_reason.value == "confidentiality"
    assert stored.decline_note == "شاید بعداً" and not stored.consent_contact
    assert errors == []
    context.close()
