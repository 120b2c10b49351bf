"""questionnaires: responses, items, research consent, cohorts, research codes

Revision ID: 0007
Revises: 0009
Create Date: 2026-12-06 15:12:10
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0007'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('cohorts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['people.id'], name=op.f('fk_cohorts_created_by_people'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_cohorts_organisation_id_organisations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cohorts')),
    sa.UniqueConstraint('organisation_id', 'name', name=op.f('uq_cohorts_organisation_id_name'))
    )
    with op.batch_alter_table('cohorts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cohorts_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('research_codes',
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_research_codes_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_research_codes_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('person_id', name=op.f('pk_research_codes')),
    sa.UniqueConstraint('code', name=op.f('uq_research_codes_code'))
    )
    with op.batch_alter_table('research_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_research_codes_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('research_consents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('scope', sa.String(length=64), nullable=False),
    sa.Column('text_version', sa.String(length=32), nullable=False),
    sa.Column('given_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_research_consents_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_research_consents_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_research_consents'))
    )
    with op.batch_alter_table('research_consents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_research_consents_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index('ix_research_consents_person_scope', ['person_id', 'scope'], unique=False)

    op.create_table('questionnaire_responses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slot_key', sa.String(length=255), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('person_code', sa.String(length=64), nullable=False),
    sa.Column('series_id', sa.Integer(), nullable=True),
    sa.Column('cohort_id', sa.Integer(), nullable=True),
    sa.Column('session_id', sa.Integer(), nullable=True),
    sa.Column('instrument', sa.String(length=40), nullable=False),
    sa.Column('instrument_version', sa.String(length=32), nullable=False),
    sa.Column('timepoint', sa.Enum('pre', 'post', 'followup', 'checkin', 'evaluation', name='questionnaire_timepoint', native_enum=False, length=32), nullable=False),
    sa.Column('status', sa.Enum('assigned', 'in_progress', 'submitted', 'closed', name='questionnaire_status', native_enum=False, length=32), nullable=False),
    sa.Column('source', sa.Enum('form', 'import', name='questionnaire_source', native_enum=False, length=32), nullable=False),
    sa.Column('locale', sa.String(length=8), nullable=True),
    sa.Column('opens_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closes_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('scores', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['cohort_id'], ['cohorts.id'], name=op.f('fk_questionnaire_responses_cohort_id_cohorts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_questionnaire_responses_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_questionnaire_responses_person_id_people'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['series_id'], ['series.id'], name=op.f('fk_questionnaire_responses_series_id_series'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_questionnaire_responses_session_id_sessions'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_questionnaire_responses')),
    sa.UniqueConstraint('slot_key', name=op.f('uq_questionnaire_responses_slot_key'))
    )
    with op.batch_alter_table('questionnaire_responses', schema=None) as batch_op:
        batch_op.create_index('ix_qresponses_cohort', ['cohort_id', 'instrument', 'timepoint'], unique=False)
        batch_op.create_index('ix_qresponses_series', ['series_id', 'instrument', 'timepoint'], unique=False)
        batch_op.create_index(batch_op.f('ix_questionnaire_responses_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_questionnaire_responses_person_id'), ['person_id'], unique=False)

    op.create_table('research_grants',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('cohort_id', sa.Integer(), nullable=True),
    sa.Column('group_id', sa.Integer(), nullable=True),
    sa.Column('granted_by', sa.Integer(), nullable=True),
    sa.Column('granted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['cohort_id'], ['cohorts.id'], name=op.f('fk_research_grants_cohort_id_cohorts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['granted_by'], ['people.id'], name=op.f('fk_research_grants_granted_by_people'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_research_grants_group_id_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_research_grants_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_research_grants_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_research_grants'))
    )
    with op.batch_alter_table('research_grants', schema=None) as batch_op:
        batch_op.create_index('ix_research_grants_person', ['person_id'], unique=False)

    op.create_table('response_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('response_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.String(length=40), nullable=False),
    sa.Column('value', sa.Integer(), nullable=True),
    sa.Column('text', sa.String(length=2000), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['response_id'], ['questionnaire_responses.id'], name=op.f('fk_response_items_response_id_questionnaire_responses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_response_items')),
    sa.UniqueConstraint('response_id', 'item_id', name=op.f('uq_response_items_response_id_item_id'))
    )


def downgrade() -> None:
    op.drop_table('response_items')
    with op.batch_alter_table('research_grants', schema=None) as batch_op:
        batch_op.drop_index('ix_research_grants_person')

    op.drop_table('research_grants')
    with op.batch_alter_table('questionnaire_responses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_questionnaire_responses_person_id'))
        batch_op.drop_index(batch_op.f('ix_questionnaire_responses_organisation_id'))
        batch_op.drop_index('ix_qresponses_series')
        batch_op.drop_index('ix_qresponses_cohort')

    op.drop_table('questionnaire_responses')
    with op.batch_alter_table('research_consents', schema=None) as batch_op:
        batch_op.drop_index('ix_research_consents_person_scope')
        batch_op.drop_index(batch_op.f('ix_research_consents_organisation_id'))

    op.drop_table('research_consents')
    with op.batch_alter_table('research_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_research_codes_organisation_id'))

    op.drop_table('research_codes')
    with op.batch_alter_table('cohorts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cohorts_organisation_id'))

    op.drop_table('cohorts')
