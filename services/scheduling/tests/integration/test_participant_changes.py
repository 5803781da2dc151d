"""The scheduling consumer of participant changes against a real PostgreSQL (a fresh database for
this module, migrated to head, dropped afterwards): the withdrawn and the erased leave the waiting
list for good, the newest version wins, and substitutions are kept as links."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import text

from bimtek_shared.contracts.envelope import new_event
from bimtek_shared.persistence.messaging_tables import MessagingTables
from scheduling.adapters.orm import metadata
from scheduling.service_layer.handlers import (
    record_participant_changes, record_registered_participants, record_substitutions,
)
from scheduling.service_layer.unit_of_work import SchedulingUnitOfWork
from tests.support.databases import migrated_sessions

pytestmark = pytest.mark.integration

UNIT = Path(__file__).resolve().parents[2]
REGENCY = "35.17"
NOW = datetime.now(timezone.utc).isoformat()
FIRST, SECOND = str(uuid.uuid4()), str(uuid.uuid4())  # cooperatives


@pytest.fixture(scope="module")
def sessions():
    with migrated_sessions(UNIT, "sched_changes") as made:
        yield made


@pytest.fixture
def uow(sessions) -> SchedulingUnitOfWork:
    messaging = MessagingTables(outbox=metadata.tables["outbox"], processed_events=metadata.tables["processed_events"])
    return SchedulingUnitOfWork(sessions, messaging, correlation_id="test")


def registered(pid: str):
    return new_event("participant.registered", {
        "participant_id": pid, "participant_code": "ABCD2345", "full_name": "Budi", "sex": "L",
        "position_group": "pengurus", "position": "ketua", "cooperative_id": FIRST, "registered_at": NOW},
        regency=REGENCY, correlation_id="test")


def state(pid: str, version: int, cooperative: str, group: str = "pengurus") -> dict:
    return {"participant_id": pid, "version": version, "full_name": "Budi", "sex": "L", "position_group": group,
            "position": "ketua" if group == "pengurus" else "ketua_pengawas", "cooperative_id": cooperative,
            "registered_at": NOW}


def updated(pid: str, version: int, cooperative: str, group: str = "pengurus"):
    return new_event("participant.updated", state(pid, version, cooperative, group) | {
        "changed": ["cooperative_id"], "updated_at": NOW}, regency=REGENCY, correlation_id="test")


def withdrawn(pid: str, version: int, replaced_by: str | None = None):
    return new_event("participant.withdrawn", state(pid, version, FIRST) | {
        "reason": "substituted" if replaced_by else "resigned", "replaced_by": replaced_by, "withdrawn_at": NOW},
        regency=REGENCY, correlation_id="test")


def participant(sessions, pid: str) -> tuple:
    with sessions() as session:
        return tuple(session.execute(text("SELECT status, cooperative_id::text, position_group, version "
                                          "FROM participants WHERE participant_id = :id"), {"id": pid}).one())


def test_a_move_then_a_withdrawal_in_any_order(sessions, uow):
    pid = str(uuid.uuid4())
    record_registered_participants(uow, [registered(pid)], "scheduling.handle_participant_registered")
    record_participant_changes(uow, [withdrawn(pid, 3)], "scheduling.handle_participant_withdrawn")
    record_participant_changes(uow, [updated(pid, 2, SECOND, "pengawas")], "scheduling.handle_participant_updated")
    assert participant(sessions, pid) == ("withdrawn", FIRST, "pengurus", 3)  # the older move came too late

    moved = str(uuid.uuid4())
    record_registered_participants(uow, [registered(moved)], "scheduling.handle_participant_registered")
    record_participant_changes(uow, [updated(moved, 2, SECOND, "pengawas")], "scheduling.handle_participant_updated")
    assert participant(sessions, moved) == ("waiting", SECOND, "pengawas", 2)  # still waiting, elsewhere


def test_an_erasure_before_the_registration_is_kept(sessions, uow):
    pid = str(uuid.uuid4())
    erased = new_event("participant.erased", {
        "participant_id": pid, "version": 2, "position_group": "pengurus", "cooperative_id": FIRST,
        "registered_at": NOW, "erased_at": NOW}, regency=REGENCY, correlation_id="test")
    assert record_participant_changes(uow, [erased, erased], "scheduling.handle_participant_erased") == 1
    record_registered_participants(uow, [registered(pid)], "scheduling.handle_participant_registered")
    assert participant(sessions, pid) == ("erased", FIRST, "pengurus", 2)


def test_substitutions_are_kept_as_links(sessions, uow):
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    link = new_event("participant.substituted", {
        "replaced_participant_id": a, "replacement_participant_id": b, "cooperative_id": FIRST,
        "position_group": "pengurus", "position": "ketua", "substituted_at": NOW}, regency=REGENCY,
        correlation_id="test")
    assert record_substitutions(uow, [link], "scheduling.handle_participant_substituted") == 1
    with uow:
        assert str(uow.participants.replacement_of(uuid.UUID(a))) == b
