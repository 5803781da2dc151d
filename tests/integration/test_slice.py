"""The vertical slice, end to end through the public API: gateway -> registration -> outbox ->
RabbitMQ -> scheduling and certificates, with the errors a client sees on the way."""
from __future__ import annotations

import secrets
import httpx
import pytest

from tests.integration.harness import System, metric_value, participant_body, wait_until

pytestmark = pytest.mark.integration

PROBLEM_JSON = "application/problem+json"


def test_a_registration_reaches_every_service(running_system: System) -> None:
    system = running_system
    request_id = f"it-slice-{secrets.token_hex(6)}"
    body = participant_body(**_female_nik())

    response = system.api.post("/api/v1/participants", json=body, headers={"X-Request-ID": request_id})

    assert response.status_code == 201, response.text
    assert response.headers["x-request-id"] == request_id
    created = response.json()
    assert created["nik_masked"] == "*" * 12 + body["nik"][-4:]
    assert body["nik"] not in response.text  # the full NIK never comes back
    assert created["regency"] == "35.17" and created["sex"] == "P" and created["birth_date"] == body["birth_date"]

    # Read back at once: registration answers the participant with their progress (none yet).
    view = system.api.get(f"/api/v1/participants/{created['id']}")
    assert view.status_code == 200, view.text
    view = view.json()
    assert view["participant"]["id"] == created["id"]
    assert view["participant"]["nik_masked"] == created["nik_masked"]
    assert view["scheduling"] == {"status": "waiting", "sessions": []}
    assert view["certificates"] == {"status": "none", "certificates": []}
    system.wait_consumed([created["id"]], timeout=10)  # the event reached scheduling and certificates

    # The client's request id is the correlation id of the call and of the event it caused.
    for unit in ("registration", "scheduling", "certificates"):
        wait_until(lambda: f"correlation_id={request_id}" in system.log(unit), timeout=5,
                   message=f"{request_id} not in the {unit} log")
    assert "register_participant ok" in _lines_with(system.log("registration"), request_id)
    assert "handle_participant_registered ok" in _lines_with(system.log("scheduling"), request_id)
    assert "handle_participant_registered ok" in _lines_with(system.log("certificates"), request_id)
    # No personal data in the logs.
    for unit in ("gateway", "registration", "scheduling", "certificates"):
        assert body["nik"] not in system.log(unit)


def test_scheduling_counts_handled_events(running_system: System) -> None:
    system = running_system
    labels = dict(service="scheduling", event_type="participant.registered", outcome="ok")
    before = metric_value(system.metrics("scheduling"), "bimtek_events_handled_total", **labels)

    ids = system.register_via_api(3)
    system.wait_consumed(ids, timeout=20)

    after = metric_value(system.metrics("scheduling"), "bimtek_events_handled_total", **labels)
    assert after >= before + 3


def test_a_nik_registers_once(running_system: System) -> None:
    system = running_system
    body = participant_body()
    assert system.api.post("/api/v1/participants", json=body).status_code == 201

    again = system.api.post("/api/v1/participants", json={**body, "full_name": "Orang Lain"})

    assert again.status_code == 409
    assert again.headers["content-type"].startswith(PROBLEM_JSON)
    assert again.headers["content-language"] == "id"
    problem = again.json()
    assert problem["code"] == "participant_already_registered"
    assert problem["status"] == 409
    assert problem["detail"] == "NIK ini sudah terdaftar sebagai peserta."
    assert problem["request_id"] == again.headers["x-request-id"]

    english = system.api.post("/api/v1/participants", json=body, headers={"Accept-Language": "en-GB,en;q=0.9"})

    assert english.status_code == 409
    assert english.headers["content-type"].startswith(PROBLEM_JSON)
    assert english.headers["content-language"] == "en"
    assert english.json()["detail"] == "This NIK is already registered as a participant."


@pytest.mark.parametrize(
    "change, reason",
    [
        # The birth date sent is not the one the NIK encodes.
        (lambda b: {**b, "birth_date": "1971-02-03"}, "tanggal lahir tidak sesuai dengan NIK"),
        # A woman's NIK (day + 40) sent as a man's.
        (lambda b: {**b, **_female_nik(), "sex": "L"}, "jenis kelamin tidak sesuai dengan NIK"),
        # A date that does not exist (31 February) inside the NIK.
        (lambda b: {**b, "nik": "3517093102800001", "birth_date": "1980-02-28", "sex": "L"},
         "tanggal lahir di dalam NIK tidak ada"),
    ],
    ids=["birth-date-mismatch", "sex-mismatch", "impossible-date"],
)
def test_an_invalid_nik_is_refused(running_system: System, change, reason: str) -> None:
    response = running_system.api.post("/api/v1/participants", json=change(participant_body()))

    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    problem = response.json()
    assert problem["code"] == "nik_invalid"
    assert problem["detail"] == f"NIK tidak valid: {reason}."


def test_a_malformed_body_is_refused_by_the_gateway(running_system: System) -> None:
    response = running_system.api.post("/api/v1/participants", json={**participant_body(), "nik": "12345"},
                                       headers={"Accept-Language": "en"})

    assert response.status_code == 422
    problem = response.json()
    assert problem["code"] == "validation_failed"
    assert problem["detail"] == "The submitted data is invalid."
    assert any(error["field"] == "nik" for error in problem["errors"])


def test_no_token_no_entry(running_system: System) -> None:
    with httpx.Client(base_url=running_system.stack.gateway_url, timeout=10) as anonymous:
        post = anonymous.post("/api/v1/participants", json=participant_body())
        bad_token = anonymous.get(f"/api/v1/participants/{'0' * 8}-0000-0000-0000-{'0' * 12}",
                                  headers={"Authorization": "Bearer not-a-token"})

    assert post.status_code == 401
    assert post.headers["content-type"].startswith(PROBLEM_JSON)
    assert post.headers["www-authenticate"].startswith("Bearer")
    assert post.json()["code"] == "unauthenticated"
    assert post.json()["detail"] == "Silakan masuk terlebih dahulu."
    assert bad_token.status_code == 401
    assert 'error="invalid_token"' in bad_token.headers["www-authenticate"]


def _female_nik() -> dict[str, str]:
    return System.new_nik(female=True)


def _lines_with(log: str, needle: str) -> str:
    return "\n".join(line for line in log.splitlines() if needle in line)

