"""privacy requests: a person's asks to erase their data, and how each was carried out

Revision ID: 0010
Revises: 0003
Create Date: 2026-12-06 15:40:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0010'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('privacy_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('erasure', name='privacy_request_kind', native_enum=False, length=32), nullable=False),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('done_by', sa.Integer(), nullable=True),
    sa.Column('report', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['done_by'], ['people.id'], name=op.f('fk_privacy_requests_done_by_people'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_privacy_requests_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_requests'))
    )
    op.create_index(op.f('ix_privacy_requests_person_id'), 'privacy_requests', ['person_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_privacy_requests_person_id'), table_name='privacy_requests')
    op.drop_table('privacy_requests')
