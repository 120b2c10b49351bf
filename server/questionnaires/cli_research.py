"""``circle outcomes``, ``circle import responses`` and ``circle plausibility``.

The command line stands for the operator of the deployment: its reads are audited like REST
reads (actor none, ``via: cli``)."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select

from server import audit
from server.db import migrate
from server.db.engine import Database
from server.db.models import Organisation
from server.domain import AuditOutcome, ProtocolKind
from server.errors import NotFound, UserError
from server.questionnaires import export, grants, importer, outcomes, render, scopes
from server.questionnaires.plausibility import check_summary
from server.questionnaires.registry import load_registry
from server.settings import Settings

SettingsLoader = Callable[[argparse.Namespace], Settings]


async def _ready_db(settings: Settings) -> Database:
    db = Database(settings.effective_database_url)
    if not await migrate.is_current(db):
        await db.dispose()
        raise UserError("the database is not migrated; run: circle db upgrade", field="database")
    return db


async def _org_id(s: Any, slug: str | None) -> int:
    q = select(Organisation.id)
    if slug is not None:
        q = q.where(Organisation.slug == slug)
    ids = list(await s.scalars(q))
    if not ids:
        raise NotFound(f"no organisation {slug!r}" if slug else "no organisation yet")
    if len(ids) > 1:
        raise UserError("org: several organisations; give --org SLUG", field="org")
    return int(ids[0])


async def run_outcomes(
    settings: Settings, args: argparse.Namespace
) -> export.Dataset | dict[str, Any]:
    """The report (a dict) or, with ``--export``, the research dataset."""
    registry = load_registry(settings.effective_instruments_dir)
    db = await _ready_db(settings)
    try:
        async with db.sessionmaker() as s:
            organisation = await _org_id(s, args.organisation) if args.organisation else None
            cohort = await scopes.cohort_id(s, args.cohort, args.org) if args.cohort else None
            scope = await scopes.resolve(
                s,
                series=args.series,
                group=args.group,
                organisation=organisation,
                cohort=cohort,
                protocol=ProtocolKind(args.protocol) if args.protocol else None,
                profession=args.profession,
            )
            if args.export:
                data = await export.dataset(s, scope)
            else:
                obs = await outcomes.load(s, scope)
        action = "outcomes.export" if args.export else "outcomes.read"
        await audit.record_now(
            db.sessionmaker,
            actor_id=None,
            action=action,
            target=f"{scope.kind}:{scope.id}",
            outcome=AuditOutcome.ALLOWED,
            details={"via": "cli", "format": args.format},
        )
    finally:
        await db.dispose()
    if args.export:
        return data
    return outcomes.build(scope, obs, registry, points=args.points)


async def run_import(settings: Settings, args: argparse.Namespace, text: str) -> str:
    registry = load_registry(settings.effective_instruments_dir)
    result = importer.parse(text, registry)
    if result.rejected:
        raise importer.ImportRejected(result.rejected, len(result.rows) + len(result.rejected))
    db = await _ready_db(settings)
    try:
        async with db.sessionmaker() as s, s.begin():
            org_id = await _org_id(s, args.org)
            cohort = await importer.store(
                s, result, organisation_id=org_id, cohort_name=args.cohort, source=args.file.name
            )
            cohort_id = cohort.id
    finally:
        await db.dispose()
    return f"imported {len(result.rows)} responses into cohort {args.cohort!r} (id {cohort_id})"


def cmd_outcomes(settings: SettingsLoader, args: argparse.Namespace) -> int:
    if args.protocol and not args.organisation:
        raise UserError("--protocol: only with --organisation", field="protocol")
    if args.export and args.export.suffix not in (".csv", ".sav"):
        raise UserError("--export: the file name ends in .csv or .sav", field="export")
    result = asyncio.run(run_outcomes(settings(args), args))
    if isinstance(result, export.Dataset):
        out: Path = args.export
        if out.suffix == ".sav":
            out.write_bytes(export.to_sav(result))
        else:
            out.write_text(export.to_csv(result), encoding="utf-8")
        print(f"wrote {len(result.rows)} rows ({len(result.columns)} columns) to {out}")
    elif isinstance(result, dict):
        if args.format == "csv":
            print(render.to_csv(result), end="")
        elif args.format == "md":
            print(render.to_markdown(result), end="")
        else:
            print(render.to_json(result))
    return 0


def cmd_import(settings: SettingsLoader, args: argparse.Namespace) -> int:
    text = importer.read_file(args.file)
    print(asyncio.run(run_import(settings(args), args, text)))
    return 0


async def run_grant(settings: Settings, args: argparse.Namespace) -> str:
    db = await _ready_db(settings)
    try:
        async with db.sessionmaker() as s, s.begin():
            cohort = await scopes.cohort_id(s, args.cohort, args.org) if args.cohort else None
            study = f"cohort {args.cohort!r}" if args.cohort else f"group {args.group}"
            if args.researcher_command == "grant":
                new = await grants.grant(s, email=args.email, cohort_id=cohort, group_id=args.group)
                return f"granted {study}" if new else f"already granted {study}"
            n = await grants.revoke(s, email=args.email, cohort_id=cohort, group_id=args.group)
            return f"revoked {study}" if n else f"no grant on {study}"
    finally:
        await db.dispose()


def cmd_grant(settings: SettingsLoader, args: argparse.Namespace) -> int:
    print(asyncio.run(run_grant(settings(args), args)))
    return 0


def cmd_plausibility(settings: SettingsLoader, args: argparse.Namespace) -> int:
    inst = load_registry(settings(args).effective_instruments_dir).get(args.instrument)
    check = check_summary(inst, args.score, args.n, args.mean, args.sd)
    label = f"{inst.id} {args.score} (n={args.n}, mean {args.mean}" + (
        f", SD {args.sd})" if args.sd else ")"
    )
    warnings = check.warnings(label)
    for w in warnings:
        print(f"warning: {w}")
    if not warnings:
        print(f"{label}: consistent (GRIM" + (", GRIMMER)" if args.sd else ")"))
    return 0
