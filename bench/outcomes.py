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

Part 2, submissions. ``--submissions`` members submit a complete PHQ-9 with arrival times spread
uniformly over ``--window`` seconds (1,000 in 60 s: the minute after a session), each through
``store.record_submission`` in its own transaction (validation, scoring, the research code, the
response and its 9 item rows) - the answering side's REST endpoint (issue 12, helper H7) was not
merged into this branch, so this measures the store that endpoint calls, not HTTP. Latency per
submission (p50, p99); ``lost`` = submissions that raised or are missing from the database
afterwards. Baseline in the same run: one bare INSERT of a response row per submission.

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
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, select

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


async def submissions(
    url: str, org_id: int, n: int, window: float, rng: random.Random
) -> dict[str, Any]:
    from server.questionnaires.registry import load_registry
    from server.questionnaires.store import record_submission

    phq9 = load_registry(None).get("phq9")
    db = Database(url)
    latencies: list[float] = []
    baseline: list[float] = []
    errors = 0
    kinds: Counter[str] = Counter()
    # Members of the first groups submit their check-in style PHQ-9 at a new timepoint.
    arrivals = sorted(rng.uniform(0, window) for _ in range(n))

    async def one(i: int, at: float, start: float) -> None:
        nonlocal errors
        await asyncio.sleep(max(0.0, start + at - time.perf_counter()))
        answers: dict[str, int | str] = {f"item_{k}": rng.randint(0, 3) for k in range(1, 9)}
        answers["item_9"] = 0
        t0 = time.perf_counter()
        try:
            async with db.sessionmaker() as s, s.begin():
                await record_submission(
                    s, phq9, person_id=i + 1, organisation_id=org_id,
                    series_id=i // GROUP_SIZE + 1, timepoint=Timepoint.EVALUATION, answers=answers,
                )  # fmt: skip
        except Exception as exc:
            errors += 1
            kinds[f"{type(exc).__name__}: {str(exc).splitlines()[0][:80]}"] += 1
            return
        latencies.append(time.perf_counter() - t0)

    async def bare(i: int) -> None:
        t0 = time.perf_counter()
        async with db.sessionmaker() as s, s.begin():
            await s.execute(
                insert(QuestionnaireResponse).values(
                    slot_key=f"bare:{i}", organisation_id=org_id, person_code=f"X{i}",
                    series_id=1, instrument="phq9", instrument_version="1",
                    timepoint=Timepoint.CHECKIN, status=ResponseStatus.SUBMITTED,
                    source=ResponseSource.FORM, created_at=datetime.now(UTC),
                    updated_at=datetime.now(UTC),
                )
            )  # fmt: skip
        baseline.append(time.perf_counter() - t0)

    try:
        start = time.perf_counter()
        await asyncio.gather(*(one(i, at, start) for i, at in enumerate(arrivals)))
        elapsed = time.perf_counter() - start
        for i in range(min(n, 200)):
            await bare(i)
        async with db.sessionmaker() as s:
            stored = len(
                (
                    await s.execute(
                        select(QuestionnaireResponse.id).where(
                            QuestionnaireResponse.timepoint == Timepoint.EVALUATION
                        )
                    )
                ).all()
            )
    finally:
        await db.dispose()

    def pct(xs: list[float], q: float) -> float:
        xs = sorted(xs)
        return round(1000 * xs[min(len(xs) - 1, int(q * len(xs)))], 2) if xs else float("nan")

    return {
        "submit_p50_ms": pct(latencies, 0.50),
        "submit_p99_ms": pct(latencies, 0.99),
        "submit_elapsed_s": round(elapsed, 1),
        "lost": errors + (n - errors - stored),
        "baseline_insert_p50_ms": pct(baseline, 0.50),
        "baseline_insert_p99_ms": pct(baseline, 0.99),
        "errors": dict(kinds),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--members", type=int, default=10_000)
    ap.add_argument("--submissions", type=int, default=1000)
    ap.add_argument("--window", type=float, default=60.0, help="seconds the submissions span")
    ap.add_argument("--db-url", help="default: a fresh SQLite file in a temporary directory")
    ap.add_argument("--child-report", nargs=2, metavar=("URL", "ORG"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child_report:
        print(
            json.dumps(asyncio.run(child_report(args.child_report[0], int(args.child_report[1]))))
        )
        return
    if not 1 <= args.members <= 100_000 or not 0 <= args.submissions <= args.members:
        ap.error("--members 1..100000 and --submissions 0..members")
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
        sub = asyncio.run(submissions(url, org_id, args.submissions, args.window, rng))
        print(f"submissions (store.record_submission, not HTTP): {args.submissions} over "
              f"{sub['submit_elapsed_s']} s, p50 {sub['submit_p50_ms']} ms, p99 {sub['submit_p99_ms']}"
              f" ms, lost {sub['lost']}; baseline bare INSERT p50 {sub['baseline_insert_p50_ms']} ms,"
              f" p99 {sub['baseline_insert_p99_ms']} ms", flush=True)  # fmt: skip
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
            "baseline_insert_p99_ms": sub["baseline_insert_p99_ms"],
            "submit_path": "store.record_submission",
        }))  # fmt: skip


if __name__ == "__main__":
    main()
