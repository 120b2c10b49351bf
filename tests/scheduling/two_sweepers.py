"""Two OS processes sweeping one PostgreSQL database at the same instant (the exactly-once
tests): each runs ``python -m <module> URL NOW WORKER BARRIER``, prints ``ready``, waits on an
advisory lock the test holds, sweeps until dry and prints one JSON line."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import text

from server.db.engine import Database

ROOT = Path(__file__).resolve().parents[2]


async def run_two(module: str, url: str, now: datetime, barrier: int) -> list[dict[str, Any]]:
    """Start both, release them together, return their JSON reports."""
    db = Database(url)
    async with db.engine.connect() as holder:
        await holder.execute(text("SELECT pg_advisory_lock(:k)"), {"k": barrier})
        procs = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                module,
                url,
                now.isoformat(),
                f"proc-{n}",
                str(barrier),
                cwd=ROOT,
                stdout=asyncio.subprocess.PIPE,
            )
            for n in (1, 2)
        ]
        for p in procs:
            assert p.stdout is not None
            assert (await asyncio.wait_for(p.stdout.readline(), 60)).strip() == b"ready"
        await holder.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": barrier})
        await holder.commit()
    reports = []
    for p in procs:
        out, _ = await asyncio.wait_for(p.communicate(), 120)
        assert p.returncode == 0
        reports.append(json.loads(out.decode().strip().splitlines()[-1]))
    await db.dispose()
    return reports
