"""Fixtures of the integration modules that work on the whole province's region data: a fresh
database per module, migrated to head and loaded with the shipped data of Jawa Timur, dropped
afterwards (``sessions``), and a unit of work on it (``uow``). A module that needs another database
defines its own fixtures of these names."""
from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from bimtek_shared.persistence.messaging_tables import MessagingTables
from registration.adapters.orm import metadata
from registration.adapters.region_files import read_shipped
from registration.adapters.regions import load_province
from registration.service_layer.unit_of_work import RegistrationUnitOfWork
from registration.settings import DEVELOPMENT_NIK_ENCRYPTION_KEY, DEVELOPMENT_NIK_LOOKUP_KEY
from tests.support.databases import migrated_sessions

UNIT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def sessions(request):
    module = request.module.__name__.rpartition(".")[2].removeprefix("test_")
    with migrated_sessions(UNIT, module,
                           prepare=lambda conn: load_province(conn, read_shipped("35"), "shipped data, for tests")
                           ) as made:
        yield made


@pytest.fixture
def uow(sessions) -> RegistrationUnitOfWork:
    return RegistrationUnitOfWork(
        sessions,
        MessagingTables(outbox=metadata.tables["outbox"], processed_events=metadata.tables["processed_events"]),
        correlation_id=f"test-{uuid.uuid4().hex[:8]}",
        **RegistrationUnitOfWork.dependencies_from_config(
            {"NIK_ENCRYPTION_KEY": DEVELOPMENT_NIK_ENCRYPTION_KEY, "NIK_LOOKUP_KEY": DEVELOPMENT_NIK_LOOKUP_KEY}),
    )
