"""The roster follows registration's participant events against a real PostgreSQL (a fresh database
for this module, migrated to head, dropped afterwards): the newest version wins whatever the order
of arrival, and an erasure leaves a tombstone that a late registration does not fill again."""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import sessionmaker

from bimtek_shared.contracts.caller import Caller
from bimtek_shared.contracts.envelope import new_event
from bimtek_shared.persistence.database import create_database_if_missing, drop_database_if_exists, sync_url
from bimtek_shared.persistence.messaging_tables import MessagingTables
from certificates.adapters.orm import metadata
from certificates.service_layer.handlers import get_roster_entry, record_roster_changes, record_roster_entries
from certificates.service_layer.unit_of_work import CertificatesUnitOfWork
from certificates.settings import CertificatesSettings

pytestmark = pytest.mark.integration

UNIT = Path(__file__).resolve().parents[2]
REGENCY = "35.17"
NOW = datetime.now(timezone.utc).isoformat()
COOPERATIVE = str(uuid.uuid4())


@pytest.fixture(scope="module")
def sessions():
    url = f"postgresql://postgres@127.0.0.1:5432/bimtek_test_roster_{uuid.uuid4().hex[:8]}"
    create_database_if_missing(url)
    try:
        subprocess.run([sys.executable, "-m", "alembic", "-c", str(UNIT / "alembic.ini"), "upgrade", "head"],
                       env={**os.environ, "DATABASE_URL": url}, cwd=UNIT, check=True, stdout=subprocess.DEVNULL)
        engine = create_engine(sync_url(url))
        yield sessionmaker(engine, expire_on_commit=False)
        engine.dispose()
    finally:
        drop_database_if_exists(url)


@pytest.fixture
def uow(sessions) -> CertificatesUnitOfWork:
    messaging = MessagingTables(outbox=metadata.tables["outbox"], processed_events=metadata.tables["processed_events"])
    issuing = CertificatesUnitOfWork.dependencies_from_config(CertificatesSettings().nameko_config())
    return CertificatesUnitOfWork(sessions, messaging, correlation_id="test", **issuing)


def registered(pid: str, name: str = "Siti Aminah"):
    return new_event("participant.registered", {
        "participant_id": pid, "participant_code": "ABCD2345", "full_name": name, "sex": "P",
        "position_group": "pengurus", "position": "ketua", "cooperative_id": COOPERATIVE, "registered_at": NOW},
        regency=REGENCY, correlation_id="test")


def state(pid: str, version: int, name: str, position: str = "ketua") -> dict:
    return {"participant_id": pid, "version": version, "full_name": name, "sex": "P", "position_group": "pengurus",
            "position": position, "cooperative_id": COOPERATIVE, "registered_at": NOW}


def updated(pid: str, version: int, name: str):
    return new_event("participant.updated", state(pid, version, name) | {"changed": ["full_name"], "updated_at": NOW},
                     regency=REGENCY, correlation_id="test")


def withdrawn(pid: str, version: int, name: str):
    return new_event("participant.withdrawn", state(pid, version, name) | {"reason": "resigned", "withdrawn_at": NOW},
                     regency=REGENCY, correlation_id="test")


def erased(pid: str, version: int):
    return new_event("participant.erased", {
        "participant_id": pid, "version": version, "position_group": "pengurus", "cooperative_id": COOPERATIVE,
        "registered_at": NOW, "erased_at": NOW}, regency=REGENCY, correlation_id="test")


def roster_row(sessions, pid: str) -> tuple:
    with sessions() as session:
        return tuple(session.execute(text("SELECT full_name, position, status, version FROM roster "
                                          "WHERE participant_id = :id"), {"id": pid}).one())


def test_changes_in_any_order_leave_the_newest(sessions, uow):
    pid = str(uuid.uuid4())
    record_roster_entries(uow, [registered(pid)], "certificates.handle_participant_registered")
    newer, older = updated(pid, 3, "Siti Aminah Rahayu"), updated(pid, 2, "Siti A.")
    assert record_roster_changes(uow, [newer], "certificates.handle_participant_updated") == 1
    assert record_roster_changes(uow, [older, newer], "certificates.handle_participant_updated") == 1  # one new
    assert roster_row(sessions, pid) == ("Siti Aminah Rahayu", "ketua", "active", 3)

    record_roster_changes(uow, [withdrawn(pid, 4, "Siti Aminah Rahayu")], "certificates.handle_participant_withdrawn")
    assert roster_row(sessions, pid) == ("Siti Aminah Rahayu", "ketua", "withdrawn", 4)


def test_an_erasure_drops_the_name_even_before_the_registration_arrives(sessions, uow):
    pid = str(uuid.uuid4())
    record_roster_changes(uow, [erased(pid, 3)], "certificates.handle_participant_erased")
    record_roster_changes(uow, [updated(pid, 2, "Late Name")], "certificates.handle_participant_updated")
    record_roster_entries(uow, [registered(pid, "Late Name")], "certificates.handle_participant_registered")
    assert roster_row(sessions, pid) == (None, None, "erased", 3)

    known = str(uuid.uuid4())
    record_roster_entries(uow, [registered(known)], "certificates.handle_participant_registered")
    record_roster_changes(uow, [erased(known, 2)], "certificates.handle_participant_erased")
    assert roster_row(sessions, known) == (None, None, "erased", 2)


def test_the_roster_answers_with_the_status(uow):
    pid = str(uuid.uuid4())
    record_roster_entries(uow, [registered(pid)], "certificates.handle_participant_registered")
    record_roster_changes(uow, [erased(pid, 2)], "certificates.handle_participant_erased")
    answer = get_roster_entry(uow, Caller(user="u", role="operator", regency=REGENCY, correlation_id="t"), pid)
    assert answer == {"participant_id": pid, "on_roster": True, "status": "erased", "certificates": []}
