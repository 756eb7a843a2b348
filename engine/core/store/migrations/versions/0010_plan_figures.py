"""Figures from other systems: one row per imported figure, replaced rows kept.

(The business plan's actions are cases of the business_plan_action workflow: no table.)

Revision ID: 0010_plan_figures
Revises: 0009_cdop
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

revision = '0010_plan_figures'
down_revision = '0009_cdop'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('imported_figure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('measure', sa.String(length=64), nullable=False),
    sa.Column('area', sa.String(length=64), nullable=True),
    sa.Column('period', sa.String(length=16), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('value', sa.String(length=32), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.Column('imported_by', sa.String(length=64), nullable=False),
    sa.Column('imported_at', sa.DateTime(), nullable=False),
    sa.Column('replaced_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('imported_figure', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_imported_figure_measure'), ['measure'],
                              unique=False)
        batch_op.create_index('ix_imported_figure_period', ['period_start', 'period_end'],
                              unique=False)


def downgrade() -> None:
    op.drop_table('imported_figure')
