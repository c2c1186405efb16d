"""invited by another channel

``invited_counts`` holds how many were invited to a survey outside surveykit, per department ("" for a count
not split by department); ``imported_counts`` how many imported answers named each department. Both are
totals, never a row per person or per answer.

Revision ID: 0009_invited_counts
Revises: 0007_auth_sessions
Create Date: 2026-12-03 06:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0009_invited_counts'
down_revision: str | None = '0007_auth_sessions'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('invited_counts',
    sa.Column('survey_slug', sa.String(length=64), nullable=False),
    sa.Column('department', sa.String(length=120), nullable=False),
    sa.Column('invited', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['survey_slug'], ['surveys.slug'], name=op.f('fk_invited_counts_survey_slug_surveys'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('survey_slug', 'department', name=op.f('pk_invited_counts'))
    )
    op.create_table('imported_counts',
    sa.Column('survey_slug', sa.String(length=64), nullable=False),
    sa.Column('department', sa.String(length=120), nullable=False),
    sa.Column('answered', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['survey_slug'], ['surveys.slug'], name=op.f('fk_imported_counts_survey_slug_surveys'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('survey_slug', 'department', name=op.f('pk_imported_counts'))
    )


def downgrade() -> None:
    op.drop_table('imported_counts')
    op.drop_table('invited_counts')
