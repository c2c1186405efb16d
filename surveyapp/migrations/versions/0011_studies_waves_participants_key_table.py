"""studies: waves, participants, the key table kept apart, links of responses, the sealed randomization

Revision ID: 0011_studies
Revises: 0010_results
Create Date: 2026-12-03 09:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0011_studies'
down_revision: str | None = '0010_results'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _study_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(['study_slug'], ['studies.slug'], name=op.f(f'fk_{table}_study_slug_studies'),
                                   ondelete='CASCADE')


def upgrade() -> None:
    op.create_table('studies',
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('linkage', sa.String(length=20), nullable=False),
    sa.Column('code_questions', sa.JSON(), nullable=False),
    sa.Column('random_code', sa.Boolean(), nullable=False),
    sa.Column('created_on', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('slug', name=op.f('pk_studies'))
    )
    op.create_table('study_waves',
    sa.Column('study_slug', sa.String(length=64), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=120), nullable=False),
    sa.Column('survey_slug', sa.String(length=64), nullable=False),
    _study_fk('study_waves'),
    sa.ForeignKeyConstraint(['survey_slug'], ['surveys.slug'], name=op.f('fk_study_waves_survey_slug_surveys')),
    sa.PrimaryKeyConstraint('study_slug', 'number', name=op.f('pk_study_waves')),
    sa.UniqueConstraint('study_slug', 'label', name=op.f('uq_study_waves_study_slug')),
    sa.UniqueConstraint('survey_slug', name=op.f('uq_study_waves_survey_slug'))
    )
    op.create_table('study_participants',
    sa.Column('study_slug', sa.String(length=64), nullable=False),
    sa.Column('study_id', sa.String(length=32), nullable=False),
    sa.Column('stratum', sa.String(length=120), nullable=False),
    sa.Column('arm', sa.String(length=64), nullable=True),
    sa.Column('enrolled_on', sa.Date(), nullable=True),
    _study_fk('study_participants'),
    sa.PrimaryKeyConstraint('study_slug', 'study_id', name=op.f('pk_study_participants')),
    sqlite_with_rowid=False
    )
    op.create_table('study_keys',
    sa.Column('study_slug', sa.String(length=64), nullable=False),
    sa.Column('study_id', sa.String(length=32), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    _study_fk('study_keys'),
    sa.PrimaryKeyConstraint('study_slug', 'study_id', name=op.f('pk_study_keys')),
    sa.UniqueConstraint('study_slug', 'email', name=op.f('uq_study_keys_study_slug')),
    sqlite_with_rowid=False
    )
    op.create_table('study_links',
    sa.Column('response_key', sa.String(length=32), nullable=False),
    sa.Column('study_slug', sa.String(length=64), nullable=False),
    sa.Column('wave', sa.Integer(), nullable=False),
    sa.Column('study_id', sa.String(length=32), nullable=False),
    sa.Column('arm', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['response_key'], ['responses.key'], name=op.f('fk_study_links_response_key_responses'),
                            ondelete='CASCADE'),
    _study_fk('study_links'),
    sa.PrimaryKeyConstraint('response_key', name=op.f('pk_study_links')),
    sa.UniqueConstraint('study_slug', 'wave', 'study_id', name=op.f('uq_study_links_study_slug')),
    sqlite_with_rowid=False
    )
    with op.batch_alter_table('study_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_study_links_study_slug'), ['study_slug'], unique=False)
    op.create_table('study_randomizations',
    sa.Column('study_slug', sa.String(length=64), nullable=False),
    sa.Column('arms', sa.JSON(), nullable=False),
    sa.Column('strata_by', sa.String(length=64), nullable=False),
    sa.Column('sealed', sa.LargeBinary(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('created_on', sa.Date(), nullable=False),
    _study_fk('study_randomizations'),
    sa.PrimaryKeyConstraint('study_slug', name=op.f('pk_study_randomizations'))
    )
    op.create_table('study_allocations',
    sa.Column('study_slug', sa.String(length=64), nullable=False),
    sa.Column('stratum', sa.String(length=120), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('block', sa.Integer(), nullable=False),
    sa.Column('block_size', sa.Integer(), nullable=False),
    sa.Column('arm', sa.String(length=64), nullable=False),
    sa.Column('study_id', sa.String(length=32), nullable=False),
    sa.Column('enrolled_on', sa.Date(), nullable=False),
    _study_fk('study_allocations'),
    sa.PrimaryKeyConstraint('study_slug', 'stratum', 'sequence', name=op.f('pk_study_allocations')),
    sa.UniqueConstraint('study_slug', 'study_id', name=op.f('uq_study_allocations_study_slug'))
    )


def downgrade() -> None:
    op.drop_table('study_allocations')
    op.drop_table('study_randomizations')
    with op.batch_alter_table('study_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_study_links_study_slug'))
    op.drop_table('study_links')
    op.drop_table('study_keys')
    op.drop_table('study_participants')
    op.drop_table('study_waves')
    op.drop_table('studies')
