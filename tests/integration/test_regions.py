"""The region reference data through the public API: loaded by the stack's start-up (the
registration unit's after-migrate step), listed by the gateway with ETags, and checked against
the region digits of every NIK registered."""
from __future__ import annotations

import httpx
import pytest

from tests.integration.harness import System, participant_body

pytestmark = pytest.mark.integration

PROBLEM_JSON = "application/problem+json"


def test_the_stack_starts_with_jawa_timur_loaded_and_lists_it(running_system: System) -> None:
    api = running_system.api
    regencies = api.get("/api/v1/regions/regencies")
    assert regencies.status_code == 200, regencies.text
    assert regencies.json()["province"] == "35"
    assert len(regencies.json()["items"]) == 38
    assert {"code": "35.17", "name": "Kabupaten Jombang", "kind": "kabupaten"} in regencies.json()["items"]

    districts = api.get("/api/v1/regions/regencies/35.17/districts")
    assert districts.status_code == 200 and len(districts.json()["items"]) == 21
    villages = api.get("/api/v1/regions/districts/35.17.09/villages").json()["items"]
    assert [v["name"] for v in villages if v["kind"] == "kelurahan"] == ["Jombatan", "Kaliwungu", "Jelakombo",
                                                                       "Kepanjen"]
    assert len(villages) == 20


def test_answers_are_cacheable_and_revalidated_by_etag(running_system: System) -> None:
    first = running_system.api.get("/api/v1/regions/regencies/35.17/districts")
    assert first.headers["cache-control"] == "private, max-age=3600"
    again = running_system.api.get("/api/v1/regions/regencies/35.17/districts",
                                   headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


def test_unknown_regions_and_anonymous_callers_get_problems(running_system: System) -> None:
    missing = running_system.api.get("/api/v1/regions/regencies/35.99/districts", headers={"Accept-Language": "en"})
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith(PROBLEM_JSON)
    assert (missing.json()["code"], missing.json()["detail"]) == ("region_not_found", "Region not found.")
    with httpx.Client(base_url=running_system.stack.gateway_url, timeout=10) as anonymous:
        assert anonymous.get("/api/v1/regions/regencies").status_code == 401


def test_registration_checks_the_nik_against_the_loaded_regions(running_system: System) -> None:
    body = participant_body()  # a NIK from Kecamatan Jombang, Kabupaten Jombang
    from_surabaya = {**body, "nik": "357801" + body["nik"][6:]}
    created = running_system.api.post("/api/v1/participants", json=from_surabaya)
    assert created.status_code == 201, created.text
    assert created.json()["warnings"] == ["nik_from_other_regency"]

    nowhere = participant_body()
    refused = running_system.api.post("/api/v1/participants", json={**nowhere, "nik": "351799" + nowhere["nik"][6:]})
    assert refused.status_code == 422
    assert refused.json()["code"] == "nik_invalid"
    assert refused.json()["detail"] == "NIK tidak valid: kode kecamatan tidak dikenal."
