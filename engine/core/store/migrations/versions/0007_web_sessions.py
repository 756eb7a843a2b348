"""Web sign-in: local credentials (Argon2 hashes), server-side sessions, failed sign-ins.

Revision ID: 0007_web_sessions
Revises: 0006_hardening
Create Date: 2026-11-28
"""
import sqlalchemy as sa
from alembic import op

revision = '0007_web_sessions'
down_revision = '0006_hardening'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('web_credential',
    sa.Column('login', sa.String(length=64), nullable=False),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('must_change', sa.Boolean(), nullable=False),
    sa.Column('set_at', sa.DateTime(), nullable=False),
    sa.Column('locked_until', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('login')
    )
    op.create_table('web_session',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('login', sa.String(length=64), nullable=False),
    sa.Column('csrf', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash')
    )
    with op.batch_alter_table('web_session', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_web_session_login'), ['login'], unique=False)
    op.create_table('web_sign_in_failure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('login', sa.String(length=64), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('web_sign_in_failure', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_web_sign_in_failure_login'), ['login'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_web_sign_in_failure_address'), ['address'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_web_sign_in_failure_at'), ['at'], unique=False)


def downgrade() -> None:
    op.drop_table('web_sign_in_failure')
    op.drop_table('web_session')
    op.drop_table('web_credential')
