"""Cooperatives end to end through the public API: gateway -> registration (with the region data of
Jawa Timur loaded) -> outbox -> RabbitMQ -> scheduling, and the refusals a client sees."""
from __future__ import annotations

import pytest

from tests.integration.harness import System, participant_body, wait_until

pytestmark = pytest.mark.integration

COOPERATIVES = "/api/v1/cooperatives"
PROBLEM_JSON = "application/problem+json"
# Three desa of kecamatan Kabuh, Kabupaten Jombang, that no other test uses; and a desa of
# Kabupaten Mojokerto.
KABUH = "35.17.16"
MARMOYO, TANJUNGWADUNG, MANGUNAN = "35.17.16.2001", "35.17.16.2002", "35.17.16.2003"
MOJOKERTO_DESA = "35.16.01.2001"
FULL_TEAM = ["ketua", "wakil_ketua_usaha", "wakil_ketua_keanggotaan", "sekretaris", "bendahara",
             "ketua_pengawas", "anggota_pengawas", "anggota_pengawas"]


def scheduling_knows(system: System, cooperative_id: str, version: int) -> tuple | None:
    rows = system.query("scheduling", "SELECT regency, name, districts, version FROM cooperatives "
                                      "WHERE cooperative_id = %s AND version = %s", (cooperative_id, version))
    return rows[0] if rows else None


def kabuh_statistics(system: System) -> dict:
    answer = system.api.get(f"{COOPERATIVES}/statistics")
    assert answer.status_code == 200, answer.text
    return next(row for row in answer.json()["districts"] if row["code"] == KABUH)


def test_a_cooperative_for_two_villages_reaches_scheduling_and_the_statistics(running_system: System) -> None:
    system = running_system
    before = kabuh_statistics(system)

    response = system.api.post(COOPERATIVES, json={"villages": [MARMOYO, TANJUNGWADUNG],
                                                   "contact_phone": "0812-3300-1234"})

    assert response.status_code == 201, response.text
    created = response.json()
    names = system.query("registration", "SELECT code, name FROM villages WHERE code = ANY(%s)",
                         ([MARMOYO, TANJUNGWADUNG],))
    assert created["name"] == "Koperasi Desa Merah Putih " + dict(names)[MARMOYO]
    assert created["regency"] == "35.17" and created["districts"] == [KABUH]
    assert [village["code"] for village in created["villages"]] == [MARMOYO, TANJUNGWADUNG]
    assert created["contact_phone"] == "+6281233001234"
    assert created["team"]["complete"] is False

    # Scheduling learns where it is.
    known = wait_until(lambda: scheduling_knows(system, created["id"], 1), timeout=20,
                       message="scheduling never recorded the cooperative")
    assert known == ("35.17", created["name"], [KABUH], 1)

    # Its team, registered through the API, completes it.
    for position in FULL_TEAM:
        answer = system.api.post("/api/v1/participants",
                                 json=participant_body(position=position, cooperative_id=created["id"]))
        assert answer.status_code == 201, answer.text
    team = system.api.get(f"{COOPERATIVES}/{created['id']}").json()["team"]
    assert team["complete"] is True and (team["pengurus"], team["pengawas"]) == (5, 3)
    assert team["positions"]["anggota_pengawas"] == 2

    after = kabuh_statistics(system)
    assert after["villages"] == before["villages"]
    assert after["villages_with_cooperative"] == before["villages_with_cooperative"] + 2
    assert after["cooperatives"] == before["cooperatives"] + 1
    assert after["cooperatives_with_complete_team"] == before["cooperatives_with_complete_team"] + 1
    assert after["participants"] == before["participants"] + len(FULL_TEAM)

    # A change reaches scheduling too, as a newer version.
    changed = system.api.patch(f"{COOPERATIVES}/{created['id']}", json={"name": "Koperasi Kabuh Sejahtera"})
    assert changed.status_code == 200 and changed.json()["version"] == 2
    wait_until(lambda: scheduling_knows(system, created["id"], 2), timeout=20,
               message="scheduling never recorded the change")
    assert scheduling_knows(system, created["id"], 2)[1] == "Koperasi Kabuh Sejahtera"

    # Completeness is a list filter.
    listed = system.api.get(COOPERATIVES, params={"district": KABUH, "team_complete": "true"}).json()
    assert created["id"] in [item["id"] for item in listed["items"]]


def test_a_village_already_served_is_refused(running_system: System) -> None:
    system = running_system
    first = system.api.post(COOPERATIVES, json={"villages": [MANGUNAN]})
    assert first.status_code == 201, first.text

    again = system.api.post(COOPERATIVES, json={"villages": [MANGUNAN]}, headers={"Accept-Language": "en"})

    assert again.status_code == 409
    assert again.headers["content-type"].startswith(PROBLEM_JSON)
    problem = again.json()
    assert problem["code"] == "village_taken"
    assert problem["detail"] == f"Village {MANGUNAN} is already served by another cooperative."


def test_a_village_of_another_regency_is_refused(running_system: System) -> None:
    system = running_system

    response = system.api.post(COOPERATIVES, json={"villages": [MOJOKERTO_DESA]})

    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "village_out_of_regency"
    assert problem["detail"] == f"Desa/kelurahan {MOJOKERTO_DESA} tidak berada di kabupaten/kota 35.17."
    # Nor may the operator of Jombang name Mojokerto as the regency.
    elsewhere = system.api.post(COOPERATIVES, json={"regency": "35.16", "villages": [MOJOKERTO_DESA]})
    assert elsewhere.status_code == 403 and elsewhere.json()["code"] == "regency_out_of_scope"
