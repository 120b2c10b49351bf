"""``circle privacy export|erase|sweep``: a person's rights and the retention sweep by hand."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from server.db.engine import Database
from server.errors import CircleError
from server.privacy import policy_from, retention, service
from server.settings import Settings

SettingsOf = Callable[[argparse.Namespace], Settings]


async def _with_db(settings: Settings, work: Callable[[Database], Any]) -> Any:
    db = Database(settings.effective_database_url)
    try:
        return await work(db)
    finally:
        await db.dispose()


def _run(args: argparse.Namespace, settings_of: SettingsOf) -> int:
    settings = settings_of(args)
    now = datetime.now(UTC)

    async def work(db: Database) -> Any:
        async with db.sessionmaker() as s, s.begin():
            if args.privacy_command == "sweep":
                return await retention.sweep(s, policy_from(settings), now)
            person = await service.load(s, args.person)
            if args.privacy_command == "export":
                return await service.export_person(s, person, now)
            return await service.erase_person(s, person, actor_id=None, now=now)

    try:
        result = asyncio.run(_with_db(settings, work))
    except CircleError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    json.dump(result, sys.stdout, ensure_ascii=False, indent=2)
    print()
    return 0


def add_parser(sub: Any, settings_of: SettingsOf) -> None:
    p = sub.add_parser("privacy", help="a person's data: export, erasure; the retention sweep")
    psub = p.add_subparsers(dest="privacy_command", required=True, metavar="ACTION")
    ex = psub.add_parser("export", help="print everything held about a person (JSON)")
    ex.add_argument("person", type=int, help="person id")
    er = psub.add_parser(
        "erase", help="erase a person's data; prints what was deleted, pseudonymised and kept"
    )
    er.add_argument("person", type=int, help="person id")
    psub.add_parser("sweep", help="run the retention sweep once; prints rows changed per rule")
    p.set_defaults(func=lambda args: _run(args, settings_of))
