"""One holding of personal data and the helpers its exporters and erasers share (the table of
holdings is holdings.py; the pathways' rows are holdings_pathways.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase

from server.db.models import Person

# Columns never exported: they are secrets (hashes of tokens and passwords), not data about
# the person.
SECRET_COLUMNS = frozenset({"token_hash", "nonce_hash", "password_hash", "key"})


@dataclass(frozen=True, slots=True)
class Outcome:
    action: str  # deleted | pseudonymised | kept
    rows: int
    why: str = ""


Exporter = Callable[[AsyncSession, Person], Awaitable[list[dict[str, Any]]]]
Eraser = Callable[[AsyncSession, Person, datetime], Awaitable[Outcome]]


@dataclass(frozen=True, slots=True)
class Holding:
    name: str
    purpose: str
    retention: str
    export: Exporter
    erase: Eraser


def row_dict(obj: DeclarativeBase) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for col in obj.__table__.columns:
        if col.key in SECRET_COLUMNS:
            continue
        value = getattr(obj, col.key)
        out[col.key] = value.isoformat() if isinstance(value, datetime) else value
    return out


async def rows(s: AsyncSession, stmt: Select[Any]) -> list[dict[str, Any]]:
    return [row_dict(x) for x in (await s.scalars(stmt))]


def by_person(model: Any) -> Exporter:
    async def export(s: AsyncSession, p: Person) -> list[dict[str, Any]]:
        return await rows(s, select(model).where(model.person_id == p.id).order_by(model.id))

    return export


def delete_by_person(model: Any) -> Eraser:
    async def erase(s: AsyncSession, p: Person, now: datetime) -> Outcome:
        result = await s.execute(delete(model).where(model.person_id == p.id))
        return Outcome("deleted", int(getattr(result, "rowcount", 0) or 0))

    return erase


def kept(model: Any, why: str) -> Eraser:
    async def erase(s: AsyncSession, p: Person, now: datetime) -> Outcome:
        n = await s.scalar(select(func.count()).select_from(model).where(model.person_id == p.id))
        return Outcome("kept", int(n or 0), why)

    return erase
