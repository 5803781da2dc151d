"""The names a certificate prints that other services own, kept from their events against a real
PostgreSQL (a fresh database for this module, dropped afterwards): cooperatives from registration
(the newest version wins, redeliveries count once, events older than the name fields are
tolerated), venues from scheduling's session events; a certificate keeps the names it was issued
with, so a cooperative renamed afterwards changes nothing printed, while a re-issue prints the
names of its day."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import text

from bimtek_shared.contracts.envelope import new_event
from bimtek_shared.persistence.messaging_tables import MessagingTables
from certificates.adapters.orm import metadata
from certificates.service_layer.completions import record_completions
from certificates.service_layer.handlers import record_roster_changes, record_roster_entries
from certificates.service_layer.issuing import document_for, verify_public
from certificates.service_layer.places import record_cooperatives
from certificates.service_layer.training import record_sessions
from certificates.service_layer.unit_of_work import CertificatesUnitOfWork
from certificates.settings import CertificatesSettings
from tests.support.databases import migrated_sessions

pytestmark = pytest.mark.integration

UNIT = Path(__file__).resolve().parents[2]
REGENCY = "35.17"
NOW = datetime.now(timezone.utc).isoformat()
CONFIG = CertificatesSettings(certificate_public_base_url="https://bimtek.example.id").nameko_config()
REGISTERED, UPDATED = "certificates.handle_cooperative_registered", "certificates.handle_cooperative_updated"
NAMES = {"village_names": {"35.17.09.2003": "Plandi", "35.17.09.2004": "Jelakombo"},
         "district_names": {"35.17.09": "Jombang"}, "regency_name": "Kabupaten Jombang"}


@pytest.fixture(scope="module")
def sessions():
    with migrated_sessions(UNIT, "print_names", pool_size=5) as made:
        yield made


@pytest.fixture
def uow(sessions) -> CertificatesUnitOfWork:
    messaging = MessagingTables(outbox=metadata.tables["outbox"], processed_events=metadata.tables["processed_events"])
    return CertificatesUnitOfWork(sessions, messaging, correlation_id="test",
                                  **CertificatesUnitOfWork.dependencies_from_config(CONFIG))


def cooperative_event(cooperative: str, version: int, name: str, with_names: bool = True):
    body = {"cooperative_id": cooperative, "name": name, "villages": ["35.17.09.2003", "35.17.09.2004"],
            "districts": ["35.17.09"], "version": version, **(NAMES if with_names else {})}
    if version == 1:
        return new_event("cooperative.registered", body | {"registered_at": NOW}, regency=REGENCY,
                         correlation_id="test")
    return new_event("cooperative.updated", body | {"changed": ["name"], "updated_at": NOW}, regency=REGENCY,
                     correlation_id="test")


def session_event(session: str, programme: str, cooperative: str, venue_name: str | None):
    return new_event("session.scheduled", {
        "session_id": session, "programme_id": programme, "number": 1, "days": ["2026-03-02", "2026-03-03"],
        "venue_id": str(uuid.uuid4()), **({"venue_name": venue_name} if venue_name else {}),
        "resource_person_ids": [], "cooperative_ids": [cooperative], "participants": 1, "version": 1,
        "scheduled_at": NOW}, regency=REGENCY, correlation_id="test")


def person_event(pid: str, cooperative: str, name: str, version: int = 1):
    common = {"participant_id": pid, "full_name": name, "sex": "P", "position_group": "pengurus",
              "position": "bendahara", "cooperative_id": cooperative, "registered_at": NOW}
    if version == 1:
        return new_event("participant.registered", common | {"participant_code": "ABCD2345"}, regency=REGENCY,
                         correlation_id="test")
    return new_event("participant.updated", common | {"version": version, "changed": ["full_name"],
                                                      "updated_at": NOW}, regency=REGENCY, correlation_id="test")


def completed(pid: str, programme: str, session: str):
    return new_event("participant.completed", {
        "participant_id": pid, "session_id": session, "programme_id": programme,
        "programme_title": "Bimtek Perkoperasian KDMP Kabupaten Jombang 2026",
        "session_days": ["2026-03-02", "2026-03-03"], "days_attended": 2, "min_attendance_days": 2, "jp_total": 16,
        "completed_at": NOW}, regency=REGENCY, correlation_id="test")


def certified(uow, sessions, pid: str, cooperative: str, venue_name: str | None = "Aula Dinas Koperasi") -> str:
    """A participant of ``cooperative`` through a session and a completion; their certificate's public id."""
    programme, session = str(uuid.uuid4()), str(uuid.uuid4())
    record_sessions(uow, [session_event(session, programme, cooperative, venue_name)],
                    "certificates.handle_session_scheduled")
    record_roster_entries(uow, [person_event(pid, cooperative, "Siti Aminah")],
                          "certificates.handle_participant_registered")
    record_completions(uow, [completed(pid, programme, session)], "certificates.handle_participant_completed")
    return current_public_id(sessions, pid)


def current_public_id(sessions, pid: str) -> str:
    with sessions() as db:
        return db.execute(text("SELECT public_id FROM certificates WHERE participant_id = :id AND status = 'valid'"),
                          {"id": pid}).scalar_one()


def printed(uow, public_id: str) -> tuple[str, str, str, str, str]:
    with uow:
        document = document_for(uow, uow.certificates.by_public_id(public_id))
    return (document.cooperative_name, document.village_name, document.district_name, document.regency_name,
            document.venue_name)


def test_the_newest_cooperative_version_wins_whatever_the_order_and_redeliveries(sessions, uow):
    cooperative = str(uuid.uuid4())
    renamed = cooperative_event(cooperative, 3, "Koperasi Desa Merah Putih Plandi Sejahtera")
    assert record_cooperatives(uow, [renamed], UPDATED) == 1
    assert record_cooperatives(uow, [cooperative_event(cooperative, 2, "Koperasi Lama")], UPDATED) == 1
    assert record_cooperatives(uow, [cooperative_event(cooperative, 1, "Koperasi Pertama")], REGISTERED) == 1
    assert record_cooperatives(uow, [renamed], UPDATED) == 0  # redelivered
    with sessions() as db:
        row = db.execute(text("SELECT name, village_name, district_name, regency_name, version FROM cooperatives "
                              "WHERE cooperative_id = :id"), {"id": cooperative}).one()
    assert tuple(row) == ("Koperasi Desa Merah Putih Plandi Sejahtera", "Plandi", "Jombang", "Kabupaten Jombang", 3)


def test_a_certificate_prints_the_names_certificates_kept(sessions, uow):
    cooperative, pid = str(uuid.uuid4()), str(uuid.uuid4())
    record_cooperatives(uow, [cooperative_event(cooperative, 1, "Koperasi Desa Merah Putih Plandi")], REGISTERED)
    public_id = certified(uow, sessions, pid, cooperative)
    assert printed(uow, public_id) == ("Koperasi Desa Merah Putih Plandi", "Plandi", "Jombang", "Kabupaten Jombang",
                                       "Aula Dinas Koperasi")
    assert verify_public(uow, public_id)["cooperative_name"] == "Koperasi Desa Merah Putih Plandi"


def test_a_cooperative_renamed_after_issuance_leaves_the_certificate_as_issued(sessions, uow):
    cooperative, pid = str(uuid.uuid4()), str(uuid.uuid4())
    record_cooperatives(uow, [cooperative_event(cooperative, 1, "Koperasi Desa Merah Putih Plandi")], REGISTERED)
    public_id = certified(uow, sessions, pid, cooperative)
    record_cooperatives(uow, [cooperative_event(cooperative, 2, "Koperasi Plandi Makmur")], UPDATED)
    assert printed(uow, public_id)[0] == "Koperasi Desa Merah Putih Plandi"
    assert verify_public(uow, public_id)["cooperative_name"] == "Koperasi Desa Merah Putih Plandi"
    # A re-issue (the person's name corrected) is issued anew: it prints the cooperative's name of its day.
    record_roster_changes(uow, [person_event(pid, cooperative, "Siti Aminah Zahra", version=2)],
                          "certificates.handle_participant_updated")
    reissued = current_public_id(sessions, pid)
    assert reissued != public_id and printed(uow, reissued)[0] == "Koperasi Plandi Makmur"
    assert printed(uow, public_id)[0] == "Koperasi Desa Merah Putih Plandi"  # the superseded one keeps its own


def test_names_unknown_at_issuance_print_as_known_later_and_older_events_are_tolerated(sessions, uow):
    cooperative, pid = str(uuid.uuid4()), str(uuid.uuid4())
    public_id = certified(uow, sessions, pid, cooperative, venue_name=None)  # no cooperative event yet, no venue name
    assert printed(uow, public_id) == ("", "", "", REGENCY, "")
    assert verify_public(uow, public_id)["cooperative_name"] is None
    # An event from before the name fields: the cooperative's name, no region names.
    record_cooperatives(uow, [cooperative_event(cooperative, 1, "Koperasi Desa Merah Putih Plandi",
                                                with_names=False)], REGISTERED)
    assert printed(uow, public_id) == ("Koperasi Desa Merah Putih Plandi", "", "", REGENCY, "")
    record_cooperatives(uow, [cooperative_event(cooperative, 2, "Koperasi Desa Merah Putih Plandi")], UPDATED)
    assert printed(uow, public_id)[:4] == ("Koperasi Desa Merah Putih Plandi", "Plandi", "Jombang",
                                           "Kabupaten Jombang")
