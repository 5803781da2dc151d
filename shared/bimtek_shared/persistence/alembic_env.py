"""The body of every service's ``migrations/env.py``: run Alembic online against DATABASE_URL."""
from __future__ import annotations

import os

from sqlalchemy import MetaData, create_engine, pool

from .database import create_database_if_missing, sync_url


def run_migrations(context, target_metadata: MetaData) -> None:  # context: alembic.context
    url = context.config.get_main_option("sqlalchemy.url") or os.environ["DATABASE_URL"]
    if context.is_offline_mode():
        context.configure(url=sync_url(url), target_metadata=target_metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    create_database_if_missing(url)
    engine = create_engine(sync_url(url), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
