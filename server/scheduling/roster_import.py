"""Invite people in bulk from a CSV file: every row validated first, a report naming each bad
row and field, and all or nothing (nothing is written if any row fails).

Columns (a header row names them, in any order): ``name`` and ``email`` (required),
``language`` (en, fa, nl), ``zone`` (IANA timezone), ``profession``, ``department``. Rows are
numbered as a spreadsheet shows them: the header is row 1.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from server.api.schemas import DisplayName, Email, Locale, ShortText, TimeZone

COLUMNS = ("name", "email", "language", "zone", "profession", "department")
REQUIRED = ("name", "email")
MAX_ROWS = 200
MAX_CHARS = 200_000


class Row(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: DisplayName
    email: Email
    language: Locale | None = None
    zone: TimeZone | None = None
    profession: ShortText | None = None
    department: ShortText | None = None


@dataclass(frozen=True, slots=True)
class RowProblem:
    row: int  # as a spreadsheet numbers it (header = 1)
    field: str  # a column name, or "file"
    message: str

    def to_wire(self) -> dict[str, Any]:
        return {"row": self.row, "field": self.field, "message": self.message}


@dataclass(frozen=True, slots=True)
class Parsed:
    rows: list[tuple[int, Row]]
    problems: list[RowProblem]


def _header(raw: list[str]) -> tuple[list[str], list[RowProblem]]:
    names = [h.strip().lower().lstrip("\ufeff") for h in raw]
    problems = [
        RowProblem(1, h or f"column {i + 1}", f"unknown column {h!r}; use {', '.join(COLUMNS)}")
        for i, h in enumerate(names)
        if h not in COLUMNS
    ]
    problems += [
        RowProblem(1, c, f"the header has no {c!r} column") for c in REQUIRED if c not in names
    ]
    seen: set[str] = set()
    for h in names:
        if h in seen:
            problems.append(RowProblem(1, h, f"the column {h!r} appears twice"))
        seen.add(h)
    return names, problems


def parse(text: str) -> Parsed:
    """Every row of ``text`` validated; ``problems`` lists each bad row and field."""
    if len(text) > MAX_CHARS:
        return Parsed(
            [], [RowProblem(0, "file", f"the file is larger than {MAX_CHARS} characters")]
        )
    try:
        table = [r for r in csv.reader(io.StringIO(text)) if any(c.strip() for c in r)]
    except csv.Error as exc:
        return Parsed([], [RowProblem(0, "file", f"not a readable CSV file: {exc}")])
    if not table:
        return Parsed([], [RowProblem(1, "file", "the file is empty: a header row and people")])
    names, problems = _header(table[0])
    if problems:
        return Parsed([], problems)
    body = table[1:]
    if not body:
        return Parsed([], [RowProblem(2, "file", "the file has a header but nobody in it")])
    if len(body) > MAX_ROWS:
        return Parsed([], [RowProblem(0, "file", f"at most {MAX_ROWS} people per file")])
    rows: list[tuple[int, Row]] = []
    emails: dict[str, int] = {}
    for number, raw in enumerate(body, start=2):
        if len(raw) != len(names):
            problems.append(
                RowProblem(number, "file", f"{len(raw)} cells where the header has {len(names)}")
            )
            continue
        data = {k: v.strip() for k, v in zip(names, raw, strict=True) if v.strip()}
        try:
            row = Row.model_validate(data)
        except ValidationError as exc:
            for err in exc.errors():
                where = str(err["loc"][0]) if err["loc"] else "file"
                message = "required" if err["type"] == "missing" else str(err["msg"])
                problems.append(RowProblem(number, where, message))
            continue
        if row.email in emails:
            problems.append(
                RowProblem(number, "email", f"the same address as row {emails[row.email]}")
            )
            continue
        emails[row.email] = number
        rows.append((number, row))
    return Parsed(rows, problems)
