"""Links between cases (a child's death and the practice review of it); the use of a meeting
series (MACE or the CDOP).

Revision ID: 0009_cdop
Revises: 0008_api_tokens
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

revision = '0009_cdop'
down_revision = '0008_api_tokens'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('case_link',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('linked_case_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['case.id'], ),
    sa.ForeignKeyConstraint(['linked_case_id'], ['case.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('case_id', 'linked_case_id', name='uq_case_link')
    )
    with op.batch_alter_table('case_link', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_link_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_link_linked_case_id'), ['linked_case_id'],
                              unique=False)
    with op.batch_alter_table('mace_series', schema=None) as batch_op:
        batch_op.add_column(sa.Column('use', sa.String(length=8), nullable=False,
                                      server_default='mace'))


def downgrade() -> None:
    with op.batch_alter_table('mace_series', schema=None) as batch_op:
        batch_op.drop_column('use')
    op.drop_table('case_link')
