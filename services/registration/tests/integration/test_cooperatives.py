"""Cooperative use cases against a real PostgreSQL: a fresh database for this module, migrated to
head and loaded with the shipped region data of Jawa Timur, dropped afterwards."""
from __future__ import annotations

import itertools
import uuid

import pytest
from sqlalchemy import event, select, text

from bimtek_shared.contracts.caller import Caller
from bimtek_shared.contracts.errors import DomainError
from registration.adapters.orm import metadata
from registration.service_layer import cooperatives, handlers
from registration.service_layer.commands import (
    CooperativeChanges, CooperativeStatistics, ListCooperatives, RegisterCooperative, RegisterParticipant,
)

pytestmark = pytest.mark.integration

JOMBANG, KOTA_JOMBANG, PETERONGAN = "35.17", "35.17.09", "35.17.10"
MOJONGAPIT, PLANDI, JOMBATAN = "35.17.09.2001", "35.17.09.2003", "35.17.09.1002"  # desa, desa, kelurahan
PETERONGAN_DESA = "35.17.10.2001"
TAWANGREJO_MOJOKERTO = "35.16.01.2001"
FULL_TEAM = ["ketua", "wakil_ketua_usaha", "wakil_ketua_keanggotaan", "sekretaris", "bendahara",
             "ketua_pengawas", "anggota_pengawas", "anggota_pengawas"]


def caller(role: str = "operator", regency: str = JOMBANG, cooperative: str | None = None) -> Caller:
    return Caller(user=f"u-{role}", role=role, regency=regency, correlation_id="test", cooperative=cooperative)


def register(uow, villages, who: Caller | None = None, **fields):
    command = RegisterCooperative(regency=JOMBANG, villages=villages, **fields)
    return cooperatives.register_cooperative(uow, who or caller(), command)


_serials = itertools.count(1)


def add_participant(uow, cooperative_id: str, position: str, regency: str = JOMBANG) -> None:
    """A participant with a NIK of kecamatan 35.17.09, born 1 January 1970 (a man)."""
    serial = next(_serials)
    command = RegisterParticipant(
        regency=regency, nik=f"351709010170{serial:04d}", full_name=f"Peserta {serial}", sex="L",
        birth_date="1970-01-01", position=position, cooperative_id=cooperative_id,
    )
    handlers.register_participant(uow, caller("province_admin", regency="*"), command)


def outbox(sessions, aggregate_id: str) -> list[dict]:
    with sessions() as session:
        rows = session.execute(text("SELECT envelope FROM outbox WHERE aggregate_id = :id ORDER BY id"),
                               {"id": aggregate_id}).scalars()
        return list(rows)


def refused(code: str, call, *args) -> DomainError:
    with pytest.raises(DomainError) as caught:
        call(*args)
    assert caught.value.code == code, caught.value.params
    return caught.value


def test_a_cooperative_for_two_villages_of_jombang_is_registered_and_announced(uow, sessions):
    created = register(uow, [JOMBATAN, PETERONGAN_DESA], legal_entity_number="1234567890123",
                       contact_phone="0812-3456-7890")

    assert created["name"] == "Koperasi Kelurahan Merah Putih Jombatan"
    assert [v["code"] for v in created["villages"]] == [JOMBATAN, PETERONGAN_DESA]
    assert created["districts"] == [KOTA_JOMBANG, PETERONGAN]
    assert created["contact_phone"] == "+6281234567890"
    assert created["team"]["complete"] is False and created["team"]["pengurus"] == 0
    assert created["team"]["positions"]["ketua"] == 0
    [event] = outbox(sessions, created["id"])
    assert event["type"] == "cooperative.registered" and event["regency"] == JOMBANG
    assert event["payload"]["villages"] == [JOMBATAN, PETERONGAN_DESA]
    assert event["payload"]["districts"] == [KOTA_JOMBANG, PETERONGAN]
    assert "contact_phone" not in event["payload"]
    # The names certificates print, from the region tables.
    assert event["payload"]["village_names"][JOMBATAN] == "Jombatan"
    assert set(event["payload"]["village_names"]) == {JOMBATAN, PETERONGAN_DESA}
    assert event["payload"]["district_names"] == {KOTA_JOMBANG: "Jombang", PETERONGAN: "Peterongan"}
    assert event["payload"]["regency_name"] == "Kabupaten Jombang"
    assert cooperatives.get_cooperative(uow, caller("trainer"), created["id"])["name"] == created["name"]


def test_a_village_already_served_is_refused(uow, sessions):
    first = register(uow, [MOJONGAPIT])
    error = refused("village_taken", register, uow, [PLANDI, MOJONGAPIT])
    assert error.params == {"village": MOJONGAPIT}
    # Nothing of the refused registration stays: Plandi is still free.
    assert register(uow, [PLANDI])["name"] == "Koperasi Desa Merah Putih Plandi"
    # Nor can a change take it.
    other = register(uow, ["35.17.09.2007"])
    refused("village_taken", cooperatives.update_cooperative, uow, caller(), other["id"],
            CooperativeChanges(villages=["35.17.09.2007", MOJONGAPIT]))
    assert [v["code"] for v in cooperatives.get_cooperative(uow, caller(), first["id"])["villages"]] == [MOJONGAPIT]


def test_a_village_of_another_regency_or_unknown_is_refused(uow):
    error = refused("village_out_of_regency", register, uow, ["35.17.01.2001", TAWANGREJO_MOJOKERTO])
    assert error.params == {"village": TAWANGREJO_MOJOKERTO, "regency": JOMBANG}
    assert refused("village_not_found", register, uow, ["35.17.09.2999"]).params == {"village": "35.17.09.2999"}


def test_tenants_and_roles(uow):
    mojokerto = Caller(user="u", role="operator", regency="35.16", correlation_id="t")
    refused("regency_out_of_scope", register, uow, ["35.17.01.2002"], mojokerto)
    refused("forbidden", register, uow, ["35.17.01.2002"], caller("trainer"))
    created = register(uow, ["35.17.01.2002"], caller("province_admin", regency="*"))
    # Another regency's cooperative is not there for them.
    refused("cooperative_not_found", cooperatives.get_cooperative, uow, mojokerto, created["id"])
    # A cooperative operator sees its own cooperative only, and no statistics.
    own = caller("cooperative_operator", cooperative=created["id"])
    assert cooperatives.get_cooperative(uow, own, created["id"])["id"] == created["id"]
    other = register(uow, ["35.17.01.2003"])
    refused("cooperative_not_found", cooperatives.get_cooperative, uow, own, other["id"])
    listed = cooperatives.list_cooperatives(uow, own, ListCooperatives())
    assert [item["id"] for item in listed["items"]] == [created["id"]]
    refused("forbidden", cooperatives.cooperative_statistics, uow, own, CooperativeStatistics())
    refused("forbidden", cooperatives.update_cooperative, uow, own, created["id"], CooperativeChanges(name="Baru"))


def test_an_update_changes_what_was_sent_and_announces_it(uow, sessions):
    created = register(uow, ["35.17.02.2001"], contact_email="koperasi@example.id")
    changes = CooperativeChanges.model_validate({"villages": ["35.17.02.2001", "35.17.02.2002"], "name": None,
                                                 "legal_entity_number": "AHU-0001234.AH.01.29.TAHUN 2025"})
    updated = cooperatives.update_cooperative(uow, caller(), created["id"], changes)

    assert updated["version"] == 2 and len(updated["villages"]) == 2
    assert updated["contact_email"] == "koperasi@example.id"  # not sent, not changed
    assert updated["name"] == created["name"]  # cleared: the default again, of the same first village
    registered, changed = outbox(sessions, created["id"])
    assert changed["type"] == "cooperative.updated"
    assert changed["payload"]["changed"] == ["villages", "legal_entity_number"]
    assert changed["payload"]["version"] == 2
    assert set(changed["payload"]["village_names"]) == {"35.17.02.2001", "35.17.02.2002"}
    assert changed["payload"]["regency_name"] == "Kabupaten Jombang"
    # Sending the same again changes nothing and announces nothing.
    again = cooperatives.update_cooperative(uow, caller(), created["id"], changes)
    assert again["version"] == 2 and len(outbox(sessions, created["id"])) == 2


def test_a_participant_joins_a_cooperative_of_their_own_regency_only(uow, sessions):
    refused("cooperative_not_found", add_participant, uow, str(uuid.uuid4()), "ketua")
    jombang = register(uow, ["35.17.06.2001"])
    refused("cooperative_not_found", add_participant, uow, jombang["id"], "ketua", "35.16")
    add_participant(uow, jombang["id"], "ketua")
    assert cooperatives.get_cooperative(uow, caller(), jombang["id"])["team"]["positions"]["ketua"] == 1
    with sessions() as session:  # the foreign key was added NOT VALID: rows from before it stay unchecked
        assert session.execute(text(
            "SELECT convalidated FROM pg_constraint WHERE conname = 'fk_participants_cooperative'")).scalar() is False


def test_team_status_and_the_complete_filter(uow):
    complete = register(uow, ["35.17.03.2001"])
    incomplete = register(uow, ["35.17.03.2002"])
    for position in FULL_TEAM:
        add_participant(uow, complete["id"], position)
    for position in FULL_TEAM[:4]:
        add_participant(uow, incomplete["id"], position)

    view = cooperatives.get_cooperative(uow, caller(), complete["id"])
    assert view["team"]["complete"] and (view["team"]["pengurus"], view["team"]["pengawas"]) == (5, 3)
    partial = cooperatives.get_cooperative(uow, caller("trainer", cooperative=None), incomplete["id"])["team"]
    assert [reason["code"] for reason in partial["reasons"]] == [
        "pengurus_fewer_than_5", "pengurus_even", "position_vacant", "pengawas_fewer_than_3", "position_vacant"]

    def listed(**filters) -> list[str]:
        ids, cursor = [], None
        while True:  # a page of one at a time: the filter must hold across pages
            page = cooperatives.list_cooperatives(uow, caller(), ListCooperatives(
                district="35.17.03", limit=1, cursor=cursor, **filters))
            ids += [item["id"] for item in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                return ids

    assert listed(team_complete=True) == [complete["id"]]
    assert listed(team_complete=False) == [incomplete["id"]]
    assert set(listed()) == {complete["id"], incomplete["id"]}


def test_statistics_per_kecamatan(uow):
    # No other test uses kecamatan Bareng (35.17.04) or Wonosalam (35.17.05).
    shared = register(uow, ["35.17.04.2001", "35.17.05.2001"])  # a cooperative across two kecamatan
    single = register(uow, ["35.17.04.2002"])
    for position in FULL_TEAM:
        add_participant(uow, single["id"], position)
    add_participant(uow, shared["id"], "ketua")

    stats = cooperatives.cooperative_statistics(uow, caller(), CooperativeStatistics())

    assert stats["regency"] == JOMBANG
    assert len(stats["districts"]) == 21  # Kabupaten Jombang's kecamatan
    by_code = {row["code"]: row for row in stats["districts"]}
    with uow:
        villages_04 = len(uow.regions.villages("35.17.04"))
    assert by_code["35.17.04"] == {
        "code": "35.17.04", "name": by_code["35.17.04"]["name"], "villages": villages_04,
        "villages_with_cooperative": 2, "cooperatives": 2, "cooperatives_with_complete_team": 1, "participants": 9}
    assert by_code["35.17.05"]["cooperatives"] == 1 and by_code["35.17.05"]["participants"] == 1
    assert by_code["35.17.05"]["villages_with_cooperative"] == 1
    totals = stats["totals"]
    assert totals["villages"] == 306
    assert totals["villages_with_cooperative"] == sum(row["villages_with_cooperative"] for row in stats["districts"])
    # Counted once in the totals, though serving two kecamatan: this one and the first test's.
    assert totals["cooperatives"] == sum(row["cooperatives"] for row in stats["districts"]) - 2
    province = Caller(user="p", role="province_admin", regency="*", correlation_id="t")
    assert cooperatives.cooperative_statistics(uow, province, CooperativeStatistics(regency=JOMBANG)) == stats
    refused("validation_failed", cooperatives.cooperative_statistics, uow, province, CooperativeStatistics())
    refused("region_not_found", cooperatives.cooperative_statistics, uow, province,
            CooperativeStatistics(regency="35.99"))


def test_statistics_read_the_regency_s_participants_once_whatever_its_cooperatives(uow, sessions):
    """At province scale a regency has hundreds of cooperatives: its participants are read in one
    query by regency, never by a list of the cooperatives' ids, nor once per cooperative."""
    statements: list[str] = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    def participant_queries() -> list[str]:
        statements.clear()
        event.listen(sessions.kw["bind"], "before_cursor_execute", capture)
        try:
            cooperatives.cooperative_statistics(uow, caller(), CooperativeStatistics())
        finally:
            event.remove(sessions.kw["bind"], "before_cursor_execute", capture)
        return [statement for statement in statements if "FROM participants" in statement]

    before = participant_queries()
    for village in ("35.17.07.2001", "35.17.07.2002", "35.17.07.2003"):  # kecamatan 35.17.07: no other test's
        add_participant(uow, register(uow, [village])["id"], "ketua")
    after = participant_queries()

    assert len(before) == len(after) == 1, after
    assert "cooperative_id IN" not in after[0], after[0]


def test_the_list_pages_by_name_within_the_regency(uow):
    with uow:
        names = [row.name for row in uow.session.execute(
            select(metadata.tables["cooperatives"].c.name).order_by(text("name"), text("id")))]
    seen, cursor = [], None
    while True:
        page = cooperatives.list_cooperatives(uow, caller(), ListCooperatives(limit=3, cursor=cursor))
        seen += [item["name"] for item in page["items"]]
        assert "contact_phone" not in page["items"][0]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == names
    refused("invalid_cursor", cooperatives.list_cooperatives, uow, caller(),
            ListCooperatives(sort="-created_at", cursor=page_cursor_for_name(uow)))


def page_cursor_for_name(uow) -> str:
    return cooperatives.list_cooperatives(uow, caller(), ListCooperatives(limit=1))["next_cursor"]
