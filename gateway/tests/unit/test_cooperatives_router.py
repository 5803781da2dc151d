"""The cooperative routes' rules of their own (roles, the regency a write is for, what a PATCH
sends, refusals before any call), with a stand-in for the registration service: the real one
answers in tests/integration/test_cooperatives.py at the repository root."""
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from bimtek_gateway.dependencies import get_caller, get_services
from bimtek_gateway.problems import install_problem_handlers
from bimtek_gateway.routers import cooperatives
from bimtek_shared.contracts.caller import Caller

COOPERATIVE_ID = "6f1c2a7e-3f0b-4c55-9d1e-2b8a1f6c9d30"
TEAM = {"complete": False, "pengurus": 0, "pengawas": 0, "reasons": []}
VIEW = {
    "id": COOPERATIVE_ID, "regency": "35.17", "name": "Koperasi Desa Merah Putih Plandi",
    "villages": [{"code": "35.17.09.2003", "name": "Plandi", "kind": "desa", "district": "35.17.09"}],
    "districts": ["35.17.09"], "legal_entity_number": None, "version": 1,
    "created_at": "2026-11-28T08:00:00+00:00", "updated_at": "2026-11-28T08:00:00+00:00",
    "contact_phone": None, "contact_email": None, "team": {**TEAM, "positions": {}},
}
STATISTICS = {"regency": "35.17", "districts": [], "totals": {
    "villages": 306, "villages_with_cooperative": 0, "cooperatives": 0, "cooperatives_with_complete_team": 0,
    "participants": 0, "participants_without_cooperative": 0}}
ANSWERS = {"register_cooperative": VIEW, "update_cooperative": VIEW, "get_cooperative": VIEW,
           "list_cooperatives": {"items": [], "next_cursor": None, "limit": 50},
           "cooperative_statistics": STATISTICS}


class RegistrationStandIn:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    async def call(self, service: str, method: str, **kwargs: Any) -> Any:
        assert service == "registration"
        self.calls.append((method, kwargs))
        return ANSWERS[method]


def client(role: str, regency: str = "35.17", cooperative: str | None = None) -> tuple[TestClient, RegistrationStandIn]:
    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(cooperatives.router)
    stand_in = RegistrationStandIn()
    app.dependency_overrides[get_caller] = lambda: Caller(user="u", role=role, regency=regency, correlation_id="r",
                                                         cooperative=cooperative)
    app.dependency_overrides[get_services] = lambda: stand_in
    return TestClient(app), stand_in


def test_a_regency_operator_registers_in_their_own_regency_only():
    http, stand_in = client("operator")
    assert http.post("/api/v1/cooperatives", json={"villages": ["35.17.09.2003"]}).status_code == 201
    assert stand_in.calls[-1] == ("register_cooperative", {"cooperative": {
        "regency": "35.17", "villages": ["35.17.09.2003"], "name": None, "legal_entity_number": None,
        "contact_phone": None, "contact_email": None}})
    other = http.post("/api/v1/cooperatives", json={"regency": "35.16", "villages": ["35.16.01.2001"]})
    assert other.status_code == 403 and other.json()["code"] == "regency_out_of_scope"
    assert len(stand_in.calls) == 1


def test_a_province_administrator_names_the_regency():
    http, stand_in = client("province_admin", regency="*")
    missing = http.post("/api/v1/cooperatives", json={"villages": ["35.16.01.2001"]})
    assert missing.status_code == 422
    created = http.post("/api/v1/cooperatives", json={"regency": "35.16", "villages": ["35.16.01.2001"]})
    assert created.status_code == 201
    assert stand_in.calls[-1][1]["cooperative"]["regency"] == "35.16"
    assert http.get("/api/v1/cooperatives/statistics", params={"regency": "35.16"}).status_code == 200
    assert stand_in.calls[-1] == ("cooperative_statistics", {"query": {"regency": "35.16"}})


@pytest.mark.parametrize("role,allowed", [
    ("province_admin", {"write", "read", "statistics"}), ("regency_admin", {"write", "read", "statistics"}),
    ("operator", {"write", "read", "statistics"}), ("trainer", {"read", "statistics"}),
    ("cooperative_operator", {"read"}), ("participant", set()),
])
def test_who_may_do_what(role, allowed):
    http, _ = client(role, regency="*" if role == "province_admin" else "35.17", cooperative=COOPERATIVE_ID)
    answers = {
        "write": http.patch(f"/api/v1/cooperatives/{COOPERATIVE_ID}", json={"name": "Koperasi Plandi Jaya"}),
        "read": http.get(f"/api/v1/cooperatives/{COOPERATIVE_ID}"),
        "statistics": http.get("/api/v1/cooperatives/statistics", params={"regency": "35.17"}),
    }
    assert {what for what, answer in answers.items() if answer.status_code == 200} == allowed
    assert all(answer.json()["code"] == "forbidden" for what, answer in answers.items() if what not in allowed)


def test_a_patch_sends_only_the_fields_given_and_never_a_regency():
    http, stand_in = client("operator")
    assert http.patch(f"/api/v1/cooperatives/{COOPERATIVE_ID}", json={"name": None}).status_code == 200
    assert stand_in.calls[-1] == ("update_cooperative", {"cooperative_id": COOPERATIVE_ID, "changes": {"name": None}})
    moved = http.patch(f"/api/v1/cooperatives/{COOPERATIVE_ID}", json={"regency": "35.16"})
    assert moved.status_code == 422 and moved.json()["errors"][0]["field"] == "regency"


def test_bad_input_is_refused_before_any_call():
    http, stand_in = client("operator")
    for body in ({"villages": []}, {"villages": ["35.17.09"]}, {"villages": ["35.17.09.2003"], "nik": "1"}):
        assert http.post("/api/v1/cooperatives", json=body).status_code == 422
    for params in ({"district": "35.17"}, {"sort": "contact_phone"}, {"phone": "0812"}):
        assert http.get("/api/v1/cooperatives", params=params).status_code == 422
    assert stand_in.calls == []


def test_the_list_passes_its_filters_on():
    http, stand_in = client("trainer")
    answer = http.get("/api/v1/cooperatives", params={"district": "35.17.09", "team_complete": "false",
                                                       "sort": "-created_at", "limit": 10})
    assert answer.status_code == 200
    assert stand_in.calls == [("list_cooperatives", {"query": {
        "limit": 10, "sort": "-created_at", "district": "35.17.09", "team_complete": False}})]
