"""A stand-alone 'server process' for the two-process test: sweeps one database until dry.

Usage: python -m tests.scheduling.sweeper_proc DB_URL NOW_ISO WORKER BARRIER_KEY
Prints ``ready`` once connected, waits on a PostgreSQL advisory lock held by the test (so both
processes start together), sweeps in small batches, then prints one JSON line.
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import datetime

from sqlalchemy import text

from server.db.engine import Database
from server.notify.mailer import OutboxNotifier
from server.scheduling.plan import SchedulingConfig
from server.scheduling.service import SchedulingService


async def main(url: str, now_iso: str, worker: str, barrier: int) -> None:
    now = datetime.fromisoformat(now_iso)
    db = Database(url)
    service = SchedulingService(
        db.sessionmaker,
        SchedulingConfig(),
        OutboxNotifier(),
        clock=lambda: now,
        worker=worker,
        batch=10,
    )
    async with db.engine.connect() as conn:
        print("ready", flush=True)
        await conn.execute(text("SELECT pg_advisory_lock_shared(:k)"), {"k": barrier})
        await conn.execute(text("SELECT pg_advisory_unlock_shared(:k)"), {"k": barrier})
    done = 0
    sweeps = 0
    idle = 0
    while idle < 3:
        result = await service.sweep()
        sweeps += 1
        done += result.done
        idle = idle + 1 if result.done == 0 else 0
    print(json.dumps({"worker": worker, "done": done, "sweeps": sweeps}), flush=True)
    await db.dispose()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])))
