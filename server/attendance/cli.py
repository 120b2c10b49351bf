"""``circle attendance``: rebuild the derived records; print a series' attendance."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime

from server.attendance import records, report
from server.attendance.derive import Rules
from server.db import migrate
from server.db.engine import Database
from server.settings import Settings


async def _ready_db(settings: Settings) -> Database:
    db = Database(settings.effective_database_url)
    if not await migrate.is_current(db):
        await db.dispose()
        raise ValueError("the database is not migrated; run: circle db upgrade")
    return db


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    att = sub.add_parser(
        "attendance",
        help="a series' attendance (--series ID --format csv|json), or `rebuild` the records",
    )
    att.add_argument("--series", type=int, metavar="ID", help="series id")
    att.add_argument("--format", choices=["csv", "json"], default="json")
    asub = att.add_subparsers(dest="attendance_command", metavar="ACTION")
    rb = asub.add_parser(
        "rebuild", help="derive the attendance records again from the events (all or a series)"
    )
    rb.add_argument("--series", type=int, metavar="ID", help="only this series")
    return att


async def run(settings: Settings, args: argparse.Namespace) -> str:
    series = getattr(args, "series", None)
    if series is not None and not 0 < series < 2**31:
        raise ValueError("--series: no such series")
    db = await _ready_db(settings)
    try:
        if args.attendance_command == "rebuild":
            n = await records.rebuild(db, Rules.from_settings(settings), series_id=series)
            scope = f"series {series}" if series is not None else "all sessions"
            return f"rebuilt {n} attendance records ({scope})"
        if series is None:
            raise ValueError("--series ID is required (or use: circle attendance rebuild)")
        async with db.sessionmaker() as s:
            data = await report.load(s, series)
        built = report.build(data, datetime.now(UTC), leader_view=True)
        if args.format == "csv":
            return report.to_csv(built).rstrip("\n")
        return json.dumps(built, ensure_ascii=False, indent=2)
    finally:
        await db.dispose()
