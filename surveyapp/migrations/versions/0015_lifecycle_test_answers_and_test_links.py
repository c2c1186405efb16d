"""test answers and test links

``responses.test`` marks the answers given through a survey's test link: counted nowhere unless asked for, and
deleted in one click. ``surveys.test_token_hash`` holds the SHA-256 of the survey's test link's token (None: no
link). Nothing about a respondent.

Revision ID: 0015_lifecycle
Revises: 0014_editor
Create Date: 2026-12-03 12:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0015_lifecycle'
down_revision: str | None = '0014_editor'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('responses') as batch:
        batch.add_column(sa.Column('test', sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table('surveys') as batch:
        batch.add_column(sa.Column('test_token_hash', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('surveys') as batch:
        batch.drop_column('test_token_hash')
    with op.batch_alter_table('responses') as batch:
        batch.drop_column('test')
