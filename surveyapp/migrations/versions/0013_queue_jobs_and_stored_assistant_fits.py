"""background jobs and stored assistant fits

``jobs`` holds background jobs (name, key, JSON arguments, state, result), claimed once by a conditional UPDATE;
``coding_assist_fits`` the coding assistant's fitted index and suggesters, keyed by project, viewer, target and
the hash of the project's state they were fitted on, so every web process and host loads the same fit.

Revision ID: 0013_queue
Revises: 0012_roles
Create Date: 2026-12-03 10:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0013_queue'
down_revision: str | None = '0012_roles'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('ref', sa.String(length=200), nullable=False),
    sa.Column('active', sa.String(length=270), nullable=True),
    sa.Column('arguments', sa.JSON(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('result', sa.JSON(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jobs')),
    sa.UniqueConstraint('active', name=op.f('uq_jobs_active'))
    )
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_jobs_ref'), ['ref'], unique=False)

    op.create_table('coding_assist_fits',
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('viewer', sa.String(length=254), nullable=False),
    sa.Column('target', sa.String(length=264), nullable=False),
    sa.Column('stamp_hash', sa.String(length=64), nullable=False),
    sa.Column('model', sa.LargeBinary(), nullable=False),
    sa.Column('fits', sa.Integer(), nullable=False),
    sa.Column('fitted_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['coding_projects.id'],
                            name=op.f('fk_coding_assist_fits_project_id_coding_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('project_id', 'viewer', 'target', name=op.f('pk_coding_assist_fits'))
    )


def downgrade() -> None:
    op.drop_table('coding_assist_fits')
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_jobs_ref'))
    op.drop_table('jobs')
