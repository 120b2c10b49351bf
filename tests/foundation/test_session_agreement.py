"""`/api/me/sessions` carries the series' group agreement facts the pre-join page words in the
member's language (version, planned sessions, whether I accepted this version)."""

from __future__ import annotations

from sqlalchemy import update

from server.db.engine import Database
from server.db.models import AgreementAcceptance, Series

from .seed import PASSWORD, seed


async def test_my_sessions_carry_the_agreement_and_whether_i_accepted_it(live, db_url, api_factory):
    w = await seed(db_url, members=1)
    api = api_factory(live)
    await api.post("/api/auth/login", {"email": "m0@test.example", "password": PASSWORD})
    status, sessions = await api.get("/api/me/sessions")
    assert status == 200
    ag = sessions[0]["agreement"]
    assert ag["accepted"] is False and ag["version"] == "1"
    assert isinstance(ag["planned_sessions"], int) and ag["planned_sessions"] >= 1
    db = Database(db_url)
    try:
        async with db.sessionmaker() as s, s.begin():
            s.add(
                AgreementAcceptance(person_id=w.member_ids[0], series_id=w.series_id, version="1")
            )
        status, sessions = await api.get("/api/me/sessions")
        assert sessions[0]["agreement"]["accepted"] is True
        # A new version of the agreement must be accepted again.
        async with db.sessionmaker() as s, s.begin():
            await s.execute(update(Series).values(agreement_version="2"))
        status, sessions = await api.get("/api/me/sessions")
        assert sessions[0]["agreement"] == {
            "version": "2",
            "planned_sessions": ag["planned_sessions"],
            "accepted": False,
        }
    finally:
        await db.dispose()
