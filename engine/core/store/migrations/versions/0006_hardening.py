"""The audit key identified in each record and in the chain's head (so records made with an
earlier key still verify, and a command run without the configured key is refused); the
deployment's recorded settings (what grants power is fixed at ``init``).

Revision ID: 0006_hardening
Revises: 0005_series_area
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

revision = '0006_hardening'
down_revision = '0005_series_area'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN (no batch copy): the audit table's append-only triggers stay.
    op.add_column('audit_record', sa.Column('key_id', sa.String(length=16), nullable=True))
    op.add_column('audit_head', sa.Column('key_id', sa.String(length=16), nullable=True))
    op.create_table(
        'deployment_setting',
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('value', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('name'),
    )


def downgrade() -> None:
    op.drop_table('deployment_setting')
    with op.batch_alter_table('audit_head', schema=None) as batch_op:
        batch_op.drop_column('key_id')
    op.drop_column('audit_record', 'key_id')
