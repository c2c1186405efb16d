"""sealed drafts and parked answers

``drafts`` is made again as a random id, the survey, ciphertext and the expiry day (no answers in clear, no
invitation key); drafts in progress at the upgrade are dropped, since their key would have to be in the
respondent's browser (they start again). ``parked_answers`` holds finished invitation-mode answers, sealed under
the survey's parking key, until the mixer stores them (surveyapp/invitations/parking.py).

Revision ID: 0008_anonymity
Revises: 0007_auth_sessions
Create Date: 2026-12-03 05:40:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0008_anonymity'
down_revision: str | None = '0007_auth_sessions'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _drafts(*columns: sa.Column) -> None:
    op.create_table('drafts',
    sa.Column('key', sa.String(length=32), nullable=False),
    sa.Column('survey_slug', sa.String(length=64), nullable=False),
    *columns,
    sa.Column('expires_on', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['survey_slug'], ['surveys.slug'], name=op.f('fk_drafts_survey_slug_surveys'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_drafts')),
    sqlite_with_rowid=False
    )
    with op.batch_alter_table('drafts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_drafts_survey_slug'), ['survey_slug'], unique=False)


def upgrade() -> None:
    with op.batch_alter_table('drafts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_drafts_survey_slug'))
    op.drop_table('drafts')
    _drafts(sa.Column('sealed', sa.LargeBinary(), nullable=False))

    op.create_table('parked_answers',
    sa.Column('key', sa.String(length=32), nullable=False),
    sa.Column('survey_slug', sa.String(length=64), nullable=False),
    sa.Column('sealed', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['survey_slug'], ['surveys.slug'], name=op.f('fk_parked_answers_survey_slug_surveys'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_parked_answers')),
    sqlite_with_rowid=False
    )
    with op.batch_alter_table('parked_answers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_parked_answers_survey_slug'), ['survey_slug'], unique=False)


def downgrade() -> None:
    waiting = op.get_bind().execute(sa.text('SELECT count(*) FROM parked_answers')).scalar()
    if waiting:
        raise RuntimeError(f'{waiting} parked answers wait to be mixed: close their surveys (or let them mix) '
                           'before downgrading, or they would be lost')
    with op.batch_alter_table('parked_answers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_parked_answers_survey_slug'))
    op.drop_table('parked_answers')
    with op.batch_alter_table('drafts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_drafts_survey_slug'))
    op.drop_table('drafts')
    _drafts(sa.Column('answers', sa.JSON(), nullable=False))
    with op.batch_alter_table('drafts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('invitation_key', sa.String(length=32), nullable=True))
