"""scheduling calendars: organisations' booking zone and holidays, groups' reminder timing

Revision ID: 0013
Revises: 0008
Create Date: 2026-12-06 18:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0013'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('organisation_calendars',
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_organisation_calendars_organisation_id_organisations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('organisation_id', name=op.f('pk_organisation_calendars'))
    )
    op.create_table('organisation_holidays',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_organisation_holidays_organisation_id_organisations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_organisation_holidays')),
    sa.UniqueConstraint('organisation_id', 'day', name=op.f('uq_organisation_holidays_organisation_id_day'))
    )
    op.create_index(op.f('ix_organisation_holidays_organisation_id'), 'organisation_holidays', ['organisation_id'], unique=False)
    op.create_table('group_reminders',
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('offsets_minutes', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_group_reminders_group_id_groups'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('group_id', name=op.f('pk_group_reminders'))
    )


def downgrade() -> None:
    op.drop_table('group_reminders')
    op.drop_index(op.f('ix_organisation_holidays_organisation_id'), table_name='organisation_holidays')
    op.drop_table('organisation_holidays')
    op.drop_table('organisation_calendars')
