"""The roster follows registration's participant events against a real PostgreSQL (a fresh database
for this module, migrated to head, dropped afterwards): the newest version wins whatever the order
of arrival, and an erasure leaves a tombstone that a late registration does not fill again."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import event, text

from bimtek_shared.contracts.envelope import new_event
from bimtek_shared.persistence.messaging_tables import MessagingTables
from certificates.adapters.orm import metadata
from certificates.service_layer.completions import record_completions
from certificates.service_layer.handlers import (
    record_imported_roster_entries, record_roster_changes, record_roster_entries,
)
from certificates.service_layer.unit_of_work import CertificatesUnitOfWork
from certificates.settings import CertificatesSettings
from tests.support.databases import migrated_sessions

pytestmark = pytest.mark.integration

UNIT = Path(__file__).resolve().parents[2]
REGENCY = "35.17"
NOW = datetime.now(timezone.utc).isoformat()
COOPERATIVE = str(uuid.uuid4())


@pytest.fixture(scope="module")
def sessions():
    with migrated_sessions(UNIT, "roster") as made:
        yield made


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


# -- bulk imports (participants.imported: a batch per event) ------------------------------------------
IMPORTED = "certificates.handle_participants_imported"


def imported(*people: tuple[str, str]):
    return new_event("participants.imported", {"job_id": str(uuid.uuid4()), "participants": [
        {"participant_id": pid, "full_name": name, "sex": "P", "position_group": "pengurus", "position": "ketua",
         "cooperative_id": COOPERATIVE, "registered_at": NOW} for pid, name in people]},
        regency=REGENCY, correlation_id="test")


def roster_rows(sessions, pids: list[str]) -> dict[str, list[tuple]]:
    with sessions() as session:
        rows = session.execute(text("SELECT participant_id, full_name, status, version FROM roster "
                                    "WHERE participant_id = ANY(CAST(:ids AS uuid[]))"), {"ids": pids}).all()
    found: dict[str, list[tuple]] = {pid: [] for pid in pids}
    for participant_id, *rest in rows:
        found[str(participant_id)].append(tuple(rest))
    return found


def test_a_batch_mixing_known_and_new_participants_keeps_one_row_each_with_the_newest_data(sessions, uow):
    changed, gone, first, later = (str(uuid.uuid4()) for _ in range(4))
    record_roster_entries(uow, [registered(changed, "Siti Lama")], "certificates.handle_participant_registered")
    record_roster_changes(uow, [updated(changed, 2, "Siti Baru")], "certificates.handle_participant_updated")
    record_roster_changes(uow, [erased(gone, 3)], "certificates.handle_participant_erased")
    batch = imported((changed, "Siti Lama"), (gone, "Nama Terhapus"), (first, "Dewi Lestari"), (first, "Dewi Dua"))
    assert record_imported_roster_entries(uow, [batch], IMPORTED) == 1
    assert record_imported_roster_entries(uow, [batch], IMPORTED) == 0  # redelivered: the inbox knows it
    # The same people announced again in another event (a replayed batch), with one more.
    assert record_imported_roster_entries(uow, [imported((first, "Dewi Lain"), (changed, "Siti Lama"),
                                                         (later, "Rina Wati"))], IMPORTED) == 1
    assert roster_rows(sessions, [changed, gone, first, later]) == {
        changed: [("Siti Baru", "active", 2)], gone: [(None, "erased", 3)],
        first: [("Dewi Lestari", "active", 1)], later: [("Rina Wati", "active", 1)]}


def test_an_imported_participant_whose_completion_came_first_gets_the_certificate_with_the_name(sessions, uow):
    pid, other = str(uuid.uuid4()), str(uuid.uuid4())
    completion = new_event("participant.completed", {
        "participant_id": pid, "session_id": str(uuid.uuid4()), "programme_id": str(uuid.uuid4()),
        "programme_title": "Bimtek Perkoperasian KDMP", "session_days": ["2026-03-02", "2026-03-03"],
        "days_attended": 2, "min_attendance_days": 2, "jp_total": 16, "completed_at": NOW},
        regency=REGENCY, correlation_id="test")
    record_completions(uow, [completion], "certificates.handle_participant_completed")
    record_imported_roster_entries(uow, [imported((other, "Rina Wati"), (pid, "Siti Terlambat"))], IMPORTED)
    with sessions() as session:
        printed = session.execute(text("SELECT version, status, printed_name FROM certificates "
                                       "WHERE participant_id = :id ORDER BY version"), {"id": pid}).all()
    assert [tuple(row) for row in printed] == [(1, "superseded", None), (2, "valid", "Siti Terlambat")]


def test_a_batch_costs_the_same_few_statements_whatever_its_size(sessions, uow):
    engine = sessions.kw["bind"]
    statements: list[bool] = []

    def count(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        # Whether it went row by row: a list of parameter sets goes to psycopg2's executemany, which
        # sends a statement per row; a multi-row INSERT ("insertmanyvalues") comes with one set.
        statements.append(isinstance(parameters, (list, tuple)))

    def statements_for(size: int) -> list[bool]:
        statements.clear()
        event.listen(engine, "before_cursor_execute", count)
        try:
            record_imported_roster_entries(uow, [imported(*((str(uuid.uuid4()), "Ani") for _ in range(size)))],
                                           IMPORTED)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        return list(statements)

    few, many = statements_for(3), statements_for(300)
    assert len(few) == len(many) and not any(many)
