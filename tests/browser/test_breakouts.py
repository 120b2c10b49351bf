"""The breakout flow in real Chromium (fake camera and microphone) against the real server and
its forwarding unit, in English and Persian: the leader of a workshop reaches case work, a
breakout of one person is refused with the field named, the automatic split puts the two
members together (each page says who is with you and the time left, in its language), the
leader in the main room stops receiving the group's audio, and bringing everyone back restores
it and tells everyone."""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import select, update

from server.db.engine import Database
from server.db.models import Group, ScheduledSession
from server.domain import ProtocolKind
from tests.browser.live import LiveServer
from tests.browser.support import DESKTOP
from tests.browser.test_e2e_balint import Person, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.media, pytest.mark.slow, pytest.mark.timeout(600)]

PERSIAN_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


async def make_workshop(db_url: str, session_id: int) -> None:
    db = Database(db_url)
    try:
        async with db.sessionmaker() as s, s.begin():
            group_id = await s.scalar(
                select(ScheduledSession.group_id).where(ScheduledSession.id == session_id)
            )
            await s.execute(
                update(Group)
                .where(Group.id == group_id)
                .values(protocol=ProtocolKind.WORKSHOP, settings={}, min_members=1)
            )
            await s.execute(
                update(ScheduledSession)
                .where(ScheduledSession.id == session_id)
                .values(duration_minutes=210)
            )
    finally:
        await db.dispose()


def test_breakout_flow_in_english_and_persian(browser: Any, live_server: LiveServer) -> None:
    cast = live_server.start(members=2, locales={1: "fa"})
    live_server.run(make_workshop(live_server.db_url, cast.session_id))
    names = cast.names
    leader = Person(
        browser,
        live_server,
        cast.leader,
        names[cast.leader],
        locale="en",
        viewport=DESKTOP,
        tag="ws-leader",
    )
    m_en = Person(
        browser,
        live_server,
        cast.members[0],
        names[cast.members[0]],
        locale="en",
        viewport=DESKTOP,
        tag="ws-member-en",
    )
    m_fa = Person(
        browser,
        live_server,
        cast.members[1],
        names[cast.members[1]],
        locale="fa",
        viewport=DESKTOP,
        tag="ws-member-fa",
    )
    everyone = [leader, m_en, m_fa]
    for p in everyone:
        p.join()
    for p in everyone:
        wait_until(lambda p=p: p.page.locator("li.tile").count() == 3, what=f"tiles at {p.tag}")
    wait_until(lambda: leader.packets(m_en.id, "audio") > 0, timeout=30, what="audio at leader")

    for _ in range(2):
        was = leader.phase()
        leader.page.get_by_test_id("console-advance").click()
        wait_until(lambda was=was: leader.phase() != was, what=f"the phase after {was}")
    for p in everyone:
        wait_until(lambda p=p: p.phase() == "case_work_1", what=f"case work at {p.tag}")
    assert leader.page.get_by_test_id("phase-title").inner_text() == "Case work"
    assert m_fa.page.get_by_test_id("phase-title").inner_text() == "کار روی مورد"
    # The controls are the leader's; members see no panel until the room is split.
    panel = leader.page.get_by_test_id("breakouts")
    panel.wait_for()
    assert not m_en.page.get_by_test_id("breakouts").is_visible()

    # A breakout of one person: refused, the field named, nothing changes.
    leader.page.locator(
        f'[data-testid="breakout-assign"] select[data-person="{m_en.id}"]'
    ).select_option("0")
    leader.page.get_by_test_id("breakout-manual").click()
    error = leader.page.get_by_test_id("breakout-error")
    error.wait_for()
    assert "groups[0]" in error.inner_text()
    assert panel.get_attribute("data-split") == "no"
    assert not m_en.page.get_by_test_id("breakouts").is_visible()

    # Split automatically (3 per group by default): the two members together.
    leader.page.get_by_test_id("breakout-auto").click()
    en_status = m_en.page.get_by_test_id("breakout-status")
    fa_status = m_fa.page.get_by_test_id("breakout-status")
    wait_until(lambda: "You are in group 1 with" in en_status.inner_text(), what="en status")
    assert m_fa.name in en_status.inner_text()
    one = "1".translate(PERSIAN_DIGITS)
    wait_until(lambda: f"شما در گروه {one} هستید با" in fa_status.inner_text(), what="fa status")
    assert m_en.name in fa_status.inner_text()
    assert "left in the groups" in m_en.page.get_by_test_id("breakout-left").inner_text()
    assert "تا پایان کار گروهی" in m_fa.page.get_by_test_id("breakout-left").inner_text()
    wait_until(
        lambda: "main room" in leader.page.get_by_test_id("breakout-status").inner_text(),
        what="leader in the main room",
    )
    leader.page.get_by_test_id("breakout-close").wait_for()
    # nor is anyone of the group shown to the leader as speaking
    wait_until(
        lambda: all("Speaking" not in leader.tile(m.id).inner_text() for m in (m_en, m_fa)),
        what="no speaker from the groups at the leader",
    )
    for p in everyone:
        p.shot("breakouts-split")

    # Media follows: the leader (main room) receives nothing of the group's audio; the two
    # members still hear each other.
    time.sleep(1.0)  # packets already on the wire
    before = leader.packets(m_en.id, "audio"), leader.packets(m_fa.id, "audio")
    inside = m_fa.packets(m_en.id, "audio")
    time.sleep(2.5)
    assert (leader.packets(m_en.id, "audio"), leader.packets(m_fa.id, "audio")) == before
    assert m_fa.packets(m_en.id, "audio") > inside

    # The leader visits the group: the members' pages name them, and they hear the group.
    leader.page.locator(
        f'[data-testid="breakout-assign"] select[data-person="{leader.id}"]'
    ).select_option("0")
    wait_until(
        lambda: (
            "You are in group 1 with" in leader.page.get_by_test_id("breakout-status").inner_text()
        ),
        what="leader in group 1",
    )
    wait_until(lambda: leader.name in en_status.inner_text(), what="the visit shown to members")
    visiting = leader.packets(m_en.id, "audio")
    wait_until(
        lambda: leader.packets(m_en.id, "audio") > visiting + 20,
        timeout=15,
        what="the visiting leader hears the group",
    )
    before = leader.packets(m_en.id, "audio"), leader.packets(m_fa.id, "audio")

    # Everyone back: the panel goes, the pages say so, the leader hears them again.
    leader.page.get_by_test_id("breakout-close").click()
    for p in (m_en, m_fa):
        wait_until(
            lambda p=p: not p.page.get_by_test_id("breakouts").is_visible(), what=f"back {p.tag}"
        )
    m_en.page.get_by_text("Everyone is back in the main room.").first.wait_for()
    m_fa.page.get_by_text("همه به اتاق اصلی بازگشتند.").first.wait_for()
    wait_until(
        lambda: leader.packets(m_en.id, "audio") > before[0] + 20,
        timeout=15,
        what="the leader hears the members again",
    )
    for p in everyone:
        assert not p.errors, (p.tag, p.errors)
        p.shot("breakouts-back")
