"""The planning routes' own rules (roles, the regency a write is for, what reaches the service),
with a stand-in for the scheduling service: the real one answers in
tests/integration/test_session_planning.py at the repository root."""
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from bimtek_gateway.dependencies import get_caller, get_services, get_settings
from bimtek_gateway.problems import install_problem_handlers
from bimtek_gateway.settings import GatewaySettings
from bimtek_gateway.routers import (
    cooperative_sessions, plan_previews, plans, plans_together, programmes, resource_persons, sessions, venues,
)
from bimtek_shared.contracts.caller import Caller

ID = "6f1c2a7e-3f0b-4c55-9d1e-2b8a1f6c9d30"
OTHER_ID = "0b7f3c9e-2f5a-4d8e-9c1b-7a6e5d4c3b2a"
NOW = "2026-11-28T08:00:00+00:00"
TOPICS = [{"topic": "Perkoperasian dan tata kelola KDMP", "hours": 4}, {"topic": "Manajemen usaha", "hours": 4}]
PROGRAMME_IN = {"title": "Bimtek Perkoperasian KDMP Kabupaten Jombang 2025", "topics": TOPICS, "days_per_session": 1,
                "window_start": "2025-10-01", "window_end": "2025-10-31", "min_attendance_days": 1}
PROGRAMME = {"id": ID, "regency": "35.17", **PROGRAMME_IN, "total_hours": 8, "neighbours": [], "published": False,
             "version": 1, "created_at": NOW, "updated_at": NOW,
             "plan": {"plan_id": None, "revision": None, "published_at": None, "replan_pending": False}}
OCTOBER = [{"start": "2025-10-01", "end": "2025-10-31"}]
VENUE = {"id": ID, "regency": "35.17", "name": "Ruang Bung Tomo", "capacity": 250, "available": OCTOBER, "version": 1,
         "created_at": NOW, "updated_at": NOW}
PERSON = {"id": ID, "name": "Narasumber", "topics": ["Manajemen usaha"], "available": OCTOBER, "version": 1,
          "created_at": NOW, "updated_at": NOW}
SESSION = {"id": ID, "programme_id": ID, "regency": "35.17", "number": 1, "days": ["2025-10-01"],
           "venue": {"id": ID, "name": "Ruang Bung Tomo"}, "resource_persons": [{"id": ID, "name": "Narasumber"}],
           "cooperatives": [{"id": ID, "name": "Koperasi Desa Merah Putih Plandi", "district": "35.17.09"}],
           "participants": 8, "why": ["Kecamatan 35.17.09: seluruh 1 koperasi (8 peserta) di sesi ini."],
           "reasons": [{"code": "district_whole", "params": {"district": "35.17.09"}}]}
PUBLISHED_SESSION = {**SESSION, "status": "scheduled", "locked": False, "version": 1}
SESSION_DETAIL = {**PUBLISHED_SESSION, "teams": [{"cooperative_id": ID, "name": "Koperasi", "districts": ["35.17.09"],
                                                  "participants": 8}], "seated": 8}
PLAN = {"id": OTHER_ID, "programme_id": ID, "regency": "35.17", "kind": "preview", "status": "preview", "revision": None,
        "created_at": NOW, "published_at": None, "participants": 8, "unplaced": [], "moved_cooperatives": [],
        "figures": {"sessions": 1, "sessions_lower_bound": 1, "districts_split": 0,
                    "shared_sessions_with_non_neighbours": 0, "finish": "2025-10-01"},
        "not_plannable": {"without_cooperative": 0, "cooperative_not_known_yet": 0}, "sessions": [SESSION]}
PUBLISHED = {**PLAN, "status": "published", "revision": 1, "published_at": NOW, "replan_pending": False,
             "sessions": [PUBLISHED_SESSION]}
SUMMARY = {key: PLAN[key] for key in ("id", "programme_id", "regency", "status", "revision", "created_at",
                                       "published_at", "figures", "participants", "not_plannable")} \
    | {"session_count": 1, "unplaced_count": 0}
PAGE = {"items": [], "next_cursor": None, "limit": 50}
ANSWERS = {
    "create_programme": PROGRAMME, "update_programme": PROGRAMME, "get_programme": PROGRAMME, "list_programmes": PAGE,
    "create_venue": VENUE, "update_venue": VENUE, "get_venue": VENUE, "list_venues": PAGE,
    "create_resource_person": PERSON, "update_resource_person": PERSON, "get_resource_person": PERSON,
    "list_resource_persons": PAGE, "preview_plan": PLAN, "get_plan_preview": PLAN, "publish_plan": PUBLISHED,
    "get_plan": PUBLISHED, "replan": {**PUBLISHED, "changes": {
        "sessions_scheduled": [], "sessions_rescheduled": [], "sessions_cancelled": [], "participants_moved": 0,
        "participants_unseated": 0}},
    "list_sessions": PAGE, "get_session": SESSION_DETAIL, "lock_session": SESSION_DETAIL,
    "unlock_session": SESSION_DETAIL, "move_cooperative": SESSION_DETAIL,
    "preview_plans": {"previews": [SUMMARY]},
    "publish_plans": {"plans": [{**SUMMARY, "status": "published", "revision": 1, "published_at": NOW}]},
}


class SchedulingStandIn:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.waits: list[float] = []

    def waiting(self, seconds: float) -> "SchedulingStandIn":
        self.waits.append(seconds)
        return self

    async def call(self, service: str, method: str, **kwargs: Any) -> Any:
        assert service == "scheduling"
        self.calls.append((method, kwargs))
        return ANSWERS[method]


def client(role: str, regency: str = "35.17") -> tuple[TestClient, SchedulingStandIn]:
    app = FastAPI()
    install_problem_handlers(app)
    for module in (programmes, plan_previews, plans, plans_together, venues, resource_persons, sessions, cooperative_sessions):
        app.include_router(module.router)
    stand_in = SchedulingStandIn()
    app.dependency_overrides[get_caller] = lambda: Caller(user="u", role=role, regency=regency, correlation_id="r")
    app.dependency_overrides[get_services] = lambda: stand_in
    settings = GatewaySettings()
    app.dependency_overrides[get_settings] = lambda: settings
    return TestClient(app), stand_in


API = "/api/v1"
PLAN_WRITES = [("POST", f"{API}/programmes", PROGRAMME_IN), ("PATCH", f"{API}/programmes/{ID}", {"title": "Baru"}),
               ("POST", f"{API}/venues", {"name": "Ruang Bung Tomo", "capacity": 250, "available": OCTOBER}),
               ("PATCH", f"{API}/venues/{ID}", {"capacity": 240}),
               ("POST", f"{API}/programmes/{ID}/plan-previews", None),
               ("POST", f"{API}/programmes/{ID}/plan", {"preview_id": OTHER_ID}),
               ("POST", f"{API}/programmes/{ID}/plan/revisions", None),
               ("PUT", f"{API}/sessions/{ID}/lock", None), ("DELETE", f"{API}/sessions/{ID}/lock", None),
               ("PUT", f"{API}/cooperatives/{ID}/session", {"session_id": OTHER_ID}),
               ("POST", f"{API}/plan-previews", {"programme_ids": [ID]}),
               ("POST", f"{API}/plan-publications", {"preview_ids": [OTHER_ID]})]
PLAN_READS = [f"{API}/programmes", f"{API}/programmes/{ID}", f"{API}/programmes/{ID}/plan-previews/{OTHER_ID}",
              f"{API}/programmes/{ID}/plan", f"{API}/venues", f"{API}/venues/{ID}", f"{API}/sessions",
              f"{API}/sessions/{ID}"]
PERSON_WRITES = [("POST", f"{API}/resource-persons", {"name": "N", "topics": ["Manajemen usaha"], "available": []}),
                 ("PATCH", f"{API}/resource-persons/{ID}", {"topics": ["Manajemen usaha"]})]
PERSON_READS = [f"{API}/resource-persons", f"{API}/resource-persons/{ID}"]


@pytest.mark.parametrize("role,allowed", [
    ("province_admin", {"plan", "read", "persons", "read persons"}),
    ("regency_admin", {"plan", "read", "read persons"}), ("operator", {"plan", "read", "read persons"}),
    ("trainer", {"read", "read persons"}), ("cooperative_operator", set()), ("participant", set()),
])
def test_who_may_do_what(role, allowed):
    http, _ = client(role, regency="*" if role == "province_admin" else "35.17")
    admin_body = {"regency": "35.17"} if role == "province_admin" else {}

    def answers(method: str, url: str, body: dict | None) -> int:
        if body is not None and url in (f"{API}/programmes", f"{API}/venues"):
            body = {**body, **admin_body}
        return http.request(method, url, json=body).status_code

    for kind, requests in (("plan", PLAN_WRITES), ("persons", PERSON_WRITES),
                           ("read", [("GET", url, None) for url in PLAN_READS]),
                           ("read persons", [("GET", url, None) for url in PERSON_READS])):
        for method, url, body in requests:
            status = answers(method, url, body)
            assert (status < 400) == (kind in allowed), (role, method, url, status)
            if kind not in allowed:
                assert status == 403


def test_writes_go_to_the_callers_regency_and_a_province_administrator_names_one():
    http, stand_in = client("operator")
    assert http.post(f"{API}/programmes", json=PROGRAMME_IN).status_code == 201
    assert stand_in.calls[-1] == ("create_programme", {"programme": {**PROGRAMME_IN, "regency": "35.17",
                                                                     "neighbours": []}})
    other = http.post(f"{API}/venues", json={"regency": "35.15", "name": "Aula", "capacity": 100, "available": []})
    assert other.status_code == 403 and other.json()["code"] == "regency_out_of_scope"

    admin, admin_calls = client("province_admin", regency="*")
    assert admin.post(f"{API}/venues", json={"name": "Aula", "capacity": 100, "available": []}).status_code == 422
    assert admin.post(f"{API}/venues", json={"regency": "35.15", "name": "Aula", "capacity": 100,
                                             "available": OCTOBER}).status_code == 201
    assert admin_calls.calls[-1][1]["venue"]["regency"] == "35.15"


def test_a_preview_is_created_and_a_named_preview_published():
    http, stand_in = client("operator")
    preview = http.post(f"{API}/programmes/{ID}/plan-previews")
    assert preview.status_code == 201
    assert preview.headers["location"] == f"{API}/programmes/{ID}/plan-previews/{OTHER_ID}"
    assert stand_in.calls[-1] == ("preview_plan", {"programme_id": ID})
    assert http.post(f"{API}/programmes/{ID}/plan", json={"preview_id": OTHER_ID}).status_code == 200
    assert stand_in.calls[-1] == ("publish_plan", {"programme_id": ID, "preview_id": OTHER_ID})
    extra = http.post(f"{API}/programmes/{ID}/plan", json={"preview_id": OTHER_ID, "revision": 3})
    assert extra.status_code == 422 and len(stand_in.calls) == 2


def test_patches_send_only_the_fields_sent_and_locks_and_moves_name_their_targets():
    http, stand_in = client("regency_admin")
    http.patch(f"{API}/venues/{ID}", json={"available": [{"start": "2025-10-01", "end": "2025-10-14"}]})
    assert stand_in.calls[-1] == ("update_venue", {"venue_id": ID, "changes": {
        "available": [{"start": "2025-10-01", "end": "2025-10-14"}]}})
    http.patch(f"{API}/programmes/{ID}", json={"neighbours": None})
    assert stand_in.calls[-1] == ("update_programme", {"programme_id": ID, "changes": {"neighbours": None}})
    http.delete(f"{API}/sessions/{ID}/lock")
    assert stand_in.calls[-1] == ("unlock_session", {"session_id": ID})
    moved = http.put(f"{API}/cooperatives/{ID}/session", json={"session_id": OTHER_ID})
    assert moved.status_code == 200 and moved.json()["seated"] == 8
    assert stand_in.calls[-1] == ("move_cooperative", {"cooperative_id": ID, "session_id": OTHER_ID})


def test_lists_refuse_unknown_parameters_and_sorts_by_name_for_people():
    http, stand_in = client("trainer")
    assert http.get(f"{API}/sessions", params={"programme_id": ID, "limit": 10}).status_code == 200
    assert stand_in.calls[-1] == ("list_sessions", {"query": {"programme_id": ID, "limit": 10, "sort": "first_day"}})
    assert http.get(f"{API}/sessions", params={"day": "2025-10-01"}).status_code == 422
    assert http.get(f"{API}/resource-persons", params={"sort": "name"}).status_code == 422  # names stay out of URLs
    assert len(stand_in.calls) == 1


def test_programmes_are_planned_and_published_together_by_their_ids():
    http, stand_in = client("province_admin", regency="*")
    previews = http.post(f"{API}/plan-previews", json={"programme_ids": [ID, OTHER_ID]})
    assert previews.status_code == 201 and previews.json()["previews"][0]["session_count"] == 1
    assert stand_in.calls[-1] == ("preview_plans", {"command": {"programme_ids": [ID, OTHER_ID]}})
    published = http.post(f"{API}/plan-publications", json={"preview_ids": [OTHER_ID]})
    assert published.status_code == 200 and published.json()["plans"][0]["status"] == "published"
    assert stand_in.calls[-1] == ("publish_plans", {"command": {"preview_ids": [OTHER_ID]}})
    assert stand_in.waits == [45.0, 45.0]  # PLAN_TOGETHER_TIMEOUT_SECONDS, not the 10 s of other calls
    for url, body in ((f"{API}/plan-previews", {"programme_ids": []}),
                      (f"{API}/plan-previews", {"programme_ids": [ID] * 101}),
                      (f"{API}/plan-previews", {"programme_ids": ["not-an-id"]}),
                      (f"{API}/plan-publications", {"preview_ids": [OTHER_ID], "regency": "35.17"})):
        refused = http.post(url, json=body)
        assert refused.status_code == 422 and refused.json()["code"] == "validation_failed", (body, refused.text)
    assert len(stand_in.calls) == 2
