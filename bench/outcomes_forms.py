"""Part 2 of bench/outcomes.py: form submissions through the real REST endpoints.

Forms are opened the way production opens them: every group of the first ``n`` members gets a
session that ended a minute ago and a series plan with the post-session check-in switched on
(``--instruments``, default the ``checkin`` instrument), a ``timepoint_checkin`` dispatch per
session is inserted and one ``Dispatcher.sweep_once`` runs the questionnaire triggers
(``FormTriggers``): the ``form_assignments``, the ``assigned`` responses and one mail per member
with its signed one-click link, in the outbox.

The app (``create_app``, no scheduler, no media) runs in a child process on 127.0.0.1, so the
clients' CPU is not counted inside the server's event loop. Each of the ``n`` members arrives at
a time spread uniformly over ``window`` seconds and, as the answering page does, redeems the
link (``POST /api/forms/redeem``), reads the form (``GET /api/forms/{id}``), saves every answer
(``PUT /api/forms/{id}/answers``, one request per item, back to back) and submits
(``POST /api/forms/{id}/submit``). Latency is measured per request; ``submit_*`` is the submit
request, and the member's whole flow is reported beside it. ``lost`` = members whose flow failed
anywhere plus responses not ``submitted`` in the database afterwards.

Baseline in the same run: the direct call (``forms.record_submission`` of the same
instruments, in one transaction, no HTTP) for up to 200 other members.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import func, insert, select

from bench._host import pct
from server.db.engine import Database
from server.db.models import Person, ScheduledSession
from server.domain import ProtocolKind, SessionStatus
from server.notify.mailer import OutboxNotifier
from server.notify.models import OutboxMessage
from server.questionnaires.form_models import SeriesFormPlan
from server.questionnaires.form_plan import TimepointPlan, default_plan
from server.questionnaires.instrument import Instrument, ItemType
from server.questionnaires.models import QuestionnaireResponse, ResponseStatus, Timepoint
from server.questionnaires.registry import Registry, load_registry
from server.questionnaires.triggers import FormsConfig, FormTriggers
from server.scheduling.dispatcher import Dispatcher
from server.scheduling.handlers import DispatchHandlers
from server.scheduling.models import Purpose
from server.scheduling.plan import PlannedDispatch, SchedulingConfig, dispatch_key
from server.scheduling.store import insert_missing

SECRET = "bench-secret-key-0123456789abcdefghijklmnopqrstuvwxyz"
PUBLIC_URL = "http://127.0.0.1:8080"
LINK = re.compile(r"#form=([A-Za-z0-9_\-.]+)")
REST_PATH = "REST: redeem, GET form, PUT answers, POST /api/forms/{id}/submit"
BASELINE_MAX = 200


def answers_for(inst: Instrument, rng: random.Random) -> dict[str, int | str]:
    """A complete, valid answer per item (a value from its scale, the lowest for the safety
    rule's item so no alert is raised; a short text for a free-text item)."""
    out: dict[str, int | str] = {}
    safety = inst.safety.item if inst.safety is not None else None
    for item in inst.items:
        if item.type is ItemType.TEXT:
            out[item.id] = "fine"
            continue
        scale = inst.scale_of(item)
        out[item.id] = scale.low if item.id == safety else rng.choice(sorted(scale.values))
    return out


async def open_forms(
    url: str, group_size: int, n: int, instruments: list[str], registry: Registry
) -> dict[int, str]:
    """Open the check-in forms of the first ``n`` members as the scheduler does; returns each
    member's mailed link token."""
    groups = (n + group_size - 1) // group_size
    now = datetime.now(UTC)
    plan = default_plan(ProtocolKind.BALINT).model_copy(
        update={"checkin": TimepointPlan(instruments=instruments, close_days=2)}
    )
    db = Database(url)
    try:
        async with db.sessionmaker() as s, s.begin():
            await s.execute(
                insert(SeriesFormPlan),
                [{"series_id": g + 1, "plan": plan.model_dump(mode="json"), "updated_at": now}
                 for g in range(groups)],
            )  # fmt: skip
            sessions = [
                ScheduledSession(
                    series_id=g + 1, group_id=g + 1, index=1, starts_at=now - timedelta(minutes=91),
                    timezone="UTC", duration_minutes=90, status=SessionStatus.ENDED,
                )
                for g in range(groups)
            ]  # fmt: skip
            s.add_all(sessions)
            await s.flush()
            end = now - timedelta(minutes=1)
            await insert_missing(
                s,
                [
                    PlannedDispatch(
                        dispatch_key(x.id, x.sequence, None, Purpose.TIMEPOINT_CHECKIN),
                        x.id, None, Purpose.TIMEPOINT_CHECKIN, 0, end, end + timedelta(days=1),
                    )
                    for x in sessions
                ],
            )  # fmt: skip
        handlers = DispatchHandlers()
        triggers = FormTriggers(FormsConfig(PUBLIC_URL, SECRET), OutboxNotifier(), registry)
        for purpose in triggers.purposes:
            handlers.register(purpose, triggers.handle)
        await Dispatcher(
            db.sessionmaker, SchedulingConfig(), OutboxNotifier(), worker="bench", handlers=handlers
        ).sweep_once(now)
        async with db.sessionmaker() as s:
            rows = await s.execute(
                select(OutboxMessage.person_id, OutboxMessage.body).where(
                    OutboxMessage.kind == "form_open"
                )
            )
            links = {pid: m.group(1) for pid, body in rows if pid and (m := LINK.search(body))}
    finally:
        await db.dispose()
    return {pid: tok for pid, tok in links.items() if pid <= n}


def start_server(url: str, var_dir: Path) -> tuple[subprocess.Popen[str], str]:
    """The app in a child process (``--serve``); returns it and its base URL."""
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("outcomes.py")), "--serve", url,
         str(var_dir)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line.startswith("http://"):
        proc.kill()
        raise RuntimeError(f"the app did not start: {line!r}")
    return proc, line


def stop_server(proc: subprocess.Popen[str]) -> None:
    """Closing its stdin stops the child cleanly; killed if it does not within 10 s."""
    assert proc.stdin is not None
    proc.stdin.close()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


async def serve(url: str, var_dir: str) -> None:
    """Child: run the app on a free loopback port, print its URL, stop when stdin closes."""
    from aiohttp import web

    from server.app import create_app
    from server.settings import Settings

    settings = Settings(
        database_url=url, secret_key=SECRET, var_dir=Path(var_dir), scheduler_enabled=False,
        media_enabled=False, public_url=PUBLIC_URL,
    )  # fmt: skip
    runner = web.AppRunner(create_app(settings), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    print(f"http://127.0.0.1:{port}", flush=True)
    loop = asyncio.get_running_loop()
    with contextlib.suppress(Exception):
        await loop.run_in_executor(None, sys.stdin.read)
    await runner.cleanup()


class Flow:
    """Latencies (ms) per request kind and the failures, across all members."""

    def __init__(self) -> None:
        self.ms: dict[str, list[float]] = {"redeem": [], "form": [], "answer": [], "submit": []}
        self.member_ms: list[float] = []
        self.failed = 0
        self.errors: Counter[str] = Counter()

    async def call(
        self, http: aiohttp.ClientSession, kind: str, method: str, url: str, **kw: Any
    ) -> Any:
        t0 = time.perf_counter()
        async with http.request(method, url, **kw) as resp:
            body = await resp.json() if resp.content_type == "application/json" else None
            if resp.status != 200:
                code = (body or {}).get("error", {}).get("code", "")
                raise RuntimeError(f"{kind} {resp.status} {code}")
        self.ms[kind].append((time.perf_counter() - t0) * 1000)
        return body


async def member(
    flow: Flow, http: aiohttp.ClientSession, base: str, token: str,
    answers: dict[str, dict[str, int | str]], at: float, start: float,
) -> None:  # fmt: skip
    await asyncio.sleep(max(0.0, start + at - time.perf_counter()))
    t0 = time.perf_counter()
    try:
        got = await flow.call(http, "redeem", "POST", f"{base}/api/forms/redeem",
                              json={"token": token})  # fmt: skip
        form = f"{base}/api/forms/{got['form_id']}"
        headers = {"X-Form-Access": got["access"]}
        await flow.call(http, "form", "GET", form, headers=headers)
        for inst, items in answers.items():
            for item, value in items.items():
                body = {"instrument": inst, "item": item, "value": value}
                await flow.call(http, "answer", "PUT", f"{form}/answers", json=body,
                                headers=headers)  # fmt: skip
        await flow.call(http, "submit", "POST", f"{form}/submit", headers=headers)
    except Exception as exc:  # counted as lost, with its kind
        flow.failed += 1
        flow.errors[f"{type(exc).__name__}: {str(exc).splitlines()[0][:80]}"] += 1
        return
    flow.member_ms.append((time.perf_counter() - t0) * 1000)


async def baseline_store(
    url: str, org_id: int, people: list[int], group_size: int, insts: list[Instrument],
    rng: random.Random,
) -> list[float]:  # fmt: skip
    """The direct store call for the same instruments, one transaction per member."""
    from server.questionnaires.forms import record_submission

    db = Database(url)
    out: list[float] = []
    try:
        for pid in people:
            t0 = time.perf_counter()
            async with db.sessionmaker() as s, s.begin():
                for inst in insts:
                    await record_submission(
                        s, inst, person_id=pid, organisation_id=org_id,
                        series_id=(pid - 1) // group_size + 1, timepoint=Timepoint.EVALUATION,
                        answers=dict(answers_for(inst, rng)),
                    )  # fmt: skip
            out.append((time.perf_counter() - t0) * 1000)
    finally:
        await db.dispose()
    return out


async def submissions(
    url: str, org_id: int, members: int, n: int, window: float, group_size: int,
    instruments: list[str], var_dir: Path, rng: random.Random,
) -> dict[str, Any]:  # fmt: skip
    registry = load_registry(None)
    insts = [registry.get(i) for i in instruments]
    t0 = time.perf_counter()
    links = await open_forms(url, group_size, n, instruments, registry)
    opened_s = time.perf_counter() - t0
    flow = Flow()
    flow.failed = n - len(links)  # a member without a mailed link could not answer
    arrivals = sorted(rng.uniform(0, window) for _ in range(len(links)))
    proc, base = start_server(url, var_dir)
    try:
        conn = aiohttp.TCPConnector(limit=200)
        timeout = aiohttp.ClientTimeout(total=30)
        async with aiohttp.ClientSession(
            connector=conn, timeout=timeout, cookie_jar=aiohttp.DummyCookieJar()
        ) as http:
            start = time.perf_counter()
            await asyncio.gather(
                *(
                    member(flow, http, base, tok, {i.id: answers_for(i, rng) for i in insts},
                           at, start)
                    for (_, tok), at in zip(sorted(links.items()), arrivals, strict=True)
                )
            )  # fmt: skip
            elapsed = time.perf_counter() - start
    finally:
        stop_server(proc)
    db = Database(url)
    try:
        async with db.sessionmaker() as s:
            submitted = await s.scalar(
                select(func.count()).where(
                    QuestionnaireResponse.timepoint == Timepoint.CHECKIN,
                    QuestionnaireResponse.status == ResponseStatus.SUBMITTED,
                )
            )
            assert await s.scalar(select(func.count()).select_from(Person)) == members
    finally:
        await db.dispose()
    missing_rows = n * len(insts) - int(submitted or 0)
    others = list(range(n + 1, min(members, n + BASELINE_MAX) + 1))
    base_ms = await baseline_store(url, org_id, others, group_size, insts, rng)

    def q(xs: list[float], p: float) -> float:
        return round(pct(xs, p), 2)

    return {
        "forms_opened": len(links),
        "open_s": round(opened_s, 1),
        "submit_p50_ms": q(flow.ms["submit"], 0.50),
        "submit_p99_ms": q(flow.ms["submit"], 0.99),
        "answer_p50_ms": q(flow.ms["answer"], 0.50),
        "answer_p99_ms": q(flow.ms["answer"], 0.99),
        "redeem_p99_ms": q(flow.ms["redeem"], 0.99),
        "member_flow_p50_ms": q(flow.member_ms, 0.50),
        "member_flow_p99_ms": q(flow.member_ms, 0.99),
        "requests": sum(len(v) for v in flow.ms.values()),
        "submit_elapsed_s": round(elapsed, 1),
        "lost": flow.failed + max(0, missing_rows - flow.failed * len(insts)),
        "baseline_store_n": len(base_ms),
        "baseline_store_p50_ms": q(base_ms, 0.50),
        "baseline_store_p99_ms": q(base_ms, 0.99),
        "errors": dict(flow.errors),
    }
