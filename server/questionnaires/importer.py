"""``circle import responses FILE.csv --cohort NAME``: move a finished study in.

Columns: ``person_code, instrument, timepoint, completed_at`` and either ``item_1 .. item_n`` (the
instrument's items in file order) or ``total`` (where only totals exist), or both (then the total
must equal the items' score). Every row is validated; if any row is rejected, nothing is written
and the report lists each rejected row (its line in the file: the header is line 1), the field
and the reason. All or nothing: the valid rows go in one transaction.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server import audit
from server.domain import AuditOutcome
from server.errors import CircleError, UserError
from server.questionnaires.instrument import Instrument, ItemType
from server.questionnaires.models import (
    Cohort,
    QuestionnaireResponse,
    ResponseSource,
    ResponseStatus,
    Timepoint,
    slot_key,
)
from server.questionnaires.registry import Registry
from server.questionnaires.scoring import Scores, score_answers, total_only
from server.questionnaires.store import add_items

REQUIRED = ("person_code", "instrument", "timepoint", "completed_at")
ITEM_COLUMN = re.compile(r"^item_([1-9][0-9]{0,2})$")
CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
IMPORT_TIMEPOINTS = (Timepoint.PRE, Timepoint.POST, Timepoint.FOLLOWUP)
MAX_BYTES = 50 * 1024 * 1024
MAX_ROWS = 200_000


@dataclass(frozen=True)
class Rejection:
    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.field}: {self.reason}"


@dataclass
class Parsed:
    code: str
    inst: Instrument
    timepoint: Timepoint
    completed_at: datetime
    answers: dict[str, int | str]
    scores: Scores


@dataclass
class ImportResult:
    rows: list[Parsed] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)


class ImportRejected(UserError):
    """Some rows were rejected (``invalid``); nothing was imported."""

    def __init__(self, rejected: list[Rejection], total: int) -> None:
        lines = "\n".join(f"  {r}" for r in rejected)
        super().__init__(
            f"{len(rejected)} of {total} rows rejected; nothing was imported:\n{lines}"
        )
        self.rejected = rejected


def _when(text: str) -> datetime:
    text = text.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return datetime.combine(date.fromisoformat(text), time(0), tzinfo=UTC)
    value = datetime.fromisoformat(text)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _row(
    line: int, raw: dict[str, str], registry: Registry, item_columns: dict[int, str]
) -> Parsed | Rejection:
    def bad(name: str, reason: str) -> Rejection:
        return Rejection(line, name, reason)

    code = (raw.get("person_code") or "").strip()
    if not CODE.fullmatch(code):
        return bad(
            "person_code", "1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    inst = registry.instruments.get((raw.get("instrument") or "").strip())
    if inst is None:
        return bad("instrument", f"unknown instrument {raw.get('instrument')!r}")
    try:
        tp = Timepoint((raw.get("timepoint") or "").strip())
    except ValueError:
        tp = None
    if tp not in IMPORT_TIMEPOINTS:
        return bad("timepoint", "one of pre, post, followup")
    assert tp is not None
    try:
        completed = _when(raw.get("completed_at") or "")
    except ValueError:
        return bad("completed_at", "an ISO 8601 date or date-time (2021-03-01 or 2021-03-01T09:30)")
    answers: dict[str, int | str] = {}
    for position, column in item_columns.items():
        cell = (raw.get(column) or "").strip()
        if not cell:
            continue
        if position > len(inst.items):
            return bad(column, f"{inst.id} has {len(inst.items)} items")
        item = inst.items[position - 1]
        if item.type is ItemType.TEXT:
            answers[item.id] = cell
            continue
        try:
            answers[item.id] = int(cell)
        except ValueError:
            return bad(column, f"{cell!r} is not a whole number")
    total_cell = (raw.get("total") or "").strip()
    try:
        if any(isinstance(v, int) for v in answers.values()):
            scores = score_answers(inst, answers)
        elif total_cell:
            scores = total_only(inst, float(total_cell))
        else:
            return bad("item_1", "give the items (item_1 ..) or a total")
    except CircleError as exc:
        name = next(iter(exc.details.get("fields", {})), "total")
        if name in {i.id for i in inst.items}:
            name = f"item_{[i.id for i in inst.items].index(name) + 1}"
        reason = exc.message.split(": ", 1)[-1]
        return bad(name, reason)
    except ValueError:
        return bad("total", f"{total_cell!r} is not a number")
    if total_cell and answers and scores.total is not None:
        try:
            given = float(total_cell)
        except ValueError:
            return bad("total", f"{total_cell!r} is not a number")
        if abs(given - scores.total) > 1e-6:
            return bad("total", f"{given:g} differs from the items' score {scores.total:g}")
    return Parsed(code, inst, tp, completed, answers, scores)


def parse(text: str, registry: Registry) -> ImportResult:
    """Validate every row (no database). File-level problems raise UserError at once."""
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise UserError(f"header: missing column(s) {', '.join(missing)}", field="header")
    item_columns: dict[int, str] = {}
    for column in header:
        m = ITEM_COLUMN.match(column)
        if m:
            item_columns[int(m.group(1))] = column
        elif column not in (*REQUIRED, "total"):
            raise UserError(f"header: unknown column {column!r}", field="header")
    if len(set(header)) != len(header):
        raise UserError("header: a column appears twice", field="header")
    reader.fieldnames = header
    result = ImportResult()
    seen: dict[tuple[str, str, Timepoint], int] = {}
    for index, raw in enumerate(reader):
        line = reader.line_num
        if index >= MAX_ROWS:
            raise UserError(f"more than {MAX_ROWS} rows; split the file", field="file")
        if None in raw:
            result.rejected.append(Rejection(line, "row", "more cells than header columns"))
            continue
        parsed = _row(line, raw, registry, item_columns)
        if isinstance(parsed, Rejection):
            result.rejected.append(parsed)
            continue
        key = (parsed.code, parsed.inst.id, parsed.timepoint)
        if key in seen:
            result.rejected.append(
                Rejection(
                    line, "person_code", f"same person, instrument, timepoint as line {seen[key]}"
                )
            )
            continue
        seen[key] = line
        result.rows.append(parsed)
    if not result.rows and not result.rejected:
        raise UserError("the file has no data rows", field="file")
    return result


def read_file(path: Path) -> str:
    try:
        if path.stat().st_size > MAX_BYTES:
            raise UserError(
                f"{path.name}: larger than {MAX_BYTES // (1024 * 1024)} MB", field="file"
            )
        return path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise UserError(f"{path.name}: {exc.strerror}", field="file") from None
    except UnicodeDecodeError:
        raise UserError(f"{path.name}: not UTF-8 text", field="file") from None


async def store(
    s: AsyncSession, result: ImportResult, *, organisation_id: int, cohort_name: str, source: str
) -> Cohort:
    """Write every row (the caller holds the transaction). Rows that clash with responses already
    in the cohort are rejected, and then nothing is written."""
    total = len(result.rows) + len(result.rejected)
    if result.rejected:
        raise ImportRejected(result.rejected, total)
    cohort = await s.scalar(
        select(Cohort).where(Cohort.organisation_id == organisation_id, Cohort.name == cohort_name)
    )
    if cohort is None:
        cohort = Cohort(organisation_id=organisation_id, name=cohort_name, description=source[:500])
        s.add(cohort)
        await s.flush()
    keys = {
        slot_key(
            instrument=r.inst.id, timepoint=r.timepoint, person_code=r.code, cohort_id=cohort.id
        ): r
        for r in result.rows
    }
    existing = set(
        await s.scalars(
            select(QuestionnaireResponse.slot_key).where(
                QuestionnaireResponse.cohort_id == cohort.id
            )
        )
    )
    clashes = [k for k in keys if k in existing]
    if clashes:
        raise UserError(
            f"{len(clashes)} row(s) are already in cohort {cohort_name!r} (for example "
            f"{clashes[0].split(':', 1)[1]}); nothing was imported",
            field="person_code",
        )
    responses = []
    for key, r in keys.items():
        response = QuestionnaireResponse(
            slot_key=key,
            organisation_id=organisation_id,
            person_code=r.code,
            cohort_id=cohort.id,
            instrument=r.inst.id,
            instrument_version=r.inst.version,
            timepoint=r.timepoint,
            status=ResponseStatus.SUBMITTED,
            source=ResponseSource.IMPORT,
            started_at=r.completed_at,
            submitted_at=r.completed_at,
            scores=r.scores.to_json(),
        )
        responses.append((response, r))
        s.add(response)
    await s.flush()
    for response, r in responses:
        if r.answers:
            add_items(s, response.id, r.answers, r.completed_at)
    await audit.record(
        s,
        actor_id=None,
        action="responses.import",
        target=f"cohort:{cohort.id}",
        outcome=AuditOutcome.ALLOWED,
        details={"rows": len(result.rows), "source": source[:200]},
    )
    return cohort
