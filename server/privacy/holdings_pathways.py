"""The pathways' holdings of personal data (server/pathways): offers of peer support, trained
peers, evaluations, messages to leaders, self-help hosts and meeting reports; part of the one
table in holdings.py."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.hosts import SessionHost
from server.db.models import Person
from server.pathways.models import (
    LeaderMessage,
    MeetingReport,
    PeerEvaluation,
    PeerOffer,
    PeerSupporter,
)
from server.privacy.holding import Holding, Outcome, by_person, delete_by_person, rows


async def _export_messages(s: AsyncSession, p: Person) -> list[dict[str, Any]]:
    return await rows(
        s, select(LeaderMessage).where(LeaderMessage.sender_id == p.id).order_by(LeaderMessage.id)
    )


async def _erase_messages(s: AsyncSession, p: Person, now: datetime) -> Outcome:
    result = await s.execute(delete(LeaderMessage).where(LeaderMessage.sender_id == p.id))
    return Outcome("deleted", int(getattr(result, "rowcount", 0) or 0))


async def _export_hosted(s: AsyncSession, p: Person) -> list[dict[str, Any]]:
    return await rows(
        s,
        select(MeetingReport)
        .where(MeetingReport.host_id == p.id)
        .order_by(MeetingReport.session_id),
    )


async def _erase_hosted(s: AsyncSession, p: Person, now: datetime) -> Outcome:
    n = await s.scalar(
        select(func.count()).select_from(MeetingReport).where(MeetingReport.host_id == p.id)
    )
    return Outcome(
        "kept", int(n or 0), "the group's meeting record stays, its host under the pseudonym"
    )


async def _export_hosts(s: AsyncSession, p: Person) -> list[dict[str, Any]]:
    return await rows(
        s, select(SessionHost).where(SessionHost.person_id == p.id).order_by(SessionHost.session_id)
    )


async def _erase_hosts(s: AsyncSession, p: Person, now: datetime) -> Outcome:
    n = await s.scalar(
        select(func.count()).select_from(SessionHost).where(SessionHost.person_id == p.id)
    )
    return Outcome("kept", int(n or 0), "who ran a held meeting stays, under the pseudonym")


async def _export_peer(s: AsyncSession, p: Person) -> list[dict[str, Any]]:
    return await rows(s, select(PeerSupporter).where(PeerSupporter.person_id == p.id))


async def _export_offers(s: AsyncSession, p: Person) -> list[dict[str, Any]]:
    return await rows(
        s,
        select(PeerOffer)
        .where(or_(PeerOffer.person_id == p.id, PeerOffer.peer_id == p.id))
        .order_by(PeerOffer.id),
    )


async def _erase_offers(s: AsyncSession, p: Person, now: datetime) -> Outcome:
    result = await s.execute(delete(PeerOffer).where(PeerOffer.person_id == p.id))
    await s.execute(update(PeerOffer).where(PeerOffer.peer_id == p.id).values(peer_id=None))
    return Outcome("deleted", int(getattr(result, "rowcount", 0) or 0))


PATHWAY_HOLDINGS: tuple[Holding, ...] = (
    Holding(
        "peer_offers",
        "offers of peer support made to you (with the Burnout Assessment Tool score that "
        "prompted them, your answer and any reason), and the pathways you were the peer of",
        "while the account exists",
        _export_offers,
        _erase_offers,
    ),
    Holding(
        "peer_supporters",
        "that you are a trained peer, with the availability you gave",
        "while you are a trained peer",
        _export_peer,
        delete_by_person(PeerSupporter),
    ),
    Holding(
        "peer_evaluations",
        "your short evaluations of peer-support conversations",
        "while the account exists",
        by_person(PeerEvaluation),
        delete_by_person(PeerEvaluation),
    ),
    Holding(
        "leader_messages",
        "the private messages you sent your group's leaders between meetings",
        "for the life of the group plus retention_attendance_days",
        _export_messages,
        _erase_messages,
    ),
    Holding(
        "session_hosts",
        "the self-help sessions you hosted",
        "for the life of the group",
        _export_hosts,
        _erase_hosts,
    ),
    Holding(
        "meeting_reports",
        "the meeting reports you filed as a self-help host (what was covered, who was there)",
        "for the life of the group",
        _export_hosted,
        _erase_hosted,
    ),
)
