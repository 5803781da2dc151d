"""The participant-life and personal-data routes' rules of their own (roles, what is sent on, the
NIK kept out of URLs and caches), with a stand-in for the registration service: the real one
answers in tests/integration/test_participant_lifecycle.py at the repository root."""
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from bimtek_gateway.dependencies import get_caller, get_services
from bimtek_gateway.problems import install_problem_handlers
from bimtek_gateway.routers import audit_log, participants
from bimtek_shared.contracts.caller import Caller

PID = "0b5e9c4a-8d1f-4f2a-9e3b-7c6d5a4b3c2d"
VIEW = {
    "id": PID, "regency": "35.17", "participant_code": "ABCD2345", "nik_masked": "************0002",
    "full_name": "Siti Aminah", "sex": "P", "birth_date": "1985-07-01", "phone": None, "position": "ketua",
    "position_group": "pengurus", "cooperative_id": None, "registered_at": "2026-11-28T08:00:00+00:00",
    "status": "active", "replaces": None, "replaced_by": None, "withdrawn_at": None, "withdrawal_reason": None,
    "erased_at": None, "updated_at": "2026-11-28T08:00:00+00:00",
}
ERASED = VIEW | {key: None for key in ("participant_code", "nik_masked", "full_name", "sex", "birth_date",
                                        "position")} | {"status": "erased", "erased_at": "2026-11-28T09:00:00+00:00"}
ANSWERS = {
    "update_participant": VIEW | {"warnings": []},
    "withdraw_participant": VIEW | {"status": "withdrawn", "withdrawal_reason": "resigned"},
    "substitute_participant": {"replaced": VIEW, "replacement": VIEW | {"warnings": []}},
    "reveal_participant_nik": {"participant_id": PID, "nik": "3517094107850002"},
    "export_participant_data": {"participant": VIEW | {"nik": "3517094107850002"}, "audit_trail": [],
                                "held_by_other_services": {}, "exported_at": "2026-11-28T09:00:00+00:00"},
    "erase_participant": ERASED,
    "list_audit_log": {"items": [], "next_cursor": None, "limit": 50},
}


class RegistrationStandIn:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    async def call(self, service: str, method: str, **kwargs: Any) -> Any:
        assert service == "registration"
        self.calls.append((method, kwargs))
        return ANSWERS[method]


def client(role: str) -> tuple[TestClient, RegistrationStandIn]:
    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(participants.router)
    app.include_router(audit_log.router)
    stand_in = RegistrationStandIn()
    app.dependency_overrides[get_caller] = lambda: Caller(user="u", role=role, regency="35.17", correlation_id="r")
    app.dependency_overrides[get_services] = lambda: stand_in
    return TestClient(app), stand_in


BASE = f"/api/v1/participants/{PID}"
PERSONAL_DATA = [("POST", f"{BASE}/nik-reveal", {"purpose": "Verifikasi surat tugas"}), ("GET", f"{BASE}/export", None),
                 ("POST", f"{BASE}/erasure", None), ("GET", "/api/v1/audit-log", None)]
CHANGES = [("PATCH", BASE, {"phone": "081234567890"}), ("POST", f"{BASE}/withdrawal", {"reason": "resigned"}),
           ("POST", f"{BASE}/substitution", {"nik": "3517091503800003", "full_name": "Budi", "sex": "L",
                                              "birth_date": "1980-03-15"})]


@pytest.mark.parametrize("method, url, body", PERSONAL_DATA)
@pytest.mark.parametrize("role", ["operator", "trainer", "cooperative_operator", "participant"])
def test_only_administrators_reach_personal_data(method, url, body, role):
    http, stand_in = client(role)
    answer = http.request(method, url, json=body)
    assert answer.status_code == 403 and stand_in.calls == []


@pytest.mark.parametrize("method, url, body", CHANGES)
@pytest.mark.parametrize("role, allowed", [("operator", True), ("regency_admin", True), ("trainer", False),
                                           ("cooperative_operator", False), ("participant", False)])
def test_who_may_change_participants(method, url, body, role, allowed):
    http, stand_in = client(role)
    answer = http.request(method, url, json=body)
    assert (answer.status_code < 300) is allowed, answer.text
    assert bool(stand_in.calls) is allowed


def test_a_patch_sends_only_the_fields_given():
    http, stand_in = client("operator")
    assert http.patch(BASE, json={"phone": None, "position": "sekretaris"}).status_code == 200
    assert stand_in.calls == [("update_participant", {"participant_id": PID,
                                                      "changes": {"phone": None, "position": "sekretaris"}})]


@pytest.mark.parametrize("body", [{"nik": "123"}, {"position": "direktur"}, {"status": "active"}, {"regency": "35.16"}])
def test_a_patch_refuses_what_it_cannot_take(body):
    http, stand_in = client("operator")
    assert http.patch(BASE, json=body).status_code == 422 and stand_in.calls == []


def test_substitution_is_never_chosen_as_a_withdrawal_reason():
    http, stand_in = client("operator")
    assert http.post(f"{BASE}/withdrawal", json={"reason": "substituted"}).status_code == 422


def test_a_revealed_nik_travels_in_the_body_only_and_is_never_cached():
    http, stand_in = client("regency_admin")
    answer = http.post(f"{BASE}/nik-reveal", json={"purpose": "Verifikasi surat tugas"})
    assert answer.status_code == 200 and answer.json()["nik"] == "3517094107850002"
    assert answer.headers["cache-control"] == "no-store"
    assert stand_in.calls == [("reveal_participant_nik", {"participant_id": PID, "purpose": "Verifikasi surat tugas"})]
    assert http.get(f"{BASE}/nik-reveal").status_code == 405  # no URL ever carries it
    assert http.post(f"{BASE}/nik-reveal", json={"purpose": "x"}).status_code == 422  # a reason is required
    assert http.get(f"{BASE}/export").headers["cache-control"] == "no-store"


def test_an_erased_participant_is_shown_without_personal_fields():
    http, _ = client("regency_admin")
    shown = http.post(f"{BASE}/erasure").json()
    assert shown["status"] == "erased" and shown["full_name"] is None and shown["nik_masked"] is None


def test_the_audit_log_filters_by_participant_and_action():
    http, stand_in = client("province_admin")
    assert http.get("/api/v1/audit-log", params={"participant_id": PID, "action": "reveal_nik"}).status_code == 200
    assert stand_in.calls[-1] == ("list_audit_log", {"query": {"limit": 50, "sort": "-at", "participant_id": PID,
                                                                "action": "reveal_nik"}})
    assert http.get("/api/v1/audit-log", params={"nik": "3517094107850002"}).status_code == 422
