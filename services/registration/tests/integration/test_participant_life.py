"""A participant's life and their personal data against a real PostgreSQL: one holder per position
(the unique index too), withdrawal, substitution chains, corrections, erasure, NIK reveals and
exports in the audit trail, and key rotation. A fresh database for this module, migrated to head,
dropped afterwards."""
from __future__ import annotations

import base64
import itertools
import json
import os
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import text

from bimtek_shared.contracts.caller import PROVINCE_WIDE, Caller
from bimtek_shared.contracts.envelope import EventEnvelope, new_event
from bimtek_shared.contracts.errors import DomainError
from bimtek_shared.persistence.messaging_tables import MessagingTables
from registration.adapters.nik_protector import NikProtector, key_id_of
from registration.adapters.orm import metadata
from registration.adapters.regions import RegionIndex
from registration.adapters.repository import ParticipantRepository
from registration.domain import model
from registration.service_layer import handlers, participant_progress
from registration.service_layer.commands import (
    ListAuditLog, ListParticipants, ParticipantChanges, RegisterParticipant, Replacement, RevealNik,
    WithdrawParticipant,
)
from registration.service_layer.unit_of_work import RegistrationUnitOfWork
from tests.support.databases import migrated_sessions

pytestmark = pytest.mark.integration

UNIT = Path(__file__).resolve().parents[2]
JOMBANG, MOJOKERTO = "35.17", "35.16"
KEY_1, KEY_2, LOOKUP_KEY = (base64.b64encode(os.urandom(32)).decode() for _ in range(3))
RING_1 = {"NIK_KEYS": f"1:{KEY_1}", "NIK_LOOKUP_KEY": LOOKUP_KEY}
OPERATOR = Caller(user="u-operator", role="operator", regency=JOMBANG, correlation_id="it-life")
ADMIN = Caller(user="u-admin", role="regency_admin", regency=JOMBANG, correlation_id="it-life")
OTHER_ADMIN = Caller(user="u-admin-16", role="regency_admin", regency=MOJOKERTO, correlation_id="it-life")
PROVINCE = Caller(user="u-province", role="province_admin", regency=PROVINCE_WIDE, correlation_id="it-life")
_serials = itertools.count(1)
_serial_lock = threading.Lock()
ISSUED_NIKS: list[str] = []  # every NIK this module registers: none may appear in an event


def person(female: bool = False) -> dict:
    """A valid identity of kecamatan 35.17.09, born 15 March 1980, unique in this module."""
    with _serial_lock:
        serial = next(_serials)
    nik = f"351709{15 + (40 if female else 0)}0380{serial:04d}"
    ISSUED_NIKS.append(nik)
    return {"nik": nik, "full_name": f"Peserta {serial}", "sex": "P" if female else "L", "birth_date": "1980-03-15"}


@pytest.fixture(scope="module")
def sessions():
    def two_regencies(conn) -> None:
        conn.execute(text("INSERT INTO provinces (code, name) VALUES ('35', 'Jawa Timur')"))
        conn.execute(text("INSERT INTO regencies (code, province_code, name, kind) VALUES "
                          "('35.17', '35', 'Kabupaten Jombang', 'kabupaten'), "
                          "('35.16', '35', 'Kabupaten Mojokerto', 'kabupaten')"))

    with migrated_sessions(UNIT, "life", pool_size=10, prepare=two_regencies) as made:
        yield made


def make_uow(sessions, config: dict | None = None) -> RegistrationUnitOfWork:
    messaging = MessagingTables(outbox=metadata.tables["outbox"], processed_events=metadata.tables["processed_events"])
    return RegistrationUnitOfWork(sessions, messaging, correlation_id=f"it-{uuid.uuid4().hex[:8]}",
                                  **RegistrationUnitOfWork.dependencies_from_config(config or RING_1))


@pytest.fixture
def uow(sessions) -> RegistrationUnitOfWork:
    return make_uow(sessions)


def cooperative(sessions, regency: str = JOMBANG) -> uuid.UUID:
    cooperative_id = uuid.uuid4()
    with sessions() as session, session.begin():
        session.execute(text("INSERT INTO cooperatives (id, regency, name, version, created_at, updated_at) "
                             "VALUES (:id, :regency, 'KDMP Uji', 1, now(), now())"),
                        {"id": cooperative_id, "regency": regency})
    return cooperative_id


def register(uow, cooperative_id: uuid.UUID | None, position: str, regency: str = JOMBANG, **identity) -> dict:
    command = RegisterParticipant(regency=regency, position=position, cooperative_id=cooperative_id,
                                  **(identity or person()))
    return handlers.register_participant(uow, OPERATOR if regency == JOMBANG else PROVINCE, command)


def refused(code: str, call, *args) -> DomainError:
    with pytest.raises(DomainError) as caught:
        call(*args)
    assert caught.value.code == code, caught.value.params
    return caught.value


def events_of(sessions, *aggregate_ids: str) -> list[dict]:
    with sessions() as session:
        return list(session.execute(text("SELECT envelope FROM outbox WHERE aggregate_id = ANY(:ids) ORDER BY id"),
                                    {"ids": [str(a) for a in aggregate_ids]}).scalars())


def row(sessions, participant_id: str) -> dict:
    with sessions() as session:
        return dict(session.execute(text("SELECT * FROM participants WHERE id = :id"),
                                    {"id": participant_id}).mappings().one())


# -- one holder per position -----------------------------------------------------------------------
def test_concurrent_registrations_leave_one_ketua(sessions):
    coop = cooperative(sessions)

    def attempt(_: int) -> str:
        try:
            return register(make_uow(sessions), coop, "ketua")["id"]
        except DomainError as error:
            return error.code

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(attempt, range(8)))

    assert sorted(outcomes).count("position_taken") == 7, outcomes
    with sessions() as session:
        assert session.execute(text("SELECT count(*) FROM participants WHERE cooperative_id = :c"),
                               {"c": coop}).scalar() == 1
    register(make_uow(sessions), coop, "anggota_pengurus")  # members may be many
    register(make_uow(sessions), coop, "anggota_pengurus")


def test_the_database_refuses_a_second_holder_whatever_the_code_checks(sessions, uow):
    coop = cooperative(sessions)
    register(uow, coop, "sekretaris")
    second = model.register(regency=JOMBANG, position="sekretaris", cooperative_id=coop,
                            regions=RegionIndex(), **_typed(person()))
    with uow:
        with pytest.raises(DomainError) as caught:
            uow.participants.add(second)  # past the use case's check, straight at the unique index
    assert caught.value.code == "position_taken"


def test_withdrawal_frees_the_position_keeps_the_row_and_is_announced(sessions, uow):
    coop = cooperative(sessions)
    ketua = register(uow, coop, "ketua")
    refused("position_taken", register, uow, coop, "ketua")

    withdrawn = handlers.withdraw_participant(uow, OPERATOR, ketua["id"], WithdrawParticipant(reason="resigned"))

    assert withdrawn["status"] == "withdrawn" and withdrawn["withdrawal_reason"] == "resigned"
    assert withdrawn["full_name"] == ketua["full_name"]  # kept for history
    successor = register(uow, coop, "ketua")
    assert successor["status"] == "active"
    event = events_of(sessions, ketua["id"])[-1]
    assert event["type"] == "participant.withdrawn" and event["payload"]["reason"] == "resigned"
    assert event["payload"]["version"] == 2 and event["payload"]["full_name"] == ketua["full_name"]
    refused("participant_not_active", handlers.withdraw_participant, uow, OPERATOR, ketua["id"],
            WithdrawParticipant(reason="resigned"))
    refused("participant_not_active", handlers.update_participant, uow, OPERATOR, ketua["id"],
            ParticipantChanges(full_name="Nama Lain"))
    refused("forbidden", handlers.withdraw_participant, uow,
            Caller(user="t", role="trainer", regency=JOMBANG, correlation_id="t"), successor["id"],
            WithdrawParticipant(reason="resigned"))


# -- substitution ------------------------------------------------------------------------------------
def test_a_substitution_chain_through_the_database(sessions, uow):
    coop = cooperative(sessions)
    a_identity = person()
    a = register(uow, coop, "bendahara", **a_identity)

    first = handlers.substitute_participant(uow, OPERATOR, a["id"], Replacement(**person(female=True)))
    b = first["replacement"]
    second = handlers.substitute_participant(uow, OPERATOR, b["id"], Replacement(**person()))
    c = second["replacement"]

    rows = {p: row(sessions, p) for p in (a["id"], b["id"], c["id"])}
    assert [(str(r["replaces"] or ""), str(r["replaced_by"] or ""), r["status"]) for r in rows.values()] == [
        ("", b["id"], "withdrawn"), (a["id"], c["id"], "withdrawn"), (b["id"], "", "active")]
    assert {(r["cooperative_id"], r["position"]) for r in rows.values()} == {(coop, "bendahara")}
    assert first["replaced"]["replaced_by"] == b["id"] and b["replaces"] == a["id"]
    # One transaction, and in it the events in the documented order.
    types = [(e["type"], e["payload"].get("participant_id") or e["payload"].get("replaced_participant_id"))
             for e in events_of(sessions, a["id"], b["id"], c["id"])]
    assert types[-3:] == [("participant.withdrawn", b["id"]), ("participant.registered", c["id"]),
                          ("participant.substituted", b["id"])]
    assert len({e["correlation_id"] for e in events_of(sessions, b["id"])[-2:] + events_of(sessions, c["id"])}) == 1

    refused("participant_not_active", handlers.substitute_participant, uow, OPERATOR, a["id"], Replacement(**person()))
    taken_nik = Replacement(**(person() | {"nik": a_identity["nik"]}))  # registered already (withdrawn since)
    refused("participant_already_registered", handlers.substitute_participant, uow, OPERATOR, c["id"], taken_nik)
    assert row(sessions, c["id"])["status"] == "active"  # the refused substitution left nothing behind


# -- changes ---------------------------------------------------------------------------------------
def test_changes_follow_the_rules_and_corrections_reseal_the_nik(sessions, uow):
    coop, other, elsewhere = cooperative(sessions), cooperative(sessions), cooperative(sessions, MOJOKERTO)
    others_ketua = person()
    register(uow, other, "ketua", **others_ketua)
    p = register(uow, coop, "ketua")

    refused("cooperative_not_found", handlers.update_participant, uow, OPERATOR, p["id"],
            ParticipantChanges(cooperative_id=elsewhere))  # a cooperative of another regency
    refused("position_taken", handlers.update_participant, uow, OPERATOR, p["id"],
            ParticipantChanges(cooperative_id=other))  # its ketua is someone else
    refused("participant_already_registered", handlers.update_participant, uow, OPERATOR, p["id"],
            ParticipantChanges(**_identity(others_ketua)))

    corrected = person(female=True)
    answer = handlers.update_participant(uow, OPERATOR, p["id"], ParticipantChanges(
        **_identity(corrected), position="wakil_ketua_usaha", cooperative_id=other))

    assert answer["nik_masked"] == "*" * 12 + corrected["nik"][-4:] and answer["sex"] == "P"
    assert answer["warnings"] == ["nik_region_not_checked"]  # re-checked like a registration
    with uow:
        assert uow.participants.exists_with_nik(corrected["nik"])
        assert uow.participants.load(uuid.UUID(p["id"]), None).nik == corrected["nik"]
    event = events_of(sessions, p["id"])[-1]
    assert event["type"] == "participant.updated" and event["payload"]["version"] == 2
    assert event["payload"]["changed"] == ["position", "cooperative_id", "nik", "sex"]  # born the same day
    assert event["payload"]["cooperative_id"] == str(other) and event["payload"]["sex"] == "P"


# -- erasure -----------------------------------------------------------------------------------------
def test_erasure_leaves_only_what_counts_and_the_nik_may_register_again(sessions, uow):
    coop = cooperative(sessions)
    identity = person()
    p = register(uow, coop, "ketua", phone="081234567890", **identity)
    handlers.update_participant(uow, OPERATOR, p["id"], ParticipantChanges(full_name="Nama Baru"))
    with sessions() as session, session.begin():  # the relay published what it had
        session.execute(text("UPDATE outbox SET published_at = now() WHERE aggregate_id = :id"), {"id": p["id"]})
    counts_before = _counts(sessions)

    refused("forbidden", handlers.erase_participant, uow, OPERATOR, p["id"])
    refused("participant_not_found", handlers.erase_participant, uow, OTHER_ADMIN, p["id"])
    erased = handlers.erase_participant(uow, ADMIN, p["id"])

    assert erased["status"] == "erased" and erased["erased_at"]
    assert [erased[k] for k in ("participant_code", "nik_masked", "full_name", "sex", "birth_date", "phone",
                                "position")] == [None] * 7
    assert (erased["regency"], erased["cooperative_id"], erased["position_group"]) == (JOMBANG, str(coop), "pengurus")
    stored = row(sessions, p["id"])
    assert [stored[k] for k in ("participant_code", "nik_ciphertext", "nik_lookup", "nik_masked", "sex", "birth_date",
                                "phone", "position")] == [None] * 8 and stored["full_name"] == ""
    assert _counts(sessions) == counts_before  # per regency, cooperative and position group
    # Its published events (which held the name) are gone; the erasure waits to be published.
    assert [e["type"] for e in events_of(sessions, p["id"])] == ["participant.erased"]
    assert set(events_of(sessions, p["id"])[0]["payload"]) == {
        "participant_id", "version", "position_group", "cooperative_id", "registered_at", "erased_at"}

    refused("participant_erased", handlers.erase_participant, uow, ADMIN, p["id"])
    refused("participant_erased", handlers.reveal_participant_nik, uow, ADMIN, p["id"], RevealNik(purpose="uji hapus"))
    again = register(uow, coop, "ketua", **identity)  # the lookup hash went too; the position is free
    assert again["id"] != p["id"]


# -- reveal, export, the audit trail -----------------------------------------------------------------
def test_reveal_and_export_are_for_administrators_and_audited(sessions, uow):
    identity = person(female=True)
    p = register(uow, None, "anggota_pengawas", **identity)

    refused("forbidden", handlers.reveal_participant_nik, uow, OPERATOR, p["id"], RevealNik(purpose="ingin tahu"))
    refused("participant_not_found", handlers.reveal_participant_nik, uow, OTHER_ADMIN, p["id"],
            RevealNik(purpose="ingin tahu"))
    revealed = handlers.reveal_participant_nik(uow, ADMIN, p["id"], RevealNik(purpose="Verifikasi surat tugas"))
    assert revealed == {"participant_id": p["id"], "nik": identity["nik"]}
    handlers.get_participant(uow, OPERATOR, p["id"])
    exported = handlers.export_participant_data(uow, PROVINCE, p["id"])

    assert exported["participant"]["nik"] == identity["nik"] and exported["participant"]["birth_date"] == "1980-03-15"
    trail = [(r["action"], r["actor_user"], r["actor_role"], r["purpose"]) for r in exported["audit_trail"]]
    assert trail == [("register", "u-operator", "operator", None),
                     ("reveal_nik", "u-admin", "regency_admin", "Verifikasi surat tugas"),
                     ("read", "u-operator", "operator", None),
                     ("export", "u-province", "province_admin", None)]
    assert {r["correlation_id"] for r in exported["audit_trail"]} == {"it-life"}


def test_the_audit_log_pages_newest_first_within_the_callers_regency(sessions, uow):
    p = register(uow, None, "anggota_pengurus")
    for _ in range(3):
        handlers.get_participant(uow, OPERATOR, p["id"])
    handlers.list_participants(uow, OPERATOR, ListParticipants(limit=5, position="anggota_pengurus"))

    seen, cursor = [], None
    while True:
        page = handlers.list_audit_log(uow, ADMIN, ListAuditLog(limit=2, participant_id=p["id"], cursor=cursor))
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [r["action"] for r in seen] == ["read", "read", "read", "register"]
    assert [r["at"] for r in seen] == sorted((r["at"] for r in seen), reverse=True)
    [listing] = handlers.list_audit_log(uow, ADMIN, ListAuditLog(limit=1, action="list"))["items"]
    assert listing["details"]["filters"] == {"position": "anggota_pengurus"}
    assert 1 <= listing["details"]["count"] <= 5  # one record for the page, however many it showed
    assert listing["participant_id"] is None and listing["regency"] == JOMBANG
    assert handlers.list_audit_log(uow, OTHER_ADMIN, ListAuditLog(participant_id=p["id"]))["items"] == []
    refused("regency_out_of_scope", handlers.list_audit_log, uow, ADMIN, ListAuditLog(regency=MOJOKERTO))
    refused("forbidden", handlers.list_audit_log, uow, OPERATOR, ListAuditLog())


# -- key rotation --------------------------------------------------------------------------------------
def test_rotation_reseals_every_nik_under_the_new_key(sessions):
    before = [register(make_uow(sessions), None, "anggota_pengurus") for _ in range(5)]
    with sessions() as session, session.begin():  # a row masked the old way, before masks showed only 4 digits
        session.execute(text("UPDATE participants SET nik_masked = '3517**********' || right(nik_masked, 2) "
                             "WHERE id = :id"), {"id": before[0]["id"]})
    rotated = {"NIK_KEYS": f"1:{KEY_1},2:{KEY_2}", "NIK_ACTIVE_KEY_ID": "2", "NIK_LOOKUP_KEY": LOOKUP_KEY}
    protector = NikProtector.from_config(rotated)
    added_after = register(make_uow(sessions, rotated), None, "anggota_pengurus")  # sealed with key 2 at once

    with sessions() as session:
        assert ParticipantRepository(session, protector).sealed_key_counts()[1] >= 5
    while True:
        with sessions() as session, session.begin():
            if ParticipantRepository(session, protector).reseal_batch(3) == 0:
                break

    new_key_only = NikProtector.from_config({"NIK_KEYS": f"2:{KEY_2}", "NIK_LOOKUP_KEY": LOOKUP_KEY})
    with sessions() as session:
        assert set(ParticipantRepository(session, protector).sealed_key_counts()) == {2}
        rows = session.execute(text("SELECT id::text, nik_ciphertext, nik_masked FROM participants "
                                    "WHERE nik_ciphertext IS NOT NULL")).all()
    assert [key_id_of(sealed) for _, sealed, _ in rows] == [2] * len(rows)
    niks = {pid: new_key_only.decrypt(sealed) for pid, sealed, _ in rows}
    assert {niks[p["id"]][-4:] for p in before + [added_after]} == {p["nik_masked"][-4:] for p in before + [added_after]}
    assert all(masked == "*" * 12 + niks[pid][-4:] for pid, _, masked in rows)
    # Lookups did not change: the lookup key is not rotated with the encryption key.
    with sessions() as session:
        assert ParticipantRepository(session, new_key_only).exists_with_nik(niks[before[0]["id"]])


def test_no_nik_in_any_event_or_audit_record(sessions):
    """Run last in this module: every NIK it registered, corrected or used to substitute."""
    with sessions() as session:
        stored = " ".join(json.dumps(envelope) for envelope in session.execute(text("SELECT envelope FROM outbox"))
                          .scalars())
        audit = " ".join(str(r) for r in session.execute(text("SELECT * FROM audit_log")).all())
    assert stored and audit and ISSUED_NIKS
    assert [nik for nik in ISSUED_NIKS if nik in stored or nik in audit] == []


# -- helpers ---------------------------------------------------------------------------------------
def _counts(sessions) -> list[tuple]:
    with sessions() as session:
        return session.execute(text("SELECT regency, cooperative_id, position_group, count(*) FROM participants "
                                    "GROUP BY 1, 2, 3 ORDER BY 1, 2, 3")).all()


def _identity(fields: dict) -> dict:
    return {name: fields[name] for name in ("nik", "sex", "birth_date")}


def _typed(fields: dict) -> dict:
    return fields | {"birth_date": date.fromisoformat(fields["birth_date"])}


# -- their progress, as scheduling's and certificates' events report it --------------------------------
def progress_event(event_type: str, payload: dict) -> EventEnvelope:
    return new_event(event_type, payload, regency=JOMBANG, correlation_id="it-progress")


def session_event(session_id: uuid.UUID, programme_id: uuid.UUID, version: int, days: list[str], *,
                  cancelled: bool = False) -> EventEnvelope:
    state = {"session_id": str(session_id), "programme_id": str(programme_id), "number": 1, "days": days,
             "venue_id": str(VENUE), "venue_name": f"Pendopo v{version}", "resource_person_ids": [],
             "cooperative_ids": [], "participants": 8, "version": version}
    if version == 1:
        return progress_event("session.scheduled", state | {"scheduled_at": "2025-09-01T08:00:00+07:00"})
    return progress_event("session.rescheduled", state | {
        "changed": [] if cancelled else ["days"], "cancelled": cancelled,
        "rescheduled_at": "2025-09-02T08:00:00+07:00"})


def seats_event(programme_id: uuid.UUID, revision: int, *seats: tuple[str, uuid.UUID]) -> EventEnvelope:
    return progress_event("participants.assigned", {
        "programme_id": str(programme_id), "revision": revision, "assigned_at": "2025-09-01T08:00:00+07:00",
        "seats": [{"participant_id": pid, "session_id": str(sid), "cooperative_id": str(uuid.uuid4())}
                  for pid, sid in seats]})


def unseated_event(programme_id: uuid.UUID, revision: int, *participant_ids: str) -> EventEnvelope:
    return progress_event("participants.unassigned", {
        "programme_id": str(programme_id), "revision": revision, "unassigned_at": "2025-09-03T08:00:00+07:00",
        "participant_ids": list(participant_ids)})


def certificate_event(event_type: str, participant_id: str, programme_id: uuid.UUID, version: int) -> EventEnvelope:
    payload = {"certificate_id": str(uuid.uuid4()), "public_id": "p" * 22, "number": f"NO-{version}",
               "version": version, "participant_id": participant_id, "programme_id": str(programme_id)}
    if event_type == "certificate.revoked":
        return progress_event(event_type, payload | {"revoked_by": "u-admin", "revoked_at": "2025-11-01T08:00:00Z"})
    payload |= {"session_id": str(uuid.uuid4()), "issued_at": "2025-10-20T08:00:00Z"}
    if event_type == "certificate.reissued":
        payload["replaces"] = str(uuid.uuid4())
    return progress_event(event_type, payload)


VENUE = uuid.uuid4()


def test_a_participant_is_read_with_their_progress_whatever_order_the_events_arrive_in(sessions, uow):
    p = register(uow, cooperative(sessions), "ketua")
    answer = handlers.get_participant(make_uow(sessions), OPERATOR, p["id"])
    assert answer["participant"]["id"] == p["id"]
    assert {k: v for k, v in answer.items() if k != "participant"} == {
        "scheduling": {"status": "waiting", "sessions": []}, "certificates": {"status": "none", "certificates": []}}
    programme, first, second = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    # A re-plan's seat (revision 2) arrives before the first publication's (revision 1); the session's
    # change (version 2) before its first announcement; both in one batch, and again (redelivered).
    seats = [seats_event(programme, 2, (p["id"], second)), seats_event(programme, 1, (p["id"], first))]
    sessions_told = [session_event(second, programme, 2, ["2025-10-08", "2025-10-09"]),
                     session_event(second, programme, 1, ["2025-10-01"]), session_event(first, programme, 1, ["2025-10-02"])]
    for _ in range(2):
        participant_progress.record_seats(make_uow(sessions), seats, "registration.handle_participants_assigned")
        participant_progress.record_sessions(make_uow(sessions), sessions_told, "registration.handle_session_scheduled")
    scheduling = handlers.get_participant(make_uow(sessions), OPERATOR, p["id"])["scheduling"]
    assert scheduling == {"status": "scheduled", "sessions": [
        {"programme_id": str(programme), "session_id": str(second), "number": 1, "days": ["2025-10-08", "2025-10-09"],
         "venue": {"id": str(VENUE), "name": "Pendopo v2"}}]}

    # A re-plan that empties the session: seated nowhere that still takes place.
    participant_progress.record_sessions(make_uow(sessions), [session_event(second, programme, 3, ["2025-10-08"],
                                                                            cancelled=True)],
                                         "registration.handle_session_rescheduled")
    assert handlers.get_participant(make_uow(sessions), OPERATOR, p["id"])["scheduling"] == {
        "status": "waiting", "sessions": []}

    # Certificates: a revocation wins over the issue of its version, whichever came first; a
    # correction (version 2) is valid again; an older version arriving late changes nothing.
    issued = certificate_event("certificate.issued", p["id"], programme, 1)
    revoked = certificate_event("certificate.revoked", p["id"], programme, 1)
    participant_progress.record_certificates(make_uow(sessions), [revoked, issued], "registration.handle_certificate_revoked")
    certificates = handlers.get_participant(make_uow(sessions), OPERATOR, p["id"])["certificates"]
    assert certificates == {"status": "revoked", "certificates": [
        {"programme_id": str(programme), "number": "NO-1", "version": 1, "status": "revoked"}]}
    reissued = certificate_event("certificate.reissued", p["id"], programme, 2)
    participant_progress.record_certificates(make_uow(sessions), [reissued], "registration.handle_certificate_reissued")
    participant_progress.record_certificates(make_uow(sessions), [certificate_event("certificate.issued", p["id"],
                                                                                    programme, 1)],
                                             "registration.handle_certificate_issued")
    assert handlers.get_participant(make_uow(sessions), OPERATOR, p["id"])["certificates"]["status"] == "issued"

    # Withdrawn: scheduling's view says so, whatever seats were reported.
    handlers.withdraw_participant(make_uow(sessions), OPERATOR, p["id"], WithdrawParticipant(reason="resigned"))
    assert handlers.get_participant(make_uow(sessions), OPERATOR, p["id"])["scheduling"]["status"] == "withdrawn"


def test_a_participant_a_replan_unseated_is_waiting_again_whatever_order_the_events_arrive_in(sessions, uow):
    stays, leaves = (register(uow, cooperative(sessions), "ketua")["id"] for _ in range(2))
    programme, session_id = uuid.uuid4(), uuid.uuid4()
    participant_progress.record_sessions(make_uow(sessions), [session_event(session_id, programme, 1, ["2025-10-01"])],
                                         "registration.handle_session_scheduled")
    seated = seats_event(programme, 1, (stays, session_id), (leaves, session_id))
    unseated = unseated_event(programme, 2, leaves)
    # The unseating (revision 2) before the seat it undoes (revision 1), then both again (redelivered).
    for _ in range(2):
        participant_progress.record_seats(make_uow(sessions), [unseated], "registration.handle_participants_unassigned")
        participant_progress.record_seats(make_uow(sessions), [seated], "registration.handle_participants_assigned")

    def scheduling(pid: str) -> dict:
        return handlers.get_participant(make_uow(sessions), OPERATOR, pid)["scheduling"]

    assert scheduling(leaves) == {"status": "waiting", "sessions": []}
    assert scheduling(stays)["status"] == "scheduled"
    # A later re-plan (revision 3) seats them again: the newest revision wins.
    participant_progress.record_seats(make_uow(sessions), [seats_event(programme, 3, (leaves, session_id))],
                                      "registration.handle_participants_assigned")
    assert [s["session_id"] for s in scheduling(leaves)["sessions"]] == [str(session_id)]


def test_a_batch_of_progress_events_ends_as_if_they_came_one_by_one(sessions, uow):
    record = {"session.scheduled": participant_progress.record_sessions,
              "participants.assigned": participant_progress.record_seats,
              "certificate.issued": participant_progress.record_certificates,
              "certificate.reissued": participant_progress.record_certificates,
              "certificate.revoked": participant_progress.record_certificates}

    def events_for(people: list[str]) -> list[EventEnvelope]:
        programme, session_id = uuid.uuid4(), uuid.uuid4()
        return [session_event(session_id, programme, 1, ["2025-10-01"]),
                seats_event(programme, 1, *((pid, session_id) for pid in people)),
                certificate_event("certificate.reissued", people[0], programme, 2),
                *(certificate_event("certificate.issued", pid, programme, 1) for pid in people[:3]),
                certificate_event("certificate.revoked", people[1], programme, 1),
                certificate_event("certificate.revoked", people[0], programme, 1)]

    def outcome(people: list[str]) -> list[tuple]:
        answers = [handlers.get_participant(make_uow(sessions), OPERATOR, pid) for pid in people]
        return [(a["scheduling"]["status"], a["certificates"]) for a in answers]

    alone, together = ([register(uow, cooperative(sessions), "ketua")["id"] for _ in range(4)] for _ in range(2))
    for event in events_for(alone):
        record[event.type](make_uow(sessions), [event], f"registration.test.{event.type}")
    batch = events_for(together)  # one consumer's batch holds many events, certificates of every kind
    record["session.scheduled"](make_uow(sessions), batch[:1], "registration.test.session.scheduled")
    record["participants.assigned"](make_uow(sessions), batch[1:2], "registration.test.participants.assigned")
    participant_progress.record_certificates(make_uow(sessions), batch[2:], "registration.test.certificates")

    statuses = [(status, certificates["status"]) for status, certificates in outcome(together)]
    assert statuses == [("scheduled", "issued"), ("scheduled", "revoked"), ("scheduled", "issued"),
                        ("scheduled", "none")]
    strip = [(status, [{k: v for k, v in c.items() if k != "programme_id"} for c in certificates["certificates"]])
             for status, certificates in outcome(alone)]
    assert strip == [(status, [{k: v for k, v in c.items() if k != "programme_id"}
                               for c in certificates["certificates"]]) for status, certificates in outcome(together)]
