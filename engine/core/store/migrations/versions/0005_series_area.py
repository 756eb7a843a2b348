"""A MACE series belongs to a partnership area (its meetings and agendas are that area's).

Revision ID: 0005_series_area
Revises: 0004_cerar_mace
Create Date: 2026-11-27
"""
import sqlalchemy as sa
from alembic import op

revision = '0005_series_area'
down_revision = '0004_cerar_mace'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('mace_series', schema=None) as batch_op:
        batch_op.add_column(sa.Column('area', sa.String(length=64), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('mace_series', schema=None) as batch_op:
        batch_op.drop_column('area')

