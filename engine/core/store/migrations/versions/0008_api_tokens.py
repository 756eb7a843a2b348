"""JSON API tokens: one row per token (its SHA-256 hash, never the token), revocable.

Revision ID: 0008_api_tokens
Revises: 0007_web_sessions
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

revision = '0008_api_tokens'
down_revision = '0007_web_sessions'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('api_token',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('login', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('last_used_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.Column('revoked_by', sa.String(length=64), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('api_token', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_token_login'), ['login'], unique=False)


def downgrade() -> None:
    op.drop_table('api_token')
