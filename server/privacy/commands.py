"""The work of ``circle privacy export|erase|sweep`` (the parser is in server/cli.py)."""

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


async def _with_db(settings: Settings, work: Callable[[Database], Any]) -> Any:
    db = Database(settings.effective_database_url)
    try:
        return await work(db)
    finally:
        await db.dispose()


def run(args: argparse.Namespace, settings: Settings) -> int:
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
