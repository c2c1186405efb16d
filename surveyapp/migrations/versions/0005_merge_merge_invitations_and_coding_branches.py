"""merge invitations and coding branches

Both branches grew from 0001 (auth and invitations on one side, coding and assist on the other); this revision
joins them so the migrations have one head and `upgrade head` names a single target.

Revision ID: 0005_merge
Revises: 0002_invitations, 0004_assist
Create Date: 2026-12-02 18:36:41.823509
"""
from collections.abc import Sequence

revision: str = '0005_merge'
down_revision: str | Sequence[str] | None = ('0002_invitations', '0004_assist')
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
