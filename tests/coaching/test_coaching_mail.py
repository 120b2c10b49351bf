"""After a workshop each person offered the coaching call gets one notice through the outbox
(in their language; the coach, the call's length and how to say no), nobody else does, and
making the offers again mails nobody twice."""

from __future__ import annotations

from server.coaching.service import offer_after_workshop
from server.db.engine import Database
from server.db.models import Group, Person
from server.notify.mailer import OutboxNotifier
from server.notify.models import OutboxMessage
from server.notify.templates import Kind, render
from tests.coaching.test_coaching import after_workshop  # noqa: F401 (the fixture)
from tests.signaling.conftest import Server


async def test_each_offered_person_is_mailed_once_and_nobody_else(
    after_workshop: Server,  # noqa: F811
) -> None:
    server = after_workshop
    w = server.world
    mails = [m for m in await server.db_rows(OutboxMessage) if m.kind == "coaching_offer"]
    # The three who took part; not the absent member, not the leader (the coach).
    assert sorted(m.person_id for m in mails) == sorted(w.members[:3])
    people = {p.id: p for p in await server.db_rows(Person)}
    group = (await server.db_rows(Group, id=w.group_id))[0]
    for m in mails:
        person = people[m.person_id]
        assert m.to_address == person.email
        assert m.organisation_id == group.organisation_id
        assert m.locale == "en"
        assert m.subject == f"A coaching call is offered to you after {group.name}"
        assert "coaching call of 60 minutes with Leader" in m.body
        assert f"Dear {person.display_name}," in m.body
        assert "No, thank you" in m.body and "/app/" in m.body
    # The room's end may be heard again (another process, a restart): no second mail.
    db = Database(w.db_url)
    try:
        assert await offer_after_workshop(db, w.session_id, OutboxNotifier(), "http://x") == 0
    finally:
        await db.dispose()
    again = [m for m in await server.db_rows(OutboxMessage) if m.kind == "coaching_offer"]
    assert len(again) == 3


def test_the_offer_reads_in_persian_and_dutch() -> None:
    values = {
        "name": "Sara",
        "group": "Workshop",
        "minutes": 60,
        "coach": "Dr. Rahimi",
        "days": 14,
        "link": "https://circle.example/app/",
    }
    fa = render(Kind.COACHING_OFFER, "fa", **values)
    nl = render(Kind.COACHING_OFFER, "nl", **values)
    assert fa[0] == "پس از Workshop یک جلسهٔ مربیگری به شما پیشنهاد می‌شود"
    assert "مربیگری فردی 60 دقیقه‌ای با Dr. Rahimi" in fa[1] and "«نه، متشکرم»" in fa[1]
    assert nl[0] == "Na Workshop krijg je een coachingsgesprek aangeboden"
    assert "coachingsgesprek van 60 minuten met Dr. Rahimi" in nl[1]
    assert '"Nee, dank je"' in nl[1] and "https://circle.example/app/" in nl[1]
