"""Outcomes benchmark: the report over 10,000 members x 3 timepoints x 2 instruments, and form
submissions arriving after a session.

    .venv/bin/python bench/outcomes.py [--members 10000] [--submissions 1000] [--window 60]
                                       [--db-url postgresql://...]

Part 1, the report. A fresh database (SQLite file by default) gets one organisation, groups of 10
members with one series each, research consent and a code for every member, and 3 submitted
scored responses (pre, post, follow-up) for each of 2 instruments (PHQ-9 and WHO-5) per member:
60,000 responses, written with bulk inserts (item rows are not seeded: the report reads the stored
scores only). A separate child process imports the server, notes its RSS, then builds the
organisation-wide report (``outcomes.load`` + ``outcomes.build``: every instrument, score and
comparison with the Wilcoxon, t, CI, effect sizes and reliable change). Printed: wall time, the
child's CPU time, its peak RSS (VmHWM) and the RSS before the report. Baseline in the same child:
the plain SELECT of the same columns with nothing computed (the floor any report pays).

Part 2, submissions through the real REST endpoints (bench/outcomes_forms.py): the check-in forms
of ``--submissions`` members are opened by the questionnaire triggers (a ``timepoint_checkin``
dispatch per session, one dispatcher sweep), the app runs in a child process on 127.0.0.1, and
each member, arriving at a time spread uniformly over ``--window`` seconds (1,000 in 60 s: the
minute after a session), redeems the mailed link, reads the form, saves every answer and
submits. p50/p99 of the submit request (and of the answer saves and the whole flow); ``lost`` =
members whose flow failed plus responses not submitted in the database afterwards. Baseline in
the same run: the direct store call (``forms.record_submission``, no HTTP) for 200 other members.

The last line is one JSON object: members, report_s, report_rss_mb, submit_p50_ms,
submit_p99_ms, lost (and the baselines).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, select

from bench import outcomes_forms
from server.db import migrate
from server.db.engine import Database
from server.db.models import Group, Membership, Organisation, Person, Series
from server.domain import GroupRole, MembershipStatus, ProtocolKind
from server.questionnaires.models import (
    QuestionnaireResponse,
    ResearchCode,
    ResearchConsent,
    ResponseSource,
    ResponseStatus,
    Timepoint,
)
from server.questionnaires.registry import load_registry

GROUP_SIZE = 10
TIMEPOINTS = (Timepoint.PRE, Timepoint.POST, Timepoint.FOLLOWUP)


def rss_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


async def seed(url: str, members: int, rng: random.Random) -> int:
    db = Database(url)
    await migrate.upgrade(db)
    now = datetime.now(UTC)
    groups = (members + GROUP_SIZE - 1) // GROUP_SIZE
    try:
        async with db.sessionmaker() as s, s.begin():
            org = Organisation(name="Bench", slug="bench")
            s.add(org)
            await s.flush()
            org_id = org.id
            await s.execute(
                insert(Group),
                [
                    {"id": g + 1, "organisation_id": org_id, "name": f"G{g}",
                     "protocol": ProtocolKind.BALINT, "capacity": 12, "min_members": 8,
                     "settings": {}, "created_at": now}
                    for g in range(groups)
                ],
            )  # fmt: skip
            await s.execute(
                insert(Series),
                [
                    {"id": g + 1, "group_id": g + 1, "title": "S", "timezone": "UTC",
                     "planned_sessions": 6, "pattern": {}, "agreement_version": "1",
                     "status": "booked", "created_at": now}
                    for g in range(groups)
                ],
            )  # fmt: skip
            people = [
                {"id": p + 1, "organisation_id": org_id, "email": f"m{p}@bench.example",
                 "display_name": f"M{p}", "timezone": "UTC", "is_active": True, "created_at": now}
                for p in range(members)
            ]  # fmt: skip
            await s.execute(insert(Person), people)
            await s.execute(
                insert(Membership),
                [
                    {"group_id": p // GROUP_SIZE + 1, "person_id": p + 1, "role": GroupRole.MEMBER,
                     "status": MembershipStatus.ACTIVE, "created_at": now, "updated_at": now}
                    for p in range(members)
                ],
            )  # fmt: skip
            await s.execute(
                insert(ResearchCode),
                [{"person_id": p + 1, "organisation_id": org_id, "code": f"HC-B{p:08d}",
                  "created_at": now} for p in range(members)],
            )  # fmt: skip
            await s.execute(
                insert(ResearchConsent),
                [{"person_id": p + 1, "organisation_id": org_id, "scope": "research",
                  "text_version": "1", "given_at": now} for p in range(members)],
            )  # fmt: skip
            rows: list[dict[str, Any]] = []
            for p in range(members):
                base_phq, base_who = rng.randint(5, 22), rng.randint(5, 18)
                for k, tp in enumerate(TIMEPOINTS):
                    phq = max(0, min(27, base_phq - k * rng.randint(0, 4)))
                    who = max(0, min(25, base_who + k * rng.randint(0, 3)))
                    for inst, total in (("phq9", float(phq)), ("who5", float(who * 4))):
                        rows.append(
                            {"slot_key": f"s{p // GROUP_SIZE + 1}:HC-B{p:08d}:{inst}:{tp.value}:-",
                             "organisation_id": org_id, "person_id": p + 1,
                             "person_code": f"HC-B{p:08d}", "series_id": p // GROUP_SIZE + 1,
                             "instrument": inst, "instrument_version": "1", "timepoint": tp,
                             "status": ResponseStatus.SUBMITTED, "source": ResponseSource.FORM,
                             "created_at": now, "updated_at": now, "submitted_at": now,
                             "scores": {"total": total, "subscales": {}, "bands": {}}}
                        )  # fmt: skip
            for start in range(0, len(rows), 5000):
                await s.execute(insert(QuestionnaireResponse), rows[start : start + 5000])
    finally:
        await db.dispose()
    return org_id


async def child_report(url: str, org_id: int) -> dict[str, Any]:
    """Runs in a fresh process: the report's time and memory, and the plain-fetch baseline."""
    from server.questionnaires import outcomes
    from server.questionnaires.registry import load_registry

    registry = load_registry(None)
    db = Database(url)
    try:
        async with db.sessionmaker() as s:  # warm the connection and the imports
            await s.execute(select(Organisation.id))
        rss_before = rss_kb("VmRSS")
        scope = outcomes.Scope("organisation", org_id, org_id, "bench")
        t0, c0 = time.perf_counter(), time.process_time()
        async with db.sessionmaker() as s:
            obs = await outcomes.load(s, scope)
        report = outcomes.build(scope, obs, registry)
        t1, c1 = time.perf_counter(), time.process_time()
        hwm = rss_kb("VmHWM")
        q = select(
            QuestionnaireResponse.series_id,
            QuestionnaireResponse.person_code,
            QuestionnaireResponse.instrument,
            QuestionnaireResponse.timepoint,
            QuestionnaireResponse.scores,
        ).where(QuestionnaireResponse.status == ResponseStatus.SUBMITTED)
        b0 = time.perf_counter()
        async with db.sessionmaker() as s:
            fetched = len((await s.execute(q)).all())
        b1 = time.perf_counter()
    finally:
        await db.dispose()
    pairs = [r["n_pairs"] for r in report["rows"] if r["comparison"] == "pre_post"]
    return {
        "report_s": round(t1 - t0, 3),
        "report_cpu_s": round(c1 - c0, 3),
        "report_rss_mb": round(hwm / 1024, 1),
        "rss_before_report_mb": round(rss_before / 1024, 1),
        "rows": len(report["rows"]),
        "pairs_pre_post": pairs,
        "baseline_fetch_s": round(b1 - b0, 3),
        "fetched": fetched,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--members", type=int, default=10_000)
    ap.add_argument("--submissions", type=int, default=1000)
    ap.add_argument("--window", type=float, default=60.0, help="seconds the submissions span")
    ap.add_argument("--db-url", help="default: a fresh SQLite file in a temporary directory")
    ap.add_argument("--instruments", default="checkin", help="the check-in form's instruments")
    ap.add_argument("--child-report", nargs=2, metavar=("URL", "ORG"), help=argparse.SUPPRESS)
    ap.add_argument("--serve", nargs=2, metavar=("URL", "VAR"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve:
        asyncio.run(outcomes_forms.serve(args.serve[0], args.serve[1]))
        return
    if args.child_report:
        print(
            json.dumps(asyncio.run(child_report(args.child_report[0], int(args.child_report[1]))))
        )
        return
    if not 1 <= args.members <= 100_000 or not 1 <= args.submissions <= args.members:
        ap.error("--members 1..100000 and --submissions 1..members")
    if not 1 <= args.window <= 600:
        ap.error("--window 1..600 seconds")
    instruments = [i.strip() for i in args.instruments.split(",") if i.strip()]
    unknown = sorted(set(instruments) - set(load_registry(None).ids()))
    if not instruments or unknown or len(instruments) > 8:
        ap.error(f"--instruments: 1..8 known instrument ids (unknown: {', '.join(unknown)})")
    rng = random.Random(12)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.db_url or f"sqlite:///{tmp}/bench.db"
        t0 = time.perf_counter()
        org_id = asyncio.run(seed(url, args.members, rng))
        print(f"seeded {args.members} members, {args.members * 6} responses in "
              f"{time.perf_counter() - t0:.1f} s ({url.split(':')[0]})", flush=True)  # fmt: skip
        child = subprocess.run(
            [sys.executable, __file__, "--child-report", url, str(org_id)],
            capture_output=True, text=True, check=True, timeout=600,
        )  # fmt: skip
        report = json.loads(child.stdout.strip().splitlines()[-1])
        print(f"report: {report['report_s']} s wall, {report['report_cpu_s']} s CPU, peak RSS "
              f"{report['report_rss_mb']} MB (before the report {report['rss_before_report_mb']} MB);"
              f" {report['rows']} rows, pre/post pairs {report['pairs_pre_post']}", flush=True)  # fmt: skip
        ratio = report["report_s"] / report["baseline_fetch_s"] if report["baseline_fetch_s"] else 0
        print(f"baseline: plain fetch of the same {report['fetched']} rows {report['baseline_fetch_s']}"
              f" s; report / fetch = {ratio:.2f}", flush=True)  # fmt: skip
        sub = asyncio.run(
            outcomes_forms.submissions(
                url, org_id, args.members, args.submissions, args.window, GROUP_SIZE,
                instruments, Path(tmp) / "var", rng,
            )
        )  # fmt: skip
        print(f"forms: {sub['forms_opened']} check-in forms ({','.join(instruments)}) opened by "
              f"the triggers in {sub['open_s']} s", flush=True)  # fmt: skip
        print(f"submissions (REST, app in a child process): {args.submissions} members over "
              f"{sub['submit_elapsed_s']} s, {sub['requests']} requests; submit p50 "
              f"{sub['submit_p50_ms']} ms, p99 {sub['submit_p99_ms']} ms; answer save p50 "
              f"{sub['answer_p50_ms']} ms, p99 {sub['answer_p99_ms']} ms; redeem p99 "
              f"{sub['redeem_p99_ms']} ms; whole flow p50 {sub['member_flow_p50_ms']} ms, p99 "
              f"{sub['member_flow_p99_ms']} ms; lost {sub['lost']}", flush=True)  # fmt: skip
        print(f"baseline: direct forms.record_submission (no HTTP), {sub['baseline_store_n']} "
              f"members, p50 {sub['baseline_store_p50_ms']} ms, p99 "
              f"{sub['baseline_store_p99_ms']} ms", flush=True)  # fmt: skip
        if sub["errors"]:
            print(f"submission errors: {sub['errors']}", flush=True)
        load = os.getloadavg()
        print(f"machine: {os.cpu_count()} cores, shared; load average {load[0]:.2f} {load[1]:.2f}")
        print(json.dumps({
            "members": args.members,
            "report_s": report["report_s"],
            "report_rss_mb": report["report_rss_mb"],
            "submit_p50_ms": sub["submit_p50_ms"],
            "submit_p99_ms": sub["submit_p99_ms"],
            "lost": sub["lost"],
            "report_cpu_s": report["report_cpu_s"],
            "baseline_fetch_s": report["baseline_fetch_s"],
            "answer_p99_ms": sub["answer_p99_ms"],
            "member_flow_p99_ms": sub["member_flow_p99_ms"],
            "baseline_store_p50_ms": sub["baseline_store_p50_ms"],
            "baseline_store_p99_ms": sub["baseline_store_p99_ms"],
            "submit_path": outcomes_forms.REST_PATH,
        }))  # fmt: skip


if __name__ == "__main__":
    main()
