"""A fresh database for one test module of a service: created, migrated to head by the service's
own Alembic (as a deployment migrates it), and dropped afterwards."""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, create_engine
from sqlalchemy.orm import sessionmaker

from bimtek_shared.persistence.database import create_database_if_missing, drop_database_if_exists, sync_url


def migrate(unit: Path, database_url: str) -> None:
    """``alembic upgrade head`` with the unit's (a service's or the gateway's folder) alembic.ini."""
    subprocess.run([sys.executable, "-m", "alembic", "-c", str(unit / "alembic.ini"), "upgrade", "head"],
                   env={**os.environ, "DATABASE_URL": database_url}, cwd=unit, check=True, stdout=subprocess.DEVNULL)


LOCAL_POSTGRES = "postgresql://postgres@127.0.0.1:5432"


@contextmanager
def migrated_database(unit: Path, name: str, server: str = LOCAL_POSTGRES) -> Iterator[str]:
    """The address of ``bimtek_test_<name>_<random>`` on ``server``, created and migrated;
    dropped afterwards."""
    url = f"{server}/bimtek_test_{name}_{uuid.uuid4().hex[:8]}"
    create_database_if_missing(url)
    try:
        migrate(unit, url)
        yield url
    finally:
        drop_database_if_exists(url)


@contextmanager
def migrated_sessions(unit: Path, name: str, *, pool_size: int = 5,
                      prepare: Callable[[Connection], None] | None = None) -> Iterator[sessionmaker]:
    """Sessions on a ``migrated_database``; ``prepare`` runs once in a transaction before the
    first session (reference data, say)."""
    with migrated_database(unit, name) as url:
        engine = create_engine(sync_url(url), pool_size=pool_size)
        try:
            if prepare is not None:
                with engine.begin() as connection:
                    prepare(connection)
            yield sessionmaker(engine, expire_on_commit=False)
        finally:
            engine.dispose()
