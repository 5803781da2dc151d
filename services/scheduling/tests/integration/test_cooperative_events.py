"""The scheduling consumer of cooperative events against a real PostgreSQL (a fresh database for this
module, migrated to head, dropped afterwards): each event once, the newest version kept."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest

from bimtek_shared.contracts.envelope import new_event
from bimtek_shared.persistence.messaging_tables import MessagingTables
from scheduling.adapters.orm import metadata
from scheduling.service_layer.handlers import record_cooperatives
from scheduling.service_layer.unit_of_work import SchedulingUnitOfWork
from tests.support.databases import migrated_sessions

pytestmark = pytest.mark.integration

UNIT = Path(__file__).resolve().parents[2]
REGISTERED, UPDATED = "scheduling.handle_cooperative_registered", "scheduling.handle_cooperative_updated"


@pytest.fixture(scope="module")
def sessions():
    with migrated_sessions(UNIT, "sched_coops") as made:
        yield made


@pytest.fixture
def uow(sessions) -> SchedulingUnitOfWork:
    messaging = MessagingTables(outbox=metadata.tables["outbox"], processed_events=metadata.tables["processed_events"])
    return SchedulingUnitOfWork(sessions, messaging, correlation_id="test")


def registered(cooperative_id: uuid.UUID):
    return new_event("cooperative.registered", {
        "cooperative_id": str(cooperative_id), "name": "Koperasi Desa Merah Putih Plandi",
        "villages": ["35.17.09.2003"], "districts": ["35.17.09"], "version": 1,
        "registered_at": datetime.now(timezone.utc).isoformat()}, regency="35.17", correlation_id="test")


def updated(cooperative_id: uuid.UUID, version: int, name: str):
    return new_event("cooperative.updated", {
        "cooperative_id": str(cooperative_id), "name": name, "villages": ["35.17.09.2003", "35.17.10.2001"],
        "districts": ["35.17.09", "35.17.10"], "version": version, "changed": ["name", "villages"],
        "updated_at": datetime.now(timezone.utc).isoformat()}, regency="35.17", correlation_id="test")


def known(uow, cooperative_id):
    with uow:
        return uow.cooperatives.get(cooperative_id)


def test_a_registered_cooperative_is_recorded_once(uow):
    cooperative_id = uuid.uuid4()
    event = registered(cooperative_id)

    assert record_cooperatives(uow, [event, event], REGISTERED) == 1
    assert record_cooperatives(uow, [event], REGISTERED) == 0  # redelivered

    stored = known(uow, cooperative_id)
    assert (stored.regency, stored.districts, stored.version) == ("35.17", ("35.17.09",), 1)
    assert stored.name == "Koperasi Desa Merah Putih Plandi"


def test_the_newest_version_wins_whatever_arrives_first(uow):
    cooperative_id = uuid.uuid4()
    # The update's queue was quicker than the registration's, and two updates came in one batch.
    assert record_cooperatives(uow, [updated(cooperative_id, 3, "Koperasi Tiga"),
                                     updated(cooperative_id, 2, "Koperasi Dua")], UPDATED) == 2
    assert record_cooperatives(uow, [registered(cooperative_id)], REGISTERED) == 1

    stored = known(uow, cooperative_id)
    assert (stored.name, stored.version, stored.districts) == ("Koperasi Tiga", 3, ("35.17.09", "35.17.10"))
