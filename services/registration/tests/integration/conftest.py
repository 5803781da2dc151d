"""Fixtures of the integration modules that work on the whole province's region data: a fresh
database per module, migrated to head and loaded with the shipped data of Jawa Timur, dropped
afterwards (``sessions``), and a unit of work on it (``uow``). A module that needs another database
defines its own fixtures of these names."""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from bimtek_shared.persistence.database import create_database_if_missing, drop_database_if_exists, sync_url
from bimtek_shared.persistence.messaging_tables import MessagingTables
from registration.adapters.orm import metadata
from registration.adapters.region_files import read_shipped
from registration.adapters.regions import load_province
from registration.service_layer.unit_of_work import RegistrationUnitOfWork
from registration.settings import DEVELOPMENT_NIK_ENCRYPTION_KEY, DEVELOPMENT_NIK_LOOKUP_KEY

UNIT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def sessions(request):
    module = request.module.__name__.rpartition(".")[2].removeprefix("test_")
    url = f"postgresql://postgres@127.0.0.1:5432/bimtek_test_{module}_{uuid.uuid4().hex[:8]}"
    create_database_if_missing(url)
    try:
        subprocess.run([sys.executable, "-m", "alembic", "-c", str(UNIT / "alembic.ini"), "upgrade", "head"],
                       env={**os.environ, "DATABASE_URL": url}, cwd=UNIT, check=True, stdout=subprocess.DEVNULL)
        engine = create_engine(sync_url(url))
        with engine.begin() as conn:
            load_province(conn, read_shipped("35"), "shipped data, for tests")
        yield sessionmaker(engine, expire_on_commit=False)
        engine.dispose()
    finally:
        drop_database_if_exists(url)


@pytest.fixture
def uow(sessions) -> RegistrationUnitOfWork:
    return RegistrationUnitOfWork(
        sessions,
        MessagingTables(outbox=metadata.tables["outbox"], processed_events=metadata.tables["processed_events"]),
        correlation_id=f"test-{uuid.uuid4().hex[:8]}",
        **RegistrationUnitOfWork.dependencies_from_config(
            {"NIK_ENCRYPTION_KEY": DEVELOPMENT_NIK_ENCRYPTION_KEY, "NIK_LOOKUP_KEY": DEVELOPMENT_NIK_LOOKUP_KEY}),
    )
