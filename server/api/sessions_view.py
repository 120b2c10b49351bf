"""Shared queries: a person's sessions, and the view of one session."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.api.schemas import AgreementRefOut, SessionSummaryOut
from server.db.models import (
    AgreementAcceptance,
    Group,
    Membership,
    ScheduledSession,
    Series,
    SeriesConfirmation,
)
from server.domain import GroupRole, MembershipStatus


def session_out(
    sess: ScheduledSession,
    group: Group,
    role: GroupRole | None,
    *,
    series_confirmed: bool | None = None,
    agreement: AgreementRefOut | None = None,
) -> SessionSummaryOut:
    return SessionSummaryOut(
        id=sess.id,
        group_id=group.id,
        group_name=group.name,
        protocol=group.protocol,
        series_id=sess.series_id,
        index=sess.index,
        starts_at=sess.starts_at,
        ends_at=sess.starts_at + timedelta(minutes=sess.duration_minutes),
        timezone=sess.timezone,
        status=sess.status,
        lobby_opens_at=sess.starts_at - timedelta(minutes=sess.lobby_minutes),
        role=role,
        series_confirmed=series_confirmed,
        agreement=agreement,
    )


async def sessions_of(
    s: AsyncSession, person_id: int, *, limit: int = 50
) -> list[SessionSummaryOut]:
    rows = await s.execute(
        select(
            ScheduledSession,
            Group,
            Membership.role,
            SeriesConfirmation.id,
            Series,
            AgreementAcceptance.id,
        )
        .join(Group, Group.id == ScheduledSession.group_id)
        .join(Membership, Membership.group_id == Group.id)
        .outerjoin(
            SeriesConfirmation,
            (SeriesConfirmation.series_id == ScheduledSession.series_id)
            & (SeriesConfirmation.person_id == person_id),
        )
        .outerjoin(Series, Series.id == ScheduledSession.series_id)
        .outerjoin(
            AgreementAcceptance,
            (AgreementAcceptance.series_id == ScheduledSession.series_id)
            & (AgreementAcceptance.person_id == person_id)
            & (AgreementAcceptance.version == Series.agreement_version),
        )
        .where(Membership.person_id == person_id, Membership.status == MembershipStatus.ACTIVE)
        .order_by(ScheduledSession.starts_at)
        .limit(limit)
    )
    return [
        session_out(
            sess,
            group,
            role,
            series_confirmed=(
                confirmation is not None
                if sess.series_id is not None and role is GroupRole.MEMBER
                else None
            ),
            agreement=(
                AgreementRefOut(
                    version=series.agreement_version,
                    planned_sessions=series.planned_sessions,
                    accepted=accepted is not None,
                )
                if series is not None
                else None
            ),
        )
        for sess, group, role, confirmation, series, accepted in rows.all()
    ]
