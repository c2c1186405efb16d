"""accounts' roles, disabled accounts, survey and project teams, set-password links

``users`` gets ``role`` (admin, investigator, coder, viewer) and ``disabled``. **Every account that exists
before this revision becomes an admin**, so nobody is locked out of what they could do before roles existed;
an admin then gives the others their roles at /admin/users. ``survey_members`` and ``coding_members`` hold who
is in which survey's and project's team (owner or member / owner or coder); ``account_links`` holds the SHA-256
of each set-password (invite) and set-up link's token, never the token.

Revision ID: 0012_roles
Revises: 0011_studies
Create Date: 2026-12-03 09:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0012_roles'
down_revision: str | None = '0011_studies'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('role', sa.String(length=20), server_default='investigator', nullable=False))
        batch_op.add_column(sa.Column('disabled', sa.Boolean(), server_default=sa.false(), nullable=False))
    # Accounts made before roles could do everything: they stay able to (see the docstring).
    op.execute(sa.text("UPDATE users SET role = 'admin'"))

    op.create_table('survey_members',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('survey_slug', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=10), nullable=False),
    sa.ForeignKeyConstraint(['survey_slug'], ['surveys.slug'], name=op.f('fk_survey_members_survey_slug_surveys'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_survey_members_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'survey_slug', name=op.f('pk_survey_members'))
    )
    with op.batch_alter_table('survey_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_survey_members_survey_slug'), ['survey_slug'], unique=False)

    op.create_table('coding_members',
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('role', sa.String(length=10), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['coding_projects.id'],
                            name=op.f('fk_coding_members_project_id_coding_projects'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('project_id', 'user_id', name=op.f('pk_coding_members'))
    )
    with op.batch_alter_table('coding_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_coding_members_user_id'), ['user_id'], unique=False)

    op.create_table('account_links',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('purpose', sa.String(length=10), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('expires_at', sa.DateTime(), nullable=True),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_account_links_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_account_links'))
    )
    with op.batch_alter_table('account_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_account_links_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    op.drop_table('account_links')
    op.drop_table('coding_members')
    op.drop_table('survey_members')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('disabled')
        batch_op.drop_column('role')
