"""The research export: one row per pseudonymous person and series (or cohort), wide, with
every instrument's version, scores and item answers per timepoint; CSV or SPSS ``.sav``
(pyreadstat). No names, e-mails or other contact data are ever read. Only people with research
consent in force are included (imported cohorts: the importing team's consent)."""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import pyreadstat
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.questionnaires.models import QuestionnaireResponse as QR
from server.questionnaires.models import ResponseItem, ResponseStatus, Timepoint
from server.questionnaires.outcomes import Scope, consented, restrict

CHUNK = 500
TIMEPOINT_ORDER = list(Timepoint)


@dataclass
class Dataset:
    columns: list[str] = field(default_factory=lambda: ["person_code", "context"])
    labels: dict[str, str] = field(
        default_factory=lambda: {
            "person_code": "pseudonymous person code",
            "context": "series (s<id>) or imported cohort (c<id>)",
        }
    )
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    order: dict[str, tuple[str, int, int, int]] = field(default_factory=dict)

    def put(
        self, unit: str, column: str, value: Any, label: str, key: tuple[str, int, int]
    ) -> None:
        """``key``: (instrument, timepoint order, part: 0 version, 1 total, 2 subscale, 3 item)."""
        if column not in self.labels:
            self.columns.append(column)
            self.labels[column] = label
            self.order[column] = (*key, len(self.order))
        self.rows[unit][column] = value

    def sort_columns(self) -> None:
        fixed, rest = self.columns[:2], self.columns[2:]
        self.columns = fixed + sorted(rest, key=lambda c: self.order[c])


async def dataset(s: AsyncSession, scope: Scope) -> Dataset:
    q = restrict(
        select(QR.id, QR.series_id, QR.cohort_id, QR.person_code, QR.instrument)
        .add_columns(QR.instrument_version, QR.timepoint, QR.scores)
        .where(QR.status == ResponseStatus.SUBMITTED)
        .order_by(QR.person_code, QR.instrument),
        scope,
    )
    if scope.kind != "cohort":
        q = q.where(consented())
    data = Dataset()
    by_id: dict[int, tuple[str, str, str, int]] = {}
    for rid, series_id, cohort_id, code, instrument, version, tp, scores in await s.execute(q):
        context = f"s{series_id}" if cohort_id is None else f"c{cohort_id}"
        unit = f"{context}:{code}"
        data.rows.setdefault(unit, {"person_code": code, "context": context})
        prefix = f"{instrument}_{tp.value}"
        rank = TIMEPOINT_ORDER.index(tp)
        by_id[rid] = (unit, prefix, instrument, rank)
        label = f"{instrument} {tp.value}"
        data.put(
            unit,
            f"{prefix}_version",
            version,
            f"{label}: instrument version",
            (instrument, rank, 0),
        )
        if scores and scores.get("total") is not None:
            data.put(
                unit, f"{prefix}_total", scores["total"], f"{label}: total", (instrument, rank, 1)
            )
        for name, value in ((scores or {}).get("subscales") or {}).items():
            data.put(unit, f"{prefix}_{name}", value, f"{label}: {name}", (instrument, rank, 2))
    ids = list(by_id)
    items: dict[int, list[tuple[str, int | None, str | None]]] = defaultdict(list)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        rows = await s.execute(
            select(ResponseItem.response_id, ResponseItem.item_id, ResponseItem.value)
            .add_columns(ResponseItem.text)
            .where(ResponseItem.response_id.in_(chunk))
            .order_by(ResponseItem.response_id, ResponseItem.id)
        )
        for rid, item_id, value, text in rows:
            items[rid].append((item_id, value, text))
    for rid, answers in items.items():
        unit, prefix, instrument, rank = by_id[rid]
        for item_id, value, text in answers:
            data.put(
                unit,
                f"{prefix}_{item_id}",
                value if text is None else text,
                f"{instrument} {TIMEPOINT_ORDER[rank].value}: {item_id}",
                (instrument, rank, 3),
            )
    data.sort_columns()
    return data


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    """Free text that a spreadsheet would run as a formula (``=HYPERLINK(...)``) is written with
    a leading apostrophe, so opening the export in a spreadsheet runs nothing."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def to_csv(data: Dataset) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=data.columns, lineterminator="\n")
    writer.writeheader()
    for row in data.rows.values():
        writer.writerow({k: _cell(v) for k, v in row.items()})
    return out.getvalue()


def to_sav(data: Dataset) -> bytes:
    """SPSS .sav bytes (pyreadstat writes to a file; a private temporary one is used)."""
    frame = pd.DataFrame(list(data.rows.values()), columns=data.columns)
    for column in data.columns:
        if column.endswith("_version") or frame[column].dtype == object:
            frame[column] = frame[column].astype("string").fillna("")
    fd, path = tempfile.mkstemp(suffix=".sav")
    os.close(fd)
    try:
        pyreadstat.write_sav(frame, path, column_labels=[data.labels[c] for c in data.columns])
        with open(path, "rb") as fh:
            return fh.read()
    finally:
        os.unlink(path)
