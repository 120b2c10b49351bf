"""The pathways page in headless Chromium against the real server, on a phone: the peer-support
offer in English and in Persian (right to left): accepting needs the consent box, a decline may
carry a reason and a note, the answer is stored, somebody else's offer is not shown; the
message to the leaders and the self-help host's meeting report (which will not go without "no
case details"); axe finds no serious violations."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from server.db.engine import Database
from server.db.hosts import SessionHost
from server.db.models import Group, Membership, ScheduledSession
from server.domain import GroupRole, ProtocolKind, SessionStatus
from server.pathways.models import LeaderMessage, MeetingReport, OfferStatus, PeerOffer
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


async def _self_help_meeting(url: str, w: World) -> tuple[int, int]:
    """A self-help group of three of the seeded members, with a held session m0 hosted."""

    db = Database(url)
    try:
        async with db.sessionmaker() as s, s.begin():
            g = Group(
                organisation_id=w.org_id,
                name="Self-help B",
                protocol=ProtocolKind.SELF_HELP,
                capacity=12,
                min_members=3,
                settings={},
            )
            s.add(g)
            await s.flush()
            for pid in w.member_ids[:3]:
                s.add(Membership(group_id=g.id, person_id=pid, role=GroupRole.MEMBER))
            sess = ScheduledSession(
                group_id=g.id,
                starts_at=datetime.now(UTC),
                timezone="UTC",
                duration_minutes=90,
                status=SessionStatus.ENDED,
            )
            s.add(sess)
            await s.flush()
            s.add(SessionHost(session_id=sess.id, person_id=w.member_ids[0]))
            assert await s.scalar(select(Group.id).where(Group.id == g.id)) == g.id
            return g.id, sess.id
    finally:
        await db.dispose()


async def _rows(url: str, model: Any) -> list[Any]:
    db = Database(url)
    try:
        async with db.sessionmaker() as s:
            return list(await s.scalars(select(model)))
    finally:
        await db.dispose()


def test_message_to_the_leaders_and_the_meeting_report(
    browser: Any, server: tuple[Server, World, int]
) -> None:
    srv, w, _ = server
    m0, m1 = w.member_ids[0], w.member_ids[1]
    context, page, errors = _page(browser, srv, m0, "en")

    page.goto(f"{srv.url}/app/pathways.html?lang=en#message={w.group_id}")
    page.get_by_role("heading", name="Write to your group's leaders").wait_for()
    assert "never the other members" in page.get_by_test_id("message-form").inner_text()
    page.get_by_label("Your message").fill("Could we talk before Thursday?")
    page.get_by_role("button", name="Send to the leaders").click()
    page.locator("#msg-status").filter(has_text="The leaders have been told").wait_for()
    (msg,) = srv.run(_rows(srv.db_url, LeaderMessage))
    assert msg.sender_id == m0 and msg.body == "Could we talk before Thursday?"
    assert axe_violations(page, "pathways-message-en") == []

    _, session_id = srv.run(_self_help_meeting(srv.db_url, w))
    page.goto(f"{srv.url}/app/pathways.html?lang=en#report={session_id}")
    page.get_by_role("heading", name="Meeting report").wait_for()
    page.get_by_label("What was covered").fill("Sleep after night shifts; asking for help.")
    page.get_by_label("Member 0").check()
    page.get_by_label("Member 1").check()
    assert axe_violations(page, "pathways-report-en") == []
    # The form will not go without the host's "no case details".
    page.get_by_role("button", name="File the report").click()
    assert srv.run(_rows(srv.db_url, MeetingReport)) == []
    page.get_by_label("This report holds no case details").check()
    page.get_by_role("button", name="File the report").click()
    page.get_by_role("status").filter(has_text="The report is filed").wait_for()
    (report,) = srv.run(_rows(srv.db_url, MeetingReport))
    assert report.host_id == m0 and sorted(report.attendance) == sorted([m0, m1])
    assert errors == []
    context.close()
