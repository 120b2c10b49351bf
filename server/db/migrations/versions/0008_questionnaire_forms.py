"""questionnaire forms: form envelopes, form links, series plans, mail opt-out, safety alerts

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 15:17:35.950574
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:

    op.create_table('form_mail_prefs',
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('opted_out', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_form_mail_prefs_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('person_id', name=op.f('pk_form_mail_prefs'))
    )
    op.create_table('series_form_plans',
    sa.Column('series_id', sa.Integer(), nullable=False),
    sa.Column('plan', sa.JSON(), nullable=False),
    sa.Column('updated_by', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['series_id'], ['series.id'], name=op.f('fk_series_form_plans_series_id_series'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['updated_by'], ['people.id'], name=op.f('fk_series_form_plans_updated_by_people'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('series_id', name=op.f('pk_series_form_plans'))
    )
    op.create_table('form_assignments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('series_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=True),
    sa.Column('timepoint', sa.Enum('pre', 'post', 'followup', 'checkin', 'evaluation', name='form_timepoint', native_enum=False, length=32), nullable=False),
    sa.Column('slot', sa.String(length=40), nullable=False),
    sa.Column('instruments', sa.JSON(), nullable=False),
    sa.Column('mails_sent', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_form_assignments_group_id_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_form_assignments_person_id_people'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['series_id'], ['series.id'], name=op.f('fk_form_assignments_series_id_series'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_form_assignments_session_id_sessions'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_form_assignments')),
    sa.UniqueConstraint('person_id', 'series_id', 'slot', name=op.f('uq_form_assignments_person_id_series_id_slot'))
    )
    with op.batch_alter_table('form_assignments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_form_assignments_group_id'), ['group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_form_assignments_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_form_assignments_series_id'), ['series_id'], unique=False)

    op.create_table('form_links',
    sa.Column('nonce_hash', sa.String(length=64), nullable=False),
    sa.Column('assignment_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['assignment_id'], ['form_assignments.id'], name=op.f('fk_form_links_assignment_id_form_assignments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('nonce_hash', name=op.f('pk_form_links'))
    )
    with op.batch_alter_table('form_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_form_links_assignment_id'), ['assignment_id'], unique=False)

    op.create_table('safety_alerts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('assignment_id', sa.Integer(), nullable=False),
    sa.Column('instrument', sa.String(length=40), nullable=False),
    sa.Column('item', sa.String(length=40), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('acknowledged_by', sa.Integer(), nullable=True),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['acknowledged_by'], ['people.id'], name=op.f('fk_safety_alerts_acknowledged_by_people'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['assignment_id'], ['form_assignments.id'], name=op.f('fk_safety_alerts_assignment_id_form_assignments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_safety_alerts_group_id_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_safety_alerts_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_safety_alerts')),
    sa.UniqueConstraint('assignment_id', 'instrument', 'item', name=op.f('uq_safety_alerts_assignment_id_instrument_item'))
    )
    with op.batch_alter_table('safety_alerts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_safety_alerts_group_id'), ['group_id'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('safety_alerts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_safety_alerts_group_id'))

    op.drop_table('safety_alerts')
    with op.batch_alter_table('form_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_form_links_assignment_id'))

    op.drop_table('form_links')
    with op.batch_alter_table('form_assignments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_form_assignments_series_id'))
        batch_op.drop_index(batch_op.f('ix_form_assignments_person_id'))
        batch_op.drop_index(batch_op.f('ix_form_assignments_group_id'))

    op.drop_table('form_assignments')
    op.drop_table('series_form_plans')
    op.drop_table('form_mail_prefs')

