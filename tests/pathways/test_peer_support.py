"""Peer support as a pathway, end to end through the real server's REST: a BAT result at or
above the cut-off queues one offer (and nothing below it), seen by its person only; opt-in needs
consent; matching suggests trained peers of the same profession from another department and
refuses the colleague themself and their own department; one to three conversations, one at a
time within the window, a fourth refused; evaluations once per side."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.conftest import Live
from tests.foundation.seed import seed

from .helpers import answer_bat, end_session, login, outbox, refusals, set_people

PLAN = {
    "pre": {"instruments": ["bat"], "close_days": None},
    "post": {"instruments": ["bat"], "reminder_days": [3, 7], "close_days": 14},
    "followup": {"instruments": ["bat"], "close_days": 14},
    "checkin": {"enabled": False, "instruments": ["checkin"], "close_days": 2},
}


def _day(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).date().isoformat()


async def test_bat_offer_match_and_conversations(live: Live, db_url: str, api_factory: Any) -> None:
    """On SQLite and on PostgreSQL."""
    url = db_url
    w = await seed(url, members=4, session_in_minutes=120)
    m0, m1, m2, m3 = w.member_ids
    coord = await login(live, api_factory, "coord@test.example")
    status, _ = await coord.call("PUT", f"/api/series/{w.series_id}/questionnaires", PLAN)
    assert status == 200

    # m0 scores 4.0 (at or above the default cut-off 2.59), m1 1.0 (below it).
    await answer_bat(live, api_factory, url, w.session_id, {m0: 4, m1: 1})
    colleague = await login(live, api_factory, "m0@test.example")
    status, mine = await colleague.get("/api/me/peer-support")
    assert status == 200 and len(mine["offers"]) == 1, mine
    offer = mine["offers"][0]
    assert offer["status"] == "offered" and "score" not in offer
    below = await login(live, api_factory, "m1@test.example")
    status, theirs = await below.get("/api/me/peer-support")
    assert status == 200 and theirs["offers"] == []
    mails = await outbox(url, "peer_offer")
    assert [m.person_id for m in mails] == [m0]
    status, seen = await coord.get(f"/api/organisations/{w.org_id}/outbox")
    assert status == 200 and seen and all(m["kind"] != "peer_offer" for m in seen)

    # Never visible to colleagues or coordinators before the person opts in.
    status, _ = await below.get(f"/api/peer-support/offers/{offer['id']}")
    assert status == 404
    assert len(await refusals(url, "peer_offer.read")) == 1
    status, requests = await coord.get(f"/api/organisations/{w.org_id}/peer-support/requests")
    assert status == 200 and requests == []

    # Opting in needs consent to be contacted: refused naming the field, nothing changes.
    path = f"/api/peer-support/offers/{offer['id']}/answer"
    status, err = await colleague.post(path, {"accept": True})
    assert status == 400 and "consent_contact" in err["error"]["details"]["fields"], err
    status, got = await colleague.get(f"/api/peer-support/offers/{offer['id']}")
    assert got["status"] == "offered"
    status, got = await colleague.post(path, {"accept": True, "consent_contact": True})
    assert status == 200 and got["status"] == "accepted", got
    status, err = await colleague.post(path, {"accept": False, "reason": "no_time"})
    assert status == 409 and "status" in err["error"]["details"]["fields"]

    # Matching: same profession first, another department; never oneself or one's department.
    await set_people(
        url,
        {
            m0: ("nurse", "ICU"),
            w.leader_id: ("nurse", "Emergency"),
            w.co_leader_id: ("physician", "Emergency"),
            m2: ("nurse", "icu"),  # same department, spelled differently
            m3: ("midwife", None),
        },
    )
    for pid in (w.leader_id, w.co_leader_id, m2, m3, m0):
        status, body = await coord.call(
            "PUT",
            f"/api/organisations/{w.org_id}/peer-supporters/{pid}",
            {"availability": f"evenings ({pid})"},
        )
        assert status == 200, body
    status, requests = await coord.get(f"/api/organisations/{w.org_id}/peer-support/requests")
    assert [r["id"] for r in requests] == [offer["id"]]
    assert requests[0]["profession"] == "nurse" and "score" not in requests[0]
    rid = offer["id"]
    status, sugg = await coord.get(f"/api/peer-support/requests/{rid}/suggestions")
    assert status == 200, sugg
    assert [x["person_id"] for x in sugg] == [w.leader_id, w.co_leader_id, m3]
    assert sugg[0]["same_profession"] and sugg[0]["other_department"] is True
    assert sugg[0]["availability"] == f"evenings ({w.leader_id})"
    assert not sugg[1]["same_profession"] and sugg[2]["other_department"] is None
    # A member may not see suggestions.
    status, _ = await below.get(f"/api/peer-support/requests/{rid}/suggestions")
    assert status == 403

    for peer, field in ((m0, "peer_id"), (m2, "peer_id"), (w.outsider_id, "peer_id")):
        status, err = await coord.post(f"/api/peer-support/requests/{rid}/match", {"peer_id": peer})
        assert status == 400 and field in err["error"]["details"]["fields"], err
        assert field in err["error"]["message"]
    assert len(await refusals(url, "peer_match.propose")) == 3
    status, requests = await coord.get(f"/api/organisations/{w.org_id}/peer-support/requests")
    assert requests[0]["status"] == "accepted" and requests[0]["peer_id"] is None

    status, got = await coord.post(
        f"/api/peer-support/requests/{rid}/match", {"peer_id": w.leader_id}
    )
    assert status == 200 and got["status"] == "proposed", got
    assert [m.person_id for m in await outbox(url, "peer_proposal")] == [w.leader_id]
    # Only the proposed peer (or a coordinator) confirms.
    co = await login(live, api_factory, "co@test.example")
    status, _ = await co.post(f"/api/peer-support/requests/{rid}/confirm", {"accept": True})
    assert status == 403
    peer = await login(live, api_factory, "leader@test.example")
    status, got = await peer.post(f"/api/peer-support/requests/{rid}/confirm", {"accept": True})
    assert status == 200 and got["status"] == "matched" and got["group_id"], got
    status, mine = await peer.get("/api/me/peer-support")
    assert [r["colleague_name"] for r in mine["as_peer"]] == ["Member 0"]

    # Conversations: one at a time, within the window, at most three.
    conv = f"/api/peer-support/requests/{rid}/conversations"
    first = {"date": _day(2), "local_time": "10:00", "timezone": "Europe/Amsterdam"}
    status, err = await coord.post(conv, {**first, "date": _day(80)})
    assert status == 409 and "date" in err["error"]["details"]["fields"], err
    status, err = await coord.post(conv, {**first, "date": _day(-1)})
    assert status == 409 and "date" in err["error"]["details"]["fields"], err
    status, err = await coord.post(conv, {**first, "date": "1999-12-31"})
    assert status == 400 and "date" in err["error"]["details"]["fields"], err
    status, err = await coord.post(conv, {**first, "timezone": "Mars/Base"})
    assert status == 400 and "timezone" in err["error"]["details"]["fields"], err
    status, c1 = await coord.post(conv, first)
    assert status == 201 and c1["index"] == 1, c1
    status, err = await coord.post(conv, {**first, "date": _day(9)})
    assert status == 409 and "date" in err["error"]["details"]["fields"], err
    await end_session(url, c1["session_id"])
    status, c2 = await peer.post(conv, {**first, "date": _day(9)})
    assert status == 201 and c2["index"] == 2, c2
    await end_session(url, c2["session_id"])
    status, c3 = await coord.post(conv, {**first, "date": _day(16)})
    assert status == 201, c3
    await end_session(url, c3["session_id"])
    status, err = await coord.post(conv, {**first, "date": _day(23)})
    assert status == 409 and "conversation" in err["error"]["details"]["fields"], err
    assert "conversation" in err["error"]["message"]
    status, listed = await colleague.get(conv)
    assert status == 200 and len(listed) == 3
    assert len(await refusals(url, "peer_conversation.book")) == 4
    status, got = await colleague.get(f"/api/peer-support/offers/{rid}")
    assert got["conversations"] == 3 and got["peer_name"] == "Leader"

    # Evaluations: optional, once per side, only by the two people of the conversation.
    ev = f"/api/peer-support/conversations/{c1['session_id']}/evaluation"
    status, got = await colleague.post(ev, {"helpful": 5, "comment": "it helped"})
    assert status == 201 and got["side"] == "colleague", got
    status, got = await peer.post(ev, {"helpful": 4})
    assert status == 201 and got["side"] == "peer"
    status, _ = await colleague.post(ev, {"helpful": 3})
    assert status == 409
    status, err = await peer.post(
        f"/api/peer-support/conversations/{c2['session_id']}/evaluation", {"helpful": 6}
    )
    assert status == 400 and "helpful" in err["error"]["details"]["fields"]
    status, _ = await below.post(ev, {"helpful": 1})
    assert status == 403

    # The person's export holds the offer and their evaluation; the peer's holds the pathway.
    status, data = await colleague.get("/api/me/data")
    assert status == 200
    assert [r["id"] for r in data["holdings"]["peer_offers"]["rows"]] == [rid]
    assert len(data["holdings"]["peer_evaluations"]["rows"]) == 1
    status, data = await peer.get("/api/me/data")
    assert [r["id"] for r in data["holdings"]["peer_offers"]["rows"]] == [rid]
    assert data["holdings"]["peer_supporters"]["rows"][0]["active"] is True


async def test_decline_with_a_reason_reaches_coordinators_only_as_a_count(
    live_sqlite: Live, sqlite_url: str, api_factory: Any
) -> None:
    w = await seed(sqlite_url, members=2, session_in_minutes=120)
    coord = await login(live_sqlite, api_factory, "coord@test.example")
    status, _ = await coord.call("PUT", f"/api/series/{w.series_id}/questionnaires", PLAN)
    assert status == 200
    m0 = w.member_ids[0]
    await answer_bat(live_sqlite, api_factory, sqlite_url, w.session_id, {m0: 3})
    me = await login(live_sqlite, api_factory, "m0@test.example")
    _, mine = await me.get("/api/me/peer-support")
    (offer,) = mine["offers"]
    path = f"/api/peer-support/offers/{offer['id']}/answer"
    status, err = await me.post(path, {"accept": False, "reason": "bored"})
    assert status == 400 and "reason" in err["error"]["details"]["fields"]
    status, got = await me.post(
        path, {"accept": False, "reason": "confidentiality", "note": "not now"}
    )
    assert status == 200 and got["status"] == "declined" and got["note"] == "not now"
    status, requests = await coord.get(f"/api/organisations/{w.org_id}/peer-support/requests")
    assert status == 200 and requests == []
    status, dec = await coord.get(f"/api/organisations/{w.org_id}/peer-support/declines")
    assert status == 200 and dec == {"reasons": {"confidentiality": 1}}
