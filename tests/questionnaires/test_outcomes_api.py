"""Outcome reports and research exports over REST: pseudonymous, consent-filtered, audited,
for researchers, coordinators and admins only."""

from __future__ import annotations

import json
import tempfile

import pyreadstat
import pytest
from sqlalchemy import select

from server.db.engine import Database
from server.db.models import AuditEntry
from server.questionnaires.models import Timepoint
from tests.conftest import make_settings, start_app
from tests.foundation.seed import seed, session_cookie
from tests.questionnaires.helpers import add_researcher, audit_entries, consent, submit

PRE = [20, 18, 15, 22, 12, 16]
POST = [10, 9, 12, 11, 12, 6]


@pytest.fixture
async def world(db_url, tmp_path):
    w = await seed(db_url, members=7, with_password=False)
    members = w.member_ids
    for pid, pre, post in zip(members, PRE, POST, strict=False):
        await submit(db_url, pid, w.org_id, w.series_id, Timepoint.PRE, pre)
        await submit(db_url, pid, w.org_id, w.series_id, Timepoint.POST, post)
    # Members 0-4 consent; member 5 answered for their own benefit only; member 4 withdraws.
    for pid in members[:5]:
        await consent(db_url, pid, w.org_id)
    await consent(db_url, members[4], w.org_id, withdraw=True)
    # Member 6 answered the pre form only (and consented): no pair.
    await submit(db_url, members[6], w.org_id, w.series_id, Timepoint.PRE, 9)
    await consent(db_url, members[6], w.org_id)
    w.researcher_id = await add_researcher(db_url, w.org_id)
    runner, live = await start_app(make_settings(db_url, tmp_path))
    yield w, live
    await runner.cleanup()


async def client(api_factory, live, url, person_id):
    api = api_factory(live)
    api.http.cookie_jar.update_cookies({"circle_session": await session_cookie(url, person_id)})
    return api


async def test_report_pairs_consenting_members_and_audits_every_read(world, api_factory, db_url):
    w, live = world
    api = await client(api_factory, live, db_url, w.researcher_id)
    status, body = await api.get(f"/api/outcomes?series={w.series_id}")
    assert status == 200, body
    row = next(r for r in body["rows"] if r["comparison"] == "pre_post")
    # Consenting pairs: members 0-3 (4 withdrew, 5 never consented, 6 has no post form).
    # pre 20 18 15 22 -> mean 18.75; post 10 9 12 11 -> 10.5; change -8.25.
    assert row["instrument"] == "phq9" and row["score"] == "total" and row["n_pairs"] == 4
    assert (row["pre_mean"], row["post_mean"], row["mean_change"]) == (18.75, 10.5, -8.25)
    assert row["higher_is"] == "worse" and row["instrument_versions"] == "1"
    for key in ("wilcoxon_w", "wilcoxon_z", "p_asymptotic", "p_exact", "t", "p_t", "d_z"):
        assert key in row
    # Completion counts forms, not consent: 7 pre and 6 post of 7 participants.
    completion = {c["timepoint"]: c for c in body["completion"]}
    assert (completion["pre"]["submitted"], completion["pre"]["participants"]) == (7, 7)
    assert completion["post"]["submitted"] == 6
    assert "display_name" not in json.dumps(body) and "@" not in json.dumps(body)

    async with api.http.get(f"{live.url}/api/outcomes?series={w.series_id}&format=md") as resp:
        text = await resp.text()
    assert "| phq9 | pre → post | 4 | 18.75 ± " in text and "Before, M ± SD" in text
    async with api.http.get(f"{live.url}/api/outcomes?series={w.series_id}&format=csv") as resp:
        lines = (await resp.text()).splitlines()
    assert lines[0].startswith("instrument,instrument_versions,score,comparison,higher_is,n_pairs")
    async with api.http.get(f"{live.url}/api/outcomes?series={w.series_id}&points=true") as resp:
        points = (await resp.json())["points"]
    assert {p["person_code"][:3] for p in points} == {"HC-"} and len(points) == 5

    reads = await audit_entries(db_url, AuditEntry.action == "outcomes.read")
    assert len(reads) == 4 and all(r.actor_id == w.researcher_id for r in reads)
    assert reads[0].target == f"series:{w.series_id}"


async def test_export_is_pseudonymous_and_consent_filtered(world, api_factory, db_url):
    w, live = world
    api = await client(api_factory, live, db_url, w.coordinator_id)
    async with api.http.get(f"{live.url}/api/outcomes/export?series={w.series_id}") as resp:
        assert resp.status == 200
        text = await resp.text()
    lines = text.splitlines()
    header = lines[0].split(",")
    assert header[:4] == ["person_code", "context", "phq9_pre_version", "phq9_pre_total"]
    assert "phq9_pre_item_9" in header and "phq9_post_total" in header
    assert len(lines) == 1 + 5  # members 0-3 and 6
    assert "@" not in text and "Member" not in text
    async with api.http.get(
        f"{live.url}/api/outcomes/export?series={w.series_id}&format=sav"
    ) as resp:
        assert resp.status == 200 and resp.content_type == "application/x-spss-sav"
        raw = await resp.read()
    with tempfile.NamedTemporaryFile(suffix=".sav") as fh:
        fh.write(raw)
        fh.flush()
        frame, meta = pyreadstat.read_sav(fh.name)
    assert len(frame) == 5 and sorted(frame["phq9_pre_total"]) == [9, 15, 18, 20, 22]
    assert meta.column_names_to_labels["phq9_post_total"] == "phq9 post: total"


async def test_members_and_outsiders_are_refused_and_audited(world, api_factory, db_url):
    w, live = world
    for person in (w.member_ids[0], w.leader_id, w.outsider_id):
        api = await client(api_factory, live, db_url, person)
        status, body = await api.get(f"/api/outcomes?series={w.series_id}")
        assert status == 403 and body["error"]["code"] == "forbidden"
        status, _ = await api.get(f"/api/outcomes/export?series={w.series_id}&format=sav")
        assert status == 403
    refused = await audit_entries(db_url, AuditEntry.outcome == "refused")
    assert {r.action for r in refused} == {"outcomes.read", "outcomes.export"} and len(refused) == 6


@pytest.mark.parametrize(
    ("query", "status", "needle"),
    [
        ("", 400, "give exactly one of series, group, organisation, cohort"),
        ("series=1&group=1", 400, "give exactly one"),
        ("series=999999", 404, "no such series"),
        ("series=abc", 400, "series"),
        ("series=1&format=xlsx", 400, "format"),
        ("series=1&colour=red", 400, "colour"),
        ("group=1&protocol=balint", 400, "protocol: only with organisation"),
        ("organisation=1&protocol=yoga", 400, "protocol"),
    ],
)
async def test_bad_queries_name_the_field(world, api_factory, db_url, query, status, needle):
    w, live = world
    api = await client(api_factory, live, db_url, w.coordinator_id)
    got, body = await api.get(f"/api/outcomes?{query}")
    assert got == status and needle in body["error"]["message"]


async def test_group_and_organisation_scopes(world, api_factory, db_url):
    w, live = world
    api = await client(api_factory, live, db_url, w.researcher_id)
    for query in (f"group={w.group_id}", f"organisation={w.org_id}&protocol=balint"):
        status, body = await api.get(f"/api/outcomes?{query}")
        assert status == 200 and body["rows"][0]["n_pairs"] == 4, query
    status, body = await api.get(f"/api/outcomes?organisation={w.org_id}&protocol=dynamic")
    assert status == 200 and body["rows"] == []
    status, body = await api.get(f"/api/outcomes?series={w.series_id}&profession=nurse")
    assert status == 200 and body["rows"] == [] and body["scope"]["profession"] == "nurse"


async def test_a_second_submission_of_the_same_form_is_refused_and_changes_nothing(db_url):
    from server.errors import Conflict
    from server.questionnaires.models import QuestionnaireResponse, ResponseItem

    w = await seed(db_url, members=1, with_password=False)
    await submit(db_url, w.member_ids[0], w.org_id, w.series_id, Timepoint.PRE, 12)
    with pytest.raises(Conflict, match="phq9 pre: already submitted"):
        await submit(db_url, w.member_ids[0], w.org_id, w.series_id, Timepoint.PRE, 3)
    db = Database(db_url)
    try:
        async with db.sessionmaker() as s:
            responses = list(await s.scalars(select(QuestionnaireResponse)))
            items = list(await s.scalars(select(ResponseItem)))
    finally:
        await db.dispose()
    assert len(responses) == 1 and responses[0].scores["total"] == 12.0 and len(items) == 9


async def test_a_researcher_reads_no_names_rosters_or_contacts(world, api_factory, db_url):
    w, live = world
    api = await client(api_factory, live, db_url, w.researcher_id)
    for path in (
        f"/api/groups/{w.group_id}/members",
        f"/api/groups/{w.group_id}",
        f"/api/organisations/{w.org_id}/people",
    ):
        status, _ = await api.get(path)
        assert status == 403, path
