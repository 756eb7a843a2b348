"""CERAR and MACE: missing episodes, MACE series, meetings, agenda items, attendance,
decisions and actions; deadlines gain a key (one deadline per episode or action).

Revision ID: 0004_cerar_mace
Revises: 0003_alerts_outbox
Create Date: 2026-11-27
"""
import sqlalchemy as sa
from alembic import op

revision = '0004_cerar_mace'
down_revision = '0003_alerts_outbox'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('mace_series',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('every', sa.String(length=4), nullable=False),
    sa.Column('weekday', sa.Integer(), nullable=False),
    sa.Column('start_time', sa.String(length=5), nullable=False),
    sa.Column('duration_minutes', sa.Integer(), nullable=False),
    sa.Column('chair', sa.String(length=64), nullable=False),
    sa.Column('members', sa.JSON(), nullable=False),
    sa.Column('location', sa.String(length=200), nullable=True),
    sa.Column('anchor_on', sa.Date(), nullable=False),
    sa.Column('horizon_days', sa.Integer(), nullable=False),
    sa.Column('on_holiday', sa.String(length=8), nullable=False),
    sa.Column('uid', sa.String(length=120), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name')
    )
    op.create_table('mace_meeting',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('series_id', sa.Integer(), nullable=False),
    sa.Column('slot_on', sa.Date(), nullable=False),
    sa.Column('slot_at', sa.DateTime(), nullable=False),
    sa.Column('uid', sa.String(length=120), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('agenda', sa.JSON(), nullable=True),
    sa.Column('agenda_published_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], ),
    sa.ForeignKeyConstraint(['series_id'], ['mace_series.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id'),
    sa.UniqueConstraint('series_id', 'slot_on', name='uq_mace_meeting_slot')
    )
    op.create_index(op.f('ix_mace_meeting_series_id'), 'mace_meeting', ['series_id'],
                    unique=False)
    op.create_table('missing_episode',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('episode', sa.String(length=16), nullable=False),
    sa.Column('missing_from', sa.DateTime(), nullable=False),
    sa.Column('returned_at', sa.DateTime(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.Column('rhi_outcome', sa.String(length=16), nullable=True),
    sa.Column('rhi_at', sa.DateTime(), nullable=True),
    sa.Column('rhi_note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id', 'episode', name='uq_missing_episode')
    )
    op.create_index(op.f('ix_missing_episode_case_id'), 'missing_episode', ['case_id'],
                    unique=False)
    op.create_table('mace_action',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=32), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('summary', sa.String(length=300), nullable=False),
    sa.Column('owner', sa.String(length=64), nullable=False),
    sa.Column('agency', sa.String(length=80), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('done_on', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], ),
    sa.ForeignKeyConstraint(['meeting_id'], ['mace_meeting.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('meeting_id', 'ref', name='uq_mace_action_ref')
    )
    op.create_index(op.f('ix_mace_action_meeting_id'), 'mace_action', ['meeting_id'],
                    unique=False)
    op.create_table('mace_agenda_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('text', sa.String(length=300), nullable=False),
    sa.Column('added_by', sa.String(length=64), nullable=False),
    sa.Column('added_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['meeting_id'], ['mace_meeting.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_mace_agenda_item_meeting_id'), 'mace_agenda_item', ['meeting_id'],
                    unique=False)
    op.create_table('mace_attendance',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('agency', sa.String(length=80), nullable=False),
    sa.Column('person', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['meeting_id'], ['mace_meeting.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_mace_attendance_meeting_id'), 'mace_attendance', ['meeting_id'],
                    unique=False)
    op.create_table('mace_decision',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('meeting_id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('decision', sa.String(length=24), nullable=False),
    sa.Column('risk_level', sa.String(length=16), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('recorded_by', sa.String(length=64), nullable=False),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], ),
    sa.ForeignKeyConstraint(['meeting_id'], ['mace_meeting.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_mace_decision_case_id'), 'mace_decision', ['case_id'],
                    unique=False)
    op.create_index(op.f('ix_mace_decision_meeting_id'), 'mace_decision', ['meeting_id'],
                    unique=False)
    op.add_column('deadline',
                  sa.Column('key', sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column('deadline', 'key')
    op.drop_index(op.f('ix_mace_decision_meeting_id'), table_name='mace_decision')
    op.drop_index(op.f('ix_mace_decision_case_id'), table_name='mace_decision')
    op.drop_table('mace_decision')
    op.drop_index(op.f('ix_mace_attendance_meeting_id'), table_name='mace_attendance')
    op.drop_table('mace_attendance')
    op.drop_index(op.f('ix_mace_agenda_item_meeting_id'), table_name='mace_agenda_item')
    op.drop_table('mace_agenda_item')
    op.drop_index(op.f('ix_mace_action_meeting_id'), table_name='mace_action')
    op.drop_table('mace_action')
    op.drop_index(op.f('ix_missing_episode_case_id'), table_name='missing_episode')
    op.drop_table('missing_episode')
    op.drop_index(op.f('ix_mace_meeting_series_id'), table_name='mace_meeting')
    op.drop_table('mace_meeting')
    op.drop_table('mace_series')
