"""Answering through REST: the one-click link (single use, never somebody else's), save after
every answer with values checked against the scale, resume signed in elsewhere, submit only when
complete, the safety rule reaching the leaders (and nobody else), own scores only, consent and
mail opt-out."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from server.db.engine import Database
from server.notify.models import OutboxMessage
from tests.conftest import Live
from tests.foundation.seed import PASSWORD, seed

from .forms_seed import mailed_links, open_pre_forms

PLAN = {
    "pre": {"instruments": ["phq9", "who5"], "close_days": None},
    "post": {"instruments": ["phq9"], "reminder_days": [3, 7], "close_days": 14},
    "followup": {"instruments": ["phq9"], "close_days": 14},
    "checkin": {"enabled": False, "instruments": ["checkin"], "close_days": 2},
}


async def _login(live: Live, api_factory: Any, email: str) -> Any:
    api = api_factory(live)
    status, _ = await api.post("/api/auth/login", {"email": email, "password": PASSWORD})
    assert status == 200
    return api


async def _put(api: Any, path: str, body: Any, **kw: Any) -> tuple[int, Any]:
    status, got = await api.call("PUT", path, body, **kw)
    return int(status), got


async def _audit(url: str, action: str) -> list[Any]:
    from server.db.models import AuditEntry as Entry

    db = Database(url)
    try:
        async with db.sessionmaker() as s:
            return list(await s.scalars(select(Entry).where(Entry.action == action)))
    finally:
        await db.dispose()


async def test_answer_by_link_resume_signed_in_and_submit(
    live_sqlite: Live, sqlite_url: str, api_factory: Any
) -> None:
    w = await seed(sqlite_url, members=3, session_in_minutes=120)
    coord = await _login(live_sqlite, api_factory, "coord@test.example")
    status, err = await _put(
        coord,
        f"/api/series/{w.series_id}/questionnaires",
        {**PLAN, "pre": {"instruments": ["phq9", "nosuch"], "close_days": None}},
    )
    assert status == 400 and "pre.instruments" in err["error"]["details"]["fields"], err
    status, plan = await _put(coord, f"/api/series/{w.series_id}/questionnaires", PLAN)
    assert status == 200 and plan["pre"]["instruments"] == ["phq9", "who5"]
    m0, m1 = w.member_ids[0], w.member_ids[1]
    await open_pre_forms(sqlite_url, w.session_id, [m0, m1])
    (token,) = await mailed_links(sqlite_url, m0)
    (token_m1,) = await mailed_links(sqlite_url, m1)
    # The coordinator's outbox never shows a form link.
    status, outbox = await coord.get(f"/api/organisations/{w.org_id}/outbox")
    forms_mail = [m for m in outbox if m["kind"] == "form_open"]
    assert status == 200 and len(forms_mail) == 2
    assert all("#form=" not in m["body"] for m in forms_mail)

    # Somebody else, signed in, opens m0's link: refused, and the link is not spent.
    other = await _login(live_sqlite, api_factory, "m1@test.example")
    status, err = await other.post("/api/forms/redeem", {"token": token})
    assert status == 403 and err["error"]["code"] == "foreign_link"
    assert len(await _audit(sqlite_url, "form_link.redeem")) == 1

    # One click from the e-mail (not signed in): the link buys access to this one form.
    phone = api_factory(live_sqlite)
    status, got = await phone.post("/api/forms/redeem", {"token": token})
    assert status == 200, got
    form_id, access = got["form_id"], {"X-Form-Access": got["access"]}
    status, err = await api_factory(live_sqlite).post("/api/forms/redeem", {"token": token})
    assert status == 410 and err["error"]["code"] == "used"  # a replayed link opens nothing
    status, err = await phone.post("/api/forms/redeem", {"token": token + "x"})
    assert status == 401

    status, form = await phone.get(f"/api/forms/{form_id}?lang=fa", headers=access)
    assert status == 200, form
    assert [p["id"] for p in form["parts"]] == ["phq9", "who5"]
    phq9 = form["parts"][0]
    assert len(phq9["items"]) == 9 and phq9["items"][0]["lang"] == "en"  # no fa text in file
    assert [c["value"] for c in phq9["items"][0]["choices"]] == [0, 1, 2, 3]
    assert form["state"] == "open" and form["answered"] == 0 and form["required"] == 14

    # Bad answers name the field and change nothing.
    for body, field in (
        ({"instrument": "phq9", "item": "item_1", "value": 7}, "phq9.item_1"),
        ({"instrument": "phq9", "item": "item_1", "value": "2"}, "phq9.item_1"),
        ({"instrument": "phq9", "item": "item_99", "value": 1}, "phq9.item_99"),
        ({"instrument": "gad7", "item": "item_1", "value": 1}, "gad7"),
    ):
        status, err = await _put(phone, f"/api/forms/{form_id}/answers", body, headers=access)
        assert status == 400 and field in err["error"]["details"]["fields"], (body, err)
        assert field in err["error"]["message"]
    status, form = await phone.get(f"/api/forms/{form_id}", headers=access)
    assert form["answered"] == 0 and form["parts"][0]["answers"] == {}

    # Half the form, saved after every answer.
    for n in range(1, 8):
        status, saved = await _put(
            phone,
            f"/api/forms/{form_id}/answers",
            {"instrument": "phq9", "item": f"item_{n}", "value": 1},
            headers=access,
        )
        assert status == 200 and saved["answered"] == n and saved["help"] is None
    status, err = await phone.post(f"/api/forms/{form_id}/submit", headers=access)
    assert status == 409 and err["error"]["code"] == "incomplete"
    assert "phq9.item_8" in err["error"]["details"]["fields"]
    assert "who5.item_1" in err["error"]["details"]["fields"]

    # The access of one form opens no other; m1 signed in cannot read m0's form.
    status, mine = await other.post("/api/forms/redeem", {"token": token_m1})
    assert status == 200
    status, err = await phone.get(f"/api/forms/{mine['form_id']}", headers=access)
    assert status == 403
    status, err = await other.get(f"/api/forms/{form_id}")
    assert status == 403
    assert await _audit(sqlite_url, "form.read")

    # Resume on another device, signed in: the saved answers are there.
    laptop = await _login(live_sqlite, api_factory, "m0@test.example")
    status, listed = await laptop.get("/api/me/questionnaires")
    assert status == 200 and [(f["id"], f["answered"]) for f in listed] == [(form_id, 7)]
    status, form = await laptop.get(f"/api/forms/{form_id}")
    assert form["parts"][0]["answers"] == {f"item_{n}": 1 for n in range(1, 8)}

    # The safety item: help at once, the group's leaders told (never other members).
    status, saved = await _put(
        laptop,
        f"/api/forms/{form_id}/answers",
        {"instrument": "phq9", "item": "item_9", "value": 2},
    )
    assert status == 200 and saved["help"]["leaders_told"] is True
    assert "emergency" in saved["help"]["text"]
    leader = await _login(live_sqlite, api_factory, "leader@test.example")
    status, alerts = await leader.get(f"/api/groups/{w.group_id}/safety-alerts")
    assert status == 200 and [(a["person_id"], a["instrument"]) for a in alerts] == [(m0, "phq9")]
    status, _ = await other.get(f"/api/groups/{w.group_id}/safety-alerts")
    assert status == 403
    db = Database(sqlite_url)
    async with db.sessionmaker() as s:
        told = set(
            await s.scalars(
                select(OutboxMessage.person_id).where(OutboxMessage.kind == "safety_alert")
            )
        )
    await db.dispose()
    assert told == {w.leader_id, w.co_leader_id}

    rest = [("phq9", "item_8", 0)] + [("who5", f"item_{n}", 3) for n in range(1, 6)]
    for inst, item, value in rest:
        status, _ = await _put(
            laptop,
            f"/api/forms/{form_id}/answers",
            {"instrument": inst, "item": item, "value": value},
        )
        assert status == 200
    status, done = await laptop.post(f"/api/forms/{form_id}/submit")
    assert status == 200 and done["state"] == "submitted"
    status, err = await laptop.post(f"/api/forms/{form_id}/submit")
    assert status == 409 and err["error"]["code"] == "submitted"
    status, err = await _put(
        laptop,
        f"/api/forms/{form_id}/answers",
        {"instrument": "phq9", "item": "item_1", "value": 0},
    )
    assert status == 409

    # Own scores only.
    status, scores = await laptop.get("/api/me/scores")
    assert status == 200 and {x["instrument"] for x in scores} == {"phq9", "who5"}
    phq = next(x for x in scores if x["instrument"] == "phq9")
    assert phq["bands"][0]["label"] == "minimal" and len(phq["points"]) == 1
    status, theirs = await other.get("/api/me/scores")
    assert status == 200 and theirs == []


async def test_consent_and_mail_opt_out(
    live_sqlite: Live, sqlite_url: str, api_factory: Any
) -> None:
    await seed(sqlite_url, members=1)
    m0 = await _login(live_sqlite, api_factory, "m0@test.example")
    status, c = await m0.get("/api/me/research-consent")
    assert status == 200 and c["research"] is False
    status, c = await _put(m0, "/api/me/research-consent", {"research": True})
    assert status == 200 and c["research"] is True and c["withdrawn_at"] is None
    status, c = await _put(m0, "/api/me/research-consent", {"research": False})
    assert status == 200 and c["research"] is False and c["withdrawn_at"] is not None
    assert len(await _audit(sqlite_url, "research_consent.withdraw")) == 1
    status, err = await _put(m0, "/api/me/research-consent", {"research": "maybe"})
    assert status == 400 and "research" in err["error"]["message"]
    status, p = await _put(m0, "/api/me/questionnaire-mail", {"opted_out": True})
    assert status == 200 and p["opted_out"] is True
    status, p = await m0.get("/api/me/questionnaire-mail")
    assert p["opted_out"] is True


async def test_an_open_questionnaire_never_blocks_joining_the_session(
    live_sqlite: Live, sqlite_url: str, api_factory: Any
) -> None:
    w = await seed(sqlite_url, members=2, session_in_minutes=2)  # the lobby is open
    await open_pre_forms(sqlite_url, w.session_id, w.member_ids)
    m0 = await _login(live_sqlite, api_factory, "m0@test.example")
    status, listed = await m0.get("/api/me/questionnaires")
    assert status == 200 and [f["state"] for f in listed] == ["open"]
    status, token = await m0.post(f"/api/sessions/{w.session_id}/join-token")
    assert status == 201 and token["token"], token


async def test_withdrawing_consent_takes_answers_out_of_the_export_from_then_on(
    live_sqlite: Live, sqlite_url: str, api_factory: Any
) -> None:
    w = await seed(sqlite_url, members=1, session_in_minutes=120)
    coord = await _login(live_sqlite, api_factory, "coord@test.example")
    status, _ = await _put(
        coord,
        f"/api/series/{w.series_id}/questionnaires",
        {**PLAN, "pre": {"instruments": ["gad7"], "close_days": None}},
    )
    assert status == 200
    await open_pre_forms(sqlite_url, w.session_id, w.member_ids)
    m0 = await _login(live_sqlite, api_factory, "m0@test.example")
    status, (form,) = await m0.get("/api/me/questionnaires")
    for n in range(1, 8):
        status, _ = await _put(
            m0,
            f"/api/forms/{form['id']}/answers",
            {"instrument": "gad7", "item": f"item_{n}", "value": 2},
        )
        assert status == 200
    status, done = await m0.post(f"/api/forms/{form['id']}/submit")
    assert status == 200 and done["state"] == "submitted"

    async def exported() -> str:
        async with coord.http.get(
            f"{live_sqlite.url}/api/outcomes/export?series={w.series_id}&format=csv"
        ) as resp:
            assert resp.status == 200
            text: str = await resp.text()
            return text

    db = Database(sqlite_url)
    async with db.sessionmaker() as s:
        from server.questionnaires.models import ResearchCode

        code = await s.scalar(select(ResearchCode.code))
    await db.dispose()
    assert code is not None
    assert code not in await exported()  # no consent yet: answered for own benefit only
    status, _ = await _put(m0, "/api/me/research-consent", {"research": True})
    assert status == 200
    assert code in await exported()
    status, _ = await _put(m0, "/api/me/research-consent", {"research": False})
    assert status == 200
    assert code not in await exported()
    status, scores = await m0.get("/api/me/scores")  # still the member's own
    assert [x["points"][0]["total"] for x in scores] == [14.0]
