"""instruments saved in the browser

``instrument_versions.uploaded`` marks the versions saved on the instrument pages (/admin/instruments): those
instruments are offered beside the instruments folder's. Nothing about a respondent.

Revision ID: 0014_editor
Revises: 0013_queue
Create Date: 2026-12-03 09:30:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0014_editor'
down_revision: str | None = '0013_queue'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('instrument_versions') as batch:
        batch.add_column(sa.Column('uploaded', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('instrument_versions') as batch:
        batch.drop_column('uploaded')
