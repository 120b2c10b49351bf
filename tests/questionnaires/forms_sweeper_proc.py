"""A stand-alone 'server process' with the questionnaire handlers: sweeps one database until
dry (the two-process trigger test).

Usage: python -m tests.questionnaires.forms_sweeper_proc DB_URL NOW_ISO WORKER BARRIER_KEY
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import datetime

from sqlalchemy import text

from server.db.engine import Database
from tests.questionnaires.triggers_support import service


async def main(url: str, now_iso: str, worker: str, barrier: int) -> None:
    now = datetime.fromisoformat(now_iso)
    db = Database(url)
    svc = service(db, lambda: now, worker=worker, batch=5)
    async with db.engine.connect() as conn:
        print("ready", flush=True)
        await conn.execute(text("SELECT pg_advisory_lock_shared(:k)"), {"k": barrier})
        await conn.execute(text("SELECT pg_advisory_unlock_shared(:k)"), {"k": barrier})
    done = idle = 0
    while idle < 3:
        result = await svc.sweep()
        done += result.done
        idle = idle + 1 if result.done == 0 else 0
    print(json.dumps({"worker": worker, "done": done}), flush=True)
    await db.dispose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))
