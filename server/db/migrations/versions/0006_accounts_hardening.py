"""accounts hardening: spent join tokens, the last use of a login (idle timeout)

Revision ID: 0006
Revises: 0010
Create Date: 2026-12-06 15:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0006'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('spent_tokens',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_spent_tokens'))
    )
    op.create_index(op.f('ix_spent_tokens_expires_at'), 'spent_tokens', ['expires_at'], unique=False)
    with op.batch_alter_table('auth_sessions') as batch:
        batch.add_column(sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('auth_sessions') as batch:
        batch.drop_column('last_seen_at')
    op.drop_index(op.f('ix_spent_tokens_expires_at'), table_name='spent_tokens')
    op.drop_table('spent_tokens')
