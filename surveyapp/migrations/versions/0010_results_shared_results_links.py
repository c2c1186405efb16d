"""shared results links

``results_links`` holds the revocable links to a survey's shared (suppressed) results page: the hash of the
link's token, when it was made and when it was revoked. Nothing about a respondent.

Revision ID: 0010_results
Revises: 0009_invited_counts
Create Date: 2026-12-03 09:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0010_results'
down_revision: str | None = '0009_invited_counts'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('results_links',
    sa.Column('key', sa.String(length=32), nullable=False),
    sa.Column('survey_slug', sa.String(length=64), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['survey_slug'], ['surveys.slug'], name=op.f('fk_results_links_survey_slug_surveys'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_results_links')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_results_links_token_hash'))
    )
    op.create_index(op.f('ix_results_links_survey_slug'), 'results_links', ['survey_slug'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_results_links_survey_slug'), table_name='results_links')
    op.drop_table('results_links')
