"""Training progress in the gateway: the merge of the three services' answers (kecamatan rows for
a regency, regency rows for the province, nulls and a note for a service that is down), the
route's tenant rules, and the dashboard page's shell. The services answer for real in
tests/integration/test_progress.py."""
from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from bimtek_gateway.dashboard import CONTENT_SECURITY_POLICY
from bimtek_gateway.dependencies import get_caller, get_services
from bimtek_gateway.problems import install_problem_handlers
from bimtek_gateway.progress import COLUMNS, merge, problem_note
from bimtek_gateway.routers import progress
from bimtek_gateway.rpc import ServiceTimeout, ServiceUnavailable
from bimtek_shared.contracts.caller import Caller


def registration(regency: str, districts: dict[str, tuple[str, int, int, int, int]], name: str) -> dict[str, Any]:
    """(name, villages, villages served, cooperatives, participants) per kecamatan; totals add them up."""
    rows = {code: {"name": n, "villages": v, "villages_with_cooperative": s, "cooperatives_registered": c,
                   "participants_registered": p} for code, (n, v, s, c, p) in districts.items()}
    totals = {key: sum(row[key] for row in rows.values()) for key in
              ("villages", "villages_with_cooperative", "cooperatives_registered", "participants_registered")}
    return {"regency": regency, "name": name, "totals": totals, "districts": rows}


def counted(regency: str, totals: dict[str, int], districts: dict[str, dict[str, int]]) -> dict[str, Any]:
    return {"regency": regency, "totals": totals, "districts": districts}


JOMBANG = {
    "registration": {"regencies": [registration("35.17", {
        "35.17.01": ("Perak", 13, 2, 2, 16), "35.17.02": ("Gudo", 18, 0, 0, 0)}, "Kabupaten Jombang")]},
    "scheduling": {"regencies": [counted("35.17", {
        "participants_scheduled": 16, "participants_checked_in": 9, "participants_completed": 8},
        {"35.17.01": {"participants_scheduled": 16, "participants_checked_in": 9, "participants_completed": 8}})],
        "upcoming_sessions": [{"id": "s1", "regency": "35.17", "number": 1, "days": ["2027-03-02"],
                               "venue": "Ruang Bung Tomo", "capacity": 250, "seats_taken": 16,
                               "districts": ["35.17.01"]}]},
    "certificates": {"regencies": [counted("35.17", {
        "certificates_issued": 7, "certificates_revoked": 1, "certificates_reissued": 2,
        "certificates_awaiting_issue": 0}, {"35.17.01": {
            "certificates_issued": 7, "certificates_revoked": 1, "certificates_reissued": 2,
            "certificates_awaiting_issue": 0}})]},
}


def test_a_regency_is_shown_per_kecamatan_every_kecamatan_listed_zero_where_nothing_counted():
    merged = merge("35.17", JOMBANG, [])
    assert merged["name"] == "Kabupaten Jombang" and merged["area_level"] == "district"
    perak, gudo = merged["areas"]
    assert (perak["code"], perak["name"], gudo["code"], gudo["name"]) == ("35.17.01", "Perak", "35.17.02", "Gudo")
    assert perak == {"code": "35.17.01", "name": "Perak", "villages": 13, "villages_with_cooperative": 2,
                     "cooperatives_registered": 2, "participants_registered": 16, "participants_scheduled": 16,
                     "participants_checked_in": 9, "participants_completed": 8, "certificates_issued": 7,
                     "certificates_revoked": 1, "certificates_reissued": 2, "certificates_awaiting_issue": 0}
    assert all(gudo[column] == 0 for column in COLUMNS if column != "villages") and gudo["villages"] == 18
    assert merged["totals"]["villages"] == 31 and merged["totals"]["participants_completed"] == 8
    assert merged["upcoming_sessions"][0]["districts"] == [{"code": "35.17.01", "name": "Perak"}]
    assert merged["problems"] == []


def test_a_service_that_did_not_answer_leaves_its_columns_null_and_the_rest_stands():
    note = problem_note("scheduling", "service_unavailable", "en")
    merged = merge("35.17", {**JOMBANG, "scheduling": None}, [note])
    for row in (merged["totals"], *merged["areas"]):
        assert row["participants_scheduled"] is None and row["participants_completed"] is None
        assert row["participants_registered"] is not None and row["certificates_issued"] is not None
    assert merged["upcoming_sessions"] is None
    assert merged["problems"] == [{"service": "scheduling", "code": "service_unavailable",
                                   "detail": "The scheduling service is unavailable. Please try again later."}]


def test_without_registration_the_kecamatan_counted_elsewhere_still_show_unnamed():
    merged = merge("35.17", {**JOMBANG, "registration": None}, [])
    assert [(area["code"], area["name"], area["villages"]) for area in merged["areas"]] == [("35.17.01", None, None)]
    assert merged["areas"][0]["certificates_issued"] == 7


def test_the_province_is_shown_per_regency_with_the_sum_of_their_totals():
    province = {service: {"regencies": answer["regencies"] + ([registration(
        "35.15", {"35.15.01": ("Tarik", 20, 1, 1, 8)}, "Kabupaten Sidoarjo")] if service == "registration" else [
        counted("35.15", dict.fromkeys(answer["regencies"][0]["totals"], 1), {})])}
        for service, answer in JOMBANG.items()}
    merged = merge(None, province, [])
    assert merged["area_level"] == "regency" and merged["regency"] is None
    assert [(area["code"], area["name"]) for area in merged["areas"]] == [
        ("35.15", "Kabupaten Sidoarjo"), ("35.17", "Kabupaten Jombang")]
    assert merged["areas"][0]["participants_registered"] == 8 and merged["areas"][0]["certificates_issued"] == 1
    assert merged["totals"]["participants_registered"] == 24 and merged["totals"]["villages"] == 51
    assert merged["totals"]["participants_scheduled"] == 17


class ServicesStandIn:
    def __init__(self, failing: dict[str, Exception] | None = None) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []
        self.failing = failing or {}

    async def call(self, service: str, method: str, **kwargs: Any) -> Any:
        self.calls.append((service, method, kwargs))
        if service in self.failing:
            raise self.failing[service]
        return JOMBANG[service]


def client(role: str, regency: str = "35.17", failing: dict[str, Exception] | None = None
           ) -> tuple[TestClient, ServicesStandIn]:
    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(progress.router)
    app.include_router(progress.pages)
    stand_in = ServicesStandIn(failing)
    app.dependency_overrides[get_caller] = lambda: Caller(user="u", role=role, regency=regency, correlation_id="r")
    app.dependency_overrides[get_services] = lambda: stand_in
    return TestClient(app), stand_in


@pytest.mark.parametrize("role,allowed", [
    ("province_admin", True), ("regency_admin", True), ("operator", True), ("trainer", True),
    ("cooperative_operator", False), ("participant", False), ("device", False),
])
def test_who_may_read_progress(role, allowed):
    http, stand_in = client(role)
    answer = http.get("/api/v1/progress")
    assert answer.status_code == (200 if allowed else 403), answer.text
    assert bool(stand_in.calls) == allowed


def test_staff_see_their_own_regency_and_a_province_administrator_any_or_the_province():
    http, stand_in = client("trainer")
    assert http.get("/api/v1/progress").json()["regency"] == "35.17"
    assert {kwargs["regency"] for _, _, kwargs in stand_in.calls} == {"35.17"}
    refused = http.get("/api/v1/progress", params={"regency": "35.15"})
    assert refused.status_code == 403 and refused.json()["code"] == "regency_out_of_scope"
    assert http.get("/api/v1/progress", params={"regency": "35.1"}).status_code == 422

    http, stand_in = client("province_admin", regency="*")
    assert http.get("/api/v1/progress").json()["area_level"] == "regency"
    assert http.get("/api/v1/progress", params={"regency": "35.17"}).json()["area_level"] == "district"
    assert [kwargs["regency"] for _, _, kwargs in stand_in.calls] == [None] * 3 + ["35.17"] * 3


def test_a_service_down_or_slow_is_a_note_not_an_error():
    http, _ = client("operator", failing={"scheduling": ServiceUnavailable("scheduling", "get_progress"),
                                          "certificates": ServiceTimeout("certificates", "get_progress", 2.0)})
    answer = http.get("/api/v1/progress")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert [(note["service"], note["code"]) for note in body["problems"]] == [
        ("certificates", "service_timeout"), ("scheduling", "service_unavailable")]
    assert body["totals"]["participants_registered"] == 16 and body["totals"]["certificates_issued"] is None


def test_the_dashboard_is_a_static_shell_under_a_strict_policy_in_either_language():
    http, stand_in = client("operator")
    page = http.get("/dashboard/35.17")
    assert page.status_code == 200 and page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY and "script-src 'self'" in CONTENT_SECURITY_POLICY
    assert '<html lang="id">' in page.text and "Peserta terdaftar" in page.text and '"regency": "35.17"' in page.text
    english = http.get("/dashboard", params={"lang": "en"})
    assert '<html lang="en">' in english.text and "Registered" in english.text and '"regency": null' in english.text
    assert "<script>" not in page.text and "style=" not in page.text  # nothing inline for the policy to allow
    script = http.get("/dashboard/assets/dashboard.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    assert "innerHTML" not in script.text  # values go in as text only
    assert http.get("/dashboard/assets/secret.py").status_code in (404, 422)
    assert http.get("/dashboard/35.1").status_code == 422
    assert stand_in.calls == []  # the page itself asks no service: the figures come from the API
