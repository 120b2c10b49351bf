"""An organisation's booking zone and holidays, and a group's reminder timing: the stored
choices that booking, changes and planning read (the REST side is ``api_calendars.py``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.scheduling.models import GroupReminders, OrganisationCalendar, OrganisationHoliday
from server.scheduling.plan import SchedulingConfig

MAX_HOLIDAYS = 400  # a few years of public and organisation holidays
MAX_REMINDERS = 4
MAX_REMINDER_MINUTES = 14 * 24 * 60


async def holidays(s: AsyncSession, organisation_id: int, since: date) -> dict[date, str]:
    """The organisation's holidays on or after ``since``: day -> name."""
    rows = await s.execute(
        select(OrganisationHoliday.day, OrganisationHoliday.name).where(
            OrganisationHoliday.organisation_id == organisation_id,
            OrganisationHoliday.day >= since,
        )
    )
    return {day: name for day, name in rows}


async def organisation_zone(s: AsyncSession, organisation_id: int) -> str | None:
    row = await s.get(OrganisationCalendar, organisation_id)
    return row.timezone if row is not None else None


async def group_offsets(s: AsyncSession, group_id: int) -> tuple[int, ...] | None:
    row = await s.get(GroupReminders, group_id)
    return tuple(row.offsets_minutes) if row is not None else None


async def config_for(s: AsyncSession, group_id: int, cfg: SchedulingConfig) -> SchedulingConfig:
    """``cfg`` with the group's own reminder timing, when it has one."""
    offsets = await group_offsets(s, group_id)
    return cfg if offsets is None else replace(cfg, reminder_offsets_minutes=offsets)
