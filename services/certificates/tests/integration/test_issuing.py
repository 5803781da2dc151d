"""Issuing certificates against a real PostgreSQL (a fresh database for this module, migrated to
head, dropped afterwards): exactly one per participant and programme whatever the redeliveries,
duplicates and concurrent workers; numbers without gaps; re-issue on a correction, erasure and
revocation kept in the history and in the outbox."""
from __future__ import annotations

import threading
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from bimtek_shared.contracts.caller import Caller
from bimtek_shared.contracts.envelope import new_event
from bimtek_shared.contracts.errors import DomainError
from bimtek_shared.persistence.messaging_tables import MessagingTables
from certificates.adapters.orm import metadata
from certificates.adapters.signing import verify_token
from certificates.domain.certificates import issue_year
from certificates.service_layer.completions import record_completions
from certificates.service_layer.handlers import record_roster_changes, record_roster_entries
from certificates.service_layer.issuing import document_for, revoke, verify_public
from certificates.service_layer.unit_of_work import CertificatesUnitOfWork
from certificates.settings import CertificatesSettings
from tests.support.databases import migrated_sessions

pytestmark = pytest.mark.integration

UNIT = Path(__file__).resolve().parents[2]
REGENCY = "35.17"
NOW = datetime.now(timezone.utc).isoformat()
COOPERATIVE = str(uuid.uuid4())
COMPLETED = "certificates.handle_participant_completed"
CONFIG = CertificatesSettings(certificate_public_base_url="https://bimtek.example.id").nameko_config()


@pytest.fixture(scope="module")
def sessions():
    with migrated_sessions(UNIT, "issuing", pool_size=10) as made:
        yield made


def new_uow(sessions) -> CertificatesUnitOfWork:
    messaging = MessagingTables(outbox=metadata.tables["outbox"], processed_events=metadata.tables["processed_events"])
    return CertificatesUnitOfWork(sessions, messaging, correlation_id="test",
                                  **CertificatesUnitOfWork.dependencies_from_config(CONFIG))


@pytest.fixture
def uow(sessions) -> CertificatesUnitOfWork:
    return new_uow(sessions)


def registered(pid: str, name: str = "Siti Aminah"):
    return new_event("participant.registered", {
        "participant_id": pid, "participant_code": "ABCD2345", "full_name": name, "sex": "P",
        "position_group": "pengurus", "position": "bendahara", "cooperative_id": COOPERATIVE, "registered_at": NOW},
        regency=REGENCY, correlation_id="test")


def updated(pid: str, version: int, name: str):
    return new_event("participant.updated", {
        "participant_id": pid, "version": version, "full_name": name, "sex": "P", "position_group": "pengurus",
        "position": "bendahara", "cooperative_id": COOPERATIVE, "registered_at": NOW, "changed": ["full_name"],
        "updated_at": NOW}, regency=REGENCY, correlation_id="test")


def erased(pid: str, version: int):
    return new_event("participant.erased", {
        "participant_id": pid, "version": version, "position_group": "pengurus", "cooperative_id": COOPERATIVE,
        "registered_at": NOW, "erased_at": NOW}, regency=REGENCY, correlation_id="test")


def completed(pid: str, programme: str, session: str | None = None):
    return new_event("participant.completed", {
        "participant_id": pid, "session_id": session or str(uuid.uuid4()), "programme_id": programme,
        "programme_title": "Bimtek Perkoperasian KDMP Kabupaten Jombang 2026",
        "session_days": ["2026-03-02", "2026-03-03"], "days_attended": 2, "min_attendance_days": 2, "jp_total": 16,
        "completed_at": NOW}, regency=REGENCY, correlation_id="test")


def certificates_of(sessions, pid: str) -> list[tuple]:
    with sessions() as session:
        return [tuple(row) for row in session.execute(text(
            "SELECT number, version, status, printed_name FROM certificates WHERE participant_id = :id "
            "ORDER BY version"), {"id": pid})]


def outbox_types(sessions, pid: str) -> list[str]:
    with sessions() as session:
        return [row[0] for row in session.execute(text(
            "SELECT event_type FROM outbox WHERE aggregate_id = :id ORDER BY created_at, event_type"), {"id": pid})]


def test_redelivered_duplicated_and_concurrent_completions_issue_one_certificate(sessions, uow):
    programme = str(uuid.uuid4())
    people = [str(uuid.uuid4()) for _ in range(6)]
    for pid in people:
        record_roster_entries(uow, [registered(pid)], "certificates.handle_participant_registered")
    session = str(uuid.uuid4())
    # Each person's completion as one event delivered twice, and as a second, distinct duplicate event.
    first = [completed(pid, programme, session) for pid in people]
    duplicates = [completed(pid, programme, session) for pid in people]
    deliveries = [first, first, duplicates, list(reversed(first)), duplicates, first + duplicates]
    barrier = threading.Barrier(len(deliveries))
    failures: list[BaseException] = []

    def worker(events) -> None:
        try:
            barrier.wait()
            record_completions(new_uow(sessions), events, COMPLETED)
        except BaseException as error:  # noqa: BLE001 - reported below
            failures.append(error)

    threads = [threading.Thread(target=worker, args=(events,)) for events in deliveries]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures, failures
    record_completions(uow, first, COMPLETED)  # a late redelivery
    record_completions(uow, [completed(people[0], programme)], COMPLETED)  # and yet another duplicate

    with sessions() as db:
        rows = db.execute(text("SELECT participant_id, number, sequence FROM certificates WHERE programme_id = :p"),
                          {"p": programme}).all()
        issued_events = db.execute(text(
            "SELECT count(*) FROM outbox WHERE event_type = 'certificate.issued' "
            "AND envelope->'payload'->>'programme_id' = :p"), {"p": programme}).scalar_one()
    assert sorted(str(row.participant_id) for row in rows) == sorted(people)  # one each
    sequences = sorted(row.sequence for row in rows)  # counted per regency and year, whatever ran before
    assert sequences == list(range(sequences[0], sequences[0] + len(people)))  # no gaps, no repeats
    year = issue_year(datetime.now(timezone.utc))
    assert {row.number for row in rows} == {f"{n:04d}/BIMTEK-KDMP/{REGENCY}/{year}" for n in sequences}
    assert issued_events == len(people)


def test_the_public_answer_verifies_and_the_document_carries_the_address(sessions, uow):
    pid, programme = str(uuid.uuid4()), str(uuid.uuid4())
    record_roster_entries(uow, [registered(pid, "Siti <b>Aminah</b>")], "certificates.handle_participant_registered")
    record_completions(uow, [completed(pid, programme)], COMPLETED)
    with sessions() as db:
        public_id = db.execute(text("SELECT public_id FROM certificates WHERE participant_id = :id"),
                               {"id": pid}).scalar_one()
    assert len(public_id) >= 22  # 16 random bytes
    answer = verify_public(uow, public_id)
    assert answer["status"] == "valid" and answer["signature"]["valid"] is True
    assert answer["full_name"] == "Siti <b>Aminah</b>" and answer["jp_total"] == 16
    assert answer["verification_url"] == f"https://bimtek.example.id/api/v1/public/certificates/{public_id}/page"
    with uow:
        document = document_for(uow, uow.certificates.by_public_id(public_id))
    assert document.participant_name == "Siti <b>Aminah</b>" and document.verification_url == answer["verification_url"]
    claims = verify_token(document.qr_token, uow.issuing.signer.public_keys)
    assert claims is not None and claims.public_id == public_id
    with pytest.raises(DomainError):
        verify_public(uow, "no-such-certificate-public-id")


def test_a_corrected_name_reissues_with_the_same_number_and_supersedes_the_old(sessions, uow):
    pid, programme = str(uuid.uuid4()), str(uuid.uuid4())
    record_roster_entries(uow, [registered(pid, "Siti Aminha")], "certificates.handle_participant_registered")
    record_completions(uow, [completed(pid, programme)], COMPLETED)
    (number, _, _, _), = certificates_of(sessions, pid)
    correction = updated(pid, 2, "Siti Aminah")
    record_roster_changes(uow, [correction], "certificates.handle_participant_updated")
    record_roster_changes(uow, [correction], "certificates.handle_participant_updated")  # redelivered
    assert certificates_of(sessions, pid) == [(number, 1, "superseded", "Siti Aminha"),
                                              (number, 2, "valid", "Siti Aminah")]
    with sessions() as db:
        old_public, new_public = db.execute(text(
            "SELECT public_id FROM certificates WHERE participant_id = :id ORDER BY version"), {"id": pid}).scalars()
    old = verify_public(uow, old_public)
    assert old["status"] == "superseded" and old["superseded_by"] == new_public
    assert verify_public(uow, new_public)["replaces"] == old_public
    # A change that prints the same (the phone, say) re-issues nothing.
    record_roster_changes(uow, [updated(pid, 3, "Siti Aminah")], "certificates.handle_participant_updated")
    assert len(certificates_of(sessions, pid)) == 2
    assert outbox_types(sessions, pid) == ["certificate.issued", "certificate.reissued"]


def test_after_erasure_the_certificate_verifies_without_personal_fields(sessions, uow):
    pid, programme = str(uuid.uuid4()), str(uuid.uuid4())
    record_roster_entries(uow, [registered(pid)], "certificates.handle_participant_registered")
    record_completions(uow, [completed(pid, programme)], COMPLETED)
    record_roster_changes(uow, [erased(pid, 2)], "certificates.handle_participant_erased")
    with sessions() as db:
        public_id = db.execute(text("SELECT public_id FROM certificates WHERE participant_id = :id"),
                               {"id": pid}).scalar_one()
    answer = verify_public(uow, public_id)
    assert answer["full_name"] is None and answer["position"] is None and answer["personal_data_erased"]
    assert answer["status"] == "valid" and answer["signature"]["valid"] and answer["number"]


def test_revocation_by_an_administrator_is_kept_with_reason_and_actor(sessions, uow):
    pid, programme = str(uuid.uuid4()), str(uuid.uuid4())
    record_roster_entries(uow, [registered(pid)], "certificates.handle_participant_registered")
    record_completions(uow, [completed(pid, programme)], COMPLETED)
    with sessions() as db:
        certificate_id, public_id = db.execute(text(
            "SELECT id, public_id FROM certificates WHERE participant_id = :id"), {"id": pid}).one()
    operator = Caller(user="op-1", role="operator", regency=REGENCY, correlation_id="test")
    outsider = Caller(user="adm-2", role="regency_admin", regency="35.15", correlation_id="test")
    admin = Caller(user="adm-1", role="regency_admin", regency=REGENCY, correlation_id="test")
    with pytest.raises(DomainError) as refused:
        revoke(uow, operator, str(certificate_id), "salah data")
    assert refused.value.code == "forbidden"
    with pytest.raises(DomainError) as hidden:
        revoke(uow, outsider, str(certificate_id), "salah data")
    assert hidden.value.code == "certificate_not_found"
    view = revoke(uow, admin, str(certificate_id), "Kehadiran dipalsukan")
    assert view["status"] == "revoked" and view["revoked_reason"] == "Kehadiran dipalsukan"
    assert [(h["action"], h["actor"]) for h in view["history"]] == [("issued", None), ("revoked", "adm-1")]
    with pytest.raises(DomainError) as again:
        revoke(uow, admin, str(certificate_id), "lagi")
    assert again.value.code == "certificate_not_valid"
    assert verify_public(uow, public_id)["status"] == "revoked"
    assert outbox_types(sessions, pid) == ["certificate.issued", "certificate.revoked"]


def test_a_completion_before_the_registration_is_reissued_with_the_name_once_it_arrives(sessions, uow):
    pid, programme = str(uuid.uuid4()), str(uuid.uuid4())
    record_completions(uow, [completed(pid, programme)], COMPLETED)
    (number, _, _, printed), = certificates_of(sessions, pid)
    assert printed is None
    record_roster_entries(uow, [registered(pid, "Siti Terlambat")], "certificates.handle_participant_registered")
    assert certificates_of(sessions, pid) == [(number, 1, "superseded", None), (number, 2, "valid", "Siti Terlambat")]
    with sessions() as db:
        public_id = db.execute(text("SELECT public_id FROM certificates WHERE participant_id = :id AND version = 2"),
                               {"id": pid}).scalar_one()
    answer = verify_public(uow, public_id)
    assert answer["position_group"] == "pengurus" and answer["cooperative_id"] == COOPERATIVE
    assert answer["signature"]["valid"]


# -- numbering under interleavings (hypothesis) -----------------------------------------------------
OTHER_REGENCY = "35.15"


def last_sequences(sessions) -> dict[tuple[str, int], int]:
    with sessions() as db:
        return {(row.regency, row.year): row.last_sequence
                for row in db.execute(text("SELECT regency, year, last_sequence FROM certificate_counters"))}


@settings(max_examples=8, deadline=None)
@given(batches=st.lists(st.tuples(st.sampled_from([REGENCY, OTHER_REGENCY]), st.integers(0, 2), st.integers(1, 3)),
                        min_size=2, max_size=6))
def test_numbers_are_unique_gapless_and_increasing_per_regency_and_year_however_issuers_interleave(sessions, batches):
    """Completions of several programmes of two regencies, each batch one issuing transaction, all
    batches at once: per regency and year every number is new, the sequences continue the counter
    without a gap, and a batch's numbers are one block (the programme is no part of the number, so
    it is no part of the count: before migration 0007 each programme counted from 0001)."""
    programmes = [str(uuid.uuid4()) for _ in range(3)]
    before = last_sequences(sessions)
    planned = [(regency, programmes[programme], [str(uuid.uuid4()) for _ in range(size)])
               for regency, programme, size in batches]
    barrier = threading.Barrier(len(planned))
    failures: list[BaseException] = []

    def issue(regency: str, programme: str, people: list[str]) -> None:
        events = [replace_regency(completed(pid, programme), regency) for pid in people]
        try:
            barrier.wait()
            record_completions(new_uow(sessions), events, COMPLETED)
        except BaseException as error:  # noqa: BLE001 - reported below
            failures.append(error)

    threads = [threading.Thread(target=issue, args=batch) for batch in planned]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures, failures

    year = issue_year(datetime.now(timezone.utc))
    with sessions() as db:
        rows = {str(row.participant_id): (row.regency, row.number, row.sequence) for row in db.execute(text(
            "SELECT participant_id, regency, number, sequence FROM certificates "
            "WHERE programme_id = ANY(CAST(:p AS uuid[]))"), {"p": programmes})}
    for regency in {regency for regency, _, _ in planned}:
        issued = [(number, sequence) for r, number, sequence in rows.values() if r == regency]
        start = before.get((regency, year), 0)
        assert sorted(sequence for _, sequence in issued) == list(range(start + 1, start + len(issued) + 1))
        assert len({number for number, _ in issued}) == len(issued)
        assert all(number == f"{sequence:04d}/BIMTEK-KDMP/{regency}/{year}" for number, sequence in issued)
    for regency, _, people in planned:  # one transaction holds the counter: its numbers are one block
        sequences = sorted(rows[pid][2] for pid in people)
        assert sequences == list(range(sequences[0], sequences[0] + len(people)))


def replace_regency(event, regency: str):
    return new_event(event.type, event.payload, regency=regency, correlation_id="test")
