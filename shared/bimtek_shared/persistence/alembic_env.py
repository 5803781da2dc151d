"""The body of every service's ``migrations/env.py``: run Alembic against the unit's database."""
from __future__ import annotations

from sqlalchemy import MetaData, create_engine, pool

from .database import create_database_if_missing, sync_url


def run_migrations(context, target_metadata: MetaData, database_url: str) -> None:
    """``context`` is ``alembic.context``; ``database_url`` comes from the unit's settings
    (DATABASE_URL), unless ``-x``-less callers set ``sqlalchemy.url`` in the Alembic config."""
    url = context.config.get_main_option("sqlalchemy.url") or database_url
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
