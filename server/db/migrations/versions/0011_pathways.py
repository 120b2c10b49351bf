"""pathways: peer-support offers, trained peers, evaluations, messages to leaders, meeting reports, session hosts

Revision ID: 0011
Revises: 0013
Create Date: 2026-12-06 18:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0011'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('leader_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('sender_id', sa.Integer(), nullable=False),
    sa.Column('body', sa.String(length=2000), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_leader_messages_group_id_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['sender_id'], ['people.id'], name=op.f('fk_leader_messages_sender_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_leader_messages'))
    )
    with op.batch_alter_table('leader_messages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_leader_messages_group_id'), ['group_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_leader_messages_sender_id'), ['sender_id'], unique=False)

    op.create_table('peer_supporters',
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('availability', sa.String(length=200), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_peer_supporters_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_peer_supporters_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('person_id', name=op.f('pk_peer_supporters'))
    )
    with op.batch_alter_table('peer_supporters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_peer_supporters_organisation_id'), ['organisation_id'], unique=False)

    op.create_table('meeting_reports',
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=False),
    sa.Column('host_id', sa.Integer(), nullable=True),
    sa.Column('covered', sa.String(length=1000), nullable=False),
    sa.Column('attendance', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_meeting_reports_group_id_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['host_id'], ['people.id'], name=op.f('fk_meeting_reports_host_id_people'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_meeting_reports_session_id_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('session_id', name=op.f('pk_meeting_reports'))
    )
    with op.batch_alter_table('meeting_reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meeting_reports_group_id'), ['group_id'], unique=False)

    op.create_table('session_hosts',
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('chosen_by', sa.Integer(), nullable=True),
    sa.Column('chosen_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['chosen_by'], ['people.id'], name=op.f('fk_session_hosts_chosen_by_people'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_session_hosts_person_id_people'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_session_hosts_session_id_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('session_id', name=op.f('pk_session_hosts'))
    )
    with op.batch_alter_table('session_hosts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_session_hosts_person_id'), ['person_id'], unique=False)

    op.create_table('peer_offers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('response_id', sa.Integer(), nullable=True),
    sa.Column('instrument', sa.String(length=40), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('cutoff', sa.Float(), nullable=False),
    sa.Column('status', sa.Enum('offered', 'accepted', 'declined', 'proposed', 'matched', 'closed', name='peer_offer_status', native_enum=False, length=32), nullable=False),
    sa.Column('consent_contact', sa.Boolean(), nullable=False),
    sa.Column('decline_reason', sa.Enum('no_time', 'confidentiality', 'not_needed', 'other_support', 'other', name='peer_decline_reason', native_enum=False, length=32), nullable=True),
    sa.Column('decline_note', sa.String(length=500), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('peer_id', sa.Integer(), nullable=True),
    sa.Column('proposed_by', sa.Integer(), nullable=True),
    sa.Column('confirmed_by', sa.Integer(), nullable=True),
    sa.Column('matched_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('window_ends_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('group_id', sa.Integer(), nullable=True),
    sa.Column('series_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['confirmed_by'], ['people.id'], name=op.f('fk_peer_offers_confirmed_by_people'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['group_id'], ['groups.id'], name=op.f('fk_peer_offers_group_id_groups'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisations.id'], name=op.f('fk_peer_offers_organisation_id_organisations')),
    sa.ForeignKeyConstraint(['peer_id'], ['people.id'], name=op.f('fk_peer_offers_peer_id_people'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_peer_offers_person_id_people'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['proposed_by'], ['people.id'], name=op.f('fk_peer_offers_proposed_by_people'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['response_id'], ['questionnaire_responses.id'], name=op.f('fk_peer_offers_response_id_questionnaire_responses'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['series_id'], ['series.id'], name=op.f('fk_peer_offers_series_id_series'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_peer_offers')),
    sa.UniqueConstraint('response_id', name=op.f('uq_peer_offers_response_id'))
    )
    with op.batch_alter_table('peer_offers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_peer_offers_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index('ix_peer_offers_person_status', ['person_id', 'status'], unique=False)

    op.create_table('peer_evaluations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('offer_id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('side', sa.Enum('colleague', 'peer', name='peer_evaluation_side', native_enum=False, length=32), nullable=False),
    sa.Column('helpful', sa.Integer(), nullable=False),
    sa.Column('comment', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['offer_id'], ['peer_offers.id'], name=op.f('fk_peer_evaluations_offer_id_peer_offers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_peer_evaluations_person_id_people'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_peer_evaluations_session_id_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_peer_evaluations')),
    sa.UniqueConstraint('session_id', 'person_id', name=op.f('uq_peer_evaluations_session_id_person_id'))
    )


def downgrade() -> None:
    op.drop_table('peer_evaluations')
    with op.batch_alter_table('peer_offers', schema=None) as batch_op:
        batch_op.drop_index('ix_peer_offers_person_status')
        batch_op.drop_index(batch_op.f('ix_peer_offers_organisation_id'))

    op.drop_table('peer_offers')
    with op.batch_alter_table('session_hosts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_session_hosts_person_id'))

    op.drop_table('session_hosts')
    with op.batch_alter_table('meeting_reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meeting_reports_group_id'))

    op.drop_table('meeting_reports')
    with op.batch_alter_table('peer_supporters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_peer_supporters_organisation_id'))

    op.drop_table('peer_supporters')
    with op.batch_alter_table('leader_messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_leader_messages_sender_id'))
        batch_op.drop_index(batch_op.f('ix_leader_messages_group_id'))

    op.drop_table('leader_messages')
