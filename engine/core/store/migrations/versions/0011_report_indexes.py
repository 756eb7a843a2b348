"""Indexes for the annual report's bounded reads: a workflow's cases by when they closed (the
cases alive in a period: open, or closed on or after its first day, as two index ranges)
and deadlines by clock name (the practice reviews' action-plan actions, without visiting
every closed review).

Revision ID: 0011_report_indexes
Revises: 0010_plan_figures
Create Date: 2026-11-30
"""
from alembic import op

revision = '0011_report_indexes'
down_revision = '0010_plan_figures'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_case_workflow_closed', 'case', ['workflow', 'closed_at'], unique=False)
    op.create_index('ix_deadline_name', 'deadline', ['name'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_deadline_name', table_name='deadline')
    op.drop_index('ix_case_workflow_closed', table_name='case')
