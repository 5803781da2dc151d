"""The invitation, check-in, attendance and closure routes' own rules (roles, a participant's own
invitation only, what reaches the service, PDFs as files), with a stand-in for the scheduling
service: the real one answers in tests/integration/test_attendance.py at the repository root."""
import base64
import uuid
from datetime import date
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from bimtek_gateway.dependencies import get_caller, get_check_in_device, get_device_services, get_services
from bimtek_gateway.device_tokens import Device, DeviceScope
from bimtek_gateway.problems import install_problem_handlers
from bimtek_gateway.routers import check_ins, invitations, session_attendance, session_closures
from bimtek_shared.contracts.caller import Caller

ID = "6f1c2a7e-3f0b-4c55-9d1e-2b8a1f6c9d30"
PDF = base64.b64encode(b"%PDF-1.4 a stand-in").decode()
INVITATIONS = {"participant_id": ID, "invitations": [{
    "programme": {"id": ID, "title": "Bimtek"}, "session": {"id": ID, "number": 1, "days": ["2025-10-06"],
                                                           "status": "scheduled"},
    "venue": {"id": ID, "name": "Aula", "address": None},
    "participant": {"id": ID, "full_name": "Siti", "position": "ketua", "cooperative": "KDMP Plandi"},
    "qr": "BKI1.x", "issued_at": "2025-09-15T03:04:05+00:00"}]}
DAY = {"day": "2025-10-06", "present": True, "source": "operator"}
ANSWERS = {
    "get_invitation": INVITATIONS, "get_invitation_pdf": {"content_base64": PDF},
    "get_attendance_sheet": {"content_base64": PDF, "day": "2025-10-06"},
    "check_in": {"results": [{"nonce": "n" * 12, "result": "recorded", "session_id": ID, "day": "2025-10-06"}],
                 "counts": {"recorded": 1}},
    "set_attendance": {"session_id": ID, "participant_id": ID, "days": [DAY], "days_attended": 1},
    "get_attendance": {"session_id": ID, "days": ["2025-10-06"], "status": "scheduled", "min_attendance_days": 1,
                       "participants": []},
    "close_session": {"session_id": ID, "programme_id": ID, "status": "closed", "closed_at": "2025-10-06T10:00:00Z",
                      "closed_by": "u", "min_attendance_days": 1, "completed": [], "not_completed": []},
}
SCAN = {"nonce": "5f0c6a4e-8e55-4d0b", "qr": "BKI1.x", "scanned_at": "2025-10-06T07:42:10+07:00"}


class SchedulingStandIn:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    async def call(self, service: str, method: str, **kwargs: Any) -> Any:
        assert service == "scheduling"
        self.calls.append((method, kwargs))
        return ANSWERS[method]


def client(role: str, user: str = "u") -> tuple[TestClient, SchedulingStandIn]:
    app = FastAPI()
    install_problem_handlers(app)
    for module in (invitations, check_ins, session_attendance, session_closures):
        app.include_router(module.router)
    stand_in = SchedulingStandIn()
    caller = Caller(user=user, role=role, regency="35.17", correlation_id="r")
    app.dependency_overrides[get_caller] = lambda: caller
    app.dependency_overrides[get_services] = lambda: stand_in
    app.dependency_overrides[get_device_services] = lambda: stand_in
    app.dependency_overrides[get_check_in_device] = lambda: Device(caller=caller, scope=DeviceScope(
        session_id=uuid.UUID(ID), valid_until=date(2025, 10, 31)))
    return TestClient(app), stand_in


def test_a_participant_reads_only_their_own_invitation_and_staff_read_any():
    own, stand_in = client("participant", user=ID)
    mine = own.get(f"/api/v1/participants/{ID}/invitation")
    assert mine.status_code == 200 and mine.json()["invitations"][0]["qr"] == "BKI1.x"
    assert mine.headers["cache-control"] == "no-store"
    other = own.get(f"/api/v1/participants/{uuid.uuid4()}/invitation")
    assert other.status_code == 404 and other.json()["code"] == "participant_not_found"
    assert [method for method, _ in stand_in.calls] == ["get_invitation"]  # the other never reached scheduling
    for role in ("operator", "trainer", "regency_admin"):
        assert client(role)[0].get(f"/api/v1/participants/{ID}/invitation").status_code == 200
    assert client("cooperative_operator")[0].get(f"/api/v1/participants/{ID}/invitation").status_code == 403


def test_pdfs_come_back_as_files_that_no_cache_keeps():
    staff, stand_in = client("operator")
    invitation = staff.get(f"/api/v1/participants/{ID}/invitation.pdf")
    assert invitation.status_code == 200 and invitation.content == b"%PDF-1.4 a stand-in"
    assert invitation.headers["content-type"] == "application/pdf"
    assert invitation.headers["cache-control"] == "no-store"
    sheet = staff.get(f"/api/v1/sessions/{ID}/attendance-sheet.pdf", params={"day": "2025-10-06", "with_qr": "true"})
    assert sheet.status_code == 200 and "daftar-hadir-2025-10-06.pdf" in sheet.headers["content-disposition"]
    assert stand_in.calls[-1] == ("get_attendance_sheet", {"session_id": ID,
                                                           "query": {"day": "2025-10-06", "with_qr": True}})
    assert staff.get(f"/api/v1/sessions/{ID}/attendance-sheet.pdf").status_code == 200  # the service picks the day
    assert stand_in.calls[-1][1]["query"] == {"day": None, "with_qr": False}
    assert staff.get(f"/api/v1/sessions/{ID}/attendance-sheet.pdf", params={"day": "6-10-2025"}).status_code == 422


def test_a_check_in_upload_carries_the_device_tokens_scope_to_scheduling():
    phone, stand_in = client("device")
    answer = phone.post("/api/v1/check-ins", json={"scans": [SCAN]})
    assert answer.status_code == 200, answer.text
    method, kwargs = stand_in.calls[-1]
    assert method == "check_in" and kwargs["scope"] == {"venue_id": None, "session_id": ID, "valid_from": None,
                                                        "valid_until": "2025-10-31"}
    assert kwargs["upload"]["scans"][0]["nonce"] == SCAN["nonce"]
    for bad in ({"scans": []}, {"scans": [SCAN] * 501}, {"scans": [{**SCAN, "nonce": "short"}]},
                {"scans": [{**SCAN, "scanned_at": "2025-10-06T07:42:10"}]}, {"scans": [{**SCAN, "extra": 1}]}):
        assert phone.post("/api/v1/check-ins", json=bad).status_code == 422


def test_attendance_by_hand_and_closing_are_for_operators_and_administrators():
    body = {"day": "2025-10-06", "present": True, "reason": "daftar hadir kertas"}
    for role, status in (("operator", 200), ("regency_admin", 200), ("trainer", 403), ("participant", 403)):
        api, _ = client(role)
        assert api.put(f"/api/v1/sessions/{ID}/attendance/{ID}", json=body).status_code == status, role
        assert api.post(f"/api/v1/sessions/{ID}/closure").status_code == status, role
    api, stand_in = client("operator")
    assert api.put(f"/api/v1/sessions/{ID}/attendance/{ID}", json={**body, "reason": ""}).status_code == 422
    assert client("trainer")[0].get(f"/api/v1/sessions/{ID}/attendance").status_code == 200
