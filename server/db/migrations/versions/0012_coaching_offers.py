"""coaching offers after a resilience workshop (one per participant; declined or booked)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 18:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('coaching_offers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('workshop_session_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('coach_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.Enum('offered', 'declined', 'booked', name='coaching_offer_status', native_enum=False, length=32), nullable=False),
    sa.Column('decline_reason', sa.String(length=500), nullable=True),
    sa.Column('session_id', sa.Integer(), nullable=True),
    sa.Column('offered_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['coach_id'], ['people.id'], name=op.f('fk_coaching_offers_coach_id_people'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_coaching_offers_person_id_people'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_coaching_offers_session_id_sessions'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['workshop_session_id'], ['sessions.id'], name=op.f('fk_coaching_offers_workshop_session_id_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_coaching_offers')),
    sa.UniqueConstraint('workshop_session_id', 'person_id', name=op.f('uq_coaching_offers_workshop_session_id_person_id'))
    )
    op.create_index(op.f('ix_coaching_offers_person_id'), 'coaching_offers', ['person_id'], unique=False)
    op.create_index(op.f('ix_coaching_offers_workshop_session_id'), 'coaching_offers', ['workshop_session_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_coaching_offers_workshop_session_id'), table_name='coaching_offers')
    op.drop_index(op.f('ix_coaching_offers_person_id'), table_name='coaching_offers')
    op.drop_table('coaching_offers')
