"""Alembic environment: the URL comes from surveykit's settings, the tables from its models."""

from alembic import context
from sqlalchemy import engine_from_config, pool

import coding.assist_log  # noqa: F401  (suggestion decisions)
import surveyapp.auth.models  # noqa: F401  (investigators' accounts)
import surveyapp.studies.models  # noqa: F401  (studies: waves, participants, the key table)
from coding.store import CodingBase
from surveyapp.models import Base

config = context.config
target_metadata = [Base.metadata, CodingBase.metadata]


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = engine_from_config(config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.",
                                     poolclass=pool.NullPool)
    with connectable.connect() as connection:
        # render_as_batch lets SQLite alter tables by copying them, as it cannot ALTER most things.
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
