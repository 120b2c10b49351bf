"""``circle doctor``: checks an installation's stored state and says what needs attention.

Today it reports dispatches nobody handles: pending rows whose purpose has no handler in this
build of the app (``server/scheduling/handlers.py``), so they would wait for ever. Exit code 0
when nothing needs attention, 1 when something does, 2 when the database is not migrated.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime

from server.app import create_app
from server.db import migrate
from server.db.engine import Database
from server.scheduling.doctor import Unhandled, unhandled_dispatches
from server.scheduling.handlers import HANDLERS_KEY
from server.settings import Settings

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_NOT_MIGRATED = 2


@dataclass(slots=True)
class Report:
    migrated: bool = True
    unhandled: list[Unhandled] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        if not self.migrated:
            return EXIT_NOT_MIGRATED
        return EXIT_FINDINGS if self.unhandled else EXIT_OK

    def as_json(self) -> str:
        return json.dumps(
            {
                "ok": self.exit_code == EXIT_OK,
                "migrated": self.migrated,
                "unhandled_dispatches": [u.as_json() for u in self.unhandled],
            },
            indent=2,
        )

    def as_text(self) -> str:
        if not self.migrated:
            return "error: the database is not migrated; run: circle db upgrade"
        if not self.unhandled:
            return "ok: every pending dispatch has a handler"
        lines = ["pending dispatches that nobody handles (they wait until a feature does):"]
        for u in self.unhandled:
            lines.append(
                f"  {u.purpose.value}: {u.due} due, {u.later} later "
                f"(oldest due {u.oldest_due_at:%Y-%m-%d %H:%M} UTC)"
            )
        return "\n".join(lines)


async def examine(settings: Settings, now: datetime | None = None) -> Report:
    """Build the app as ``circle serve`` would (without starting it) to learn which purposes
    have a handler, then look at the database."""
    handled = create_app(settings)[HANDLERS_KEY].handled
    db = Database(settings.effective_database_url)
    try:
        if not await migrate.is_current(db):
            return Report(migrated=False)
        async with db.sessionmaker() as s:
            found = await unhandled_dispatches(s, handled, now or datetime.now(UTC))
        return Report(unhandled=found)
    finally:
        await db.dispose()
