"""A MACE action may be dropped (no longer needed): the reason and the day it was dropped,
beside its status ('dropped'). Existing rows are open or done and keep both empty.

Revision ID: 0012_mace_action_drop
Revises: 0011_report_indexes
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

revision = '0012_mace_action_drop'
down_revision = '0011_report_indexes'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('mace_action', schema=None) as batch_op:
        batch_op.add_column(sa.Column('drop_reason', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('dropped_on', sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('mace_action', schema=None) as batch_op:
        batch_op.drop_column('dropped_on')
        batch_op.drop_column('drop_reason')
