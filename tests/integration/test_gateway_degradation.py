"""What a client sees when a service is down or hangs: fast, honest answers, and no late effects."""
from __future__ import annotations

import os
import secrets
import signal
import time

import httpx
import pytest

from tests.integration.harness import RPC_TIMEOUT_SECONDS, System, participant_body, wait_until

pytestmark = pytest.mark.integration

PROBLEM_JSON = "application/problem+json"
AVAILABILITY_CACHE_SECONDS = 1.0  # NamekoRpcClient trusts a positive availability probe this long


def test_registration_down_answers_503_at_once(running_system: System) -> None:
    system = running_system
    system.stack.stop("registration")
    time.sleep(AVAILABILITY_CACHE_SECONDS + 0.2)

    started = time.monotonic()
    response = system.api.post("/api/v1/participants", json=participant_body())
    elapsed = time.monotonic() - started

    assert response.status_code == 503, response.text
    assert elapsed < 1.0, f"503 took {elapsed:.2f}s: the gateway waited instead of failing fast"
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    assert int(response.headers["retry-after"]) > 0
    problem = response.json()
    assert problem["code"] == "service_unavailable"
    assert "registration" in problem["detail"]

    system.restart("registration")
    wait_until(lambda: system.api.post("/api/v1/participants", json=participant_body()).status_code == 201,
               timeout=10, interval=0.3)


def test_scheduling_down_still_shows_the_participant_and_their_progress(running_system: System) -> None:
    """The participant's progress is registration's read model of scheduling's and certificates'
    events: reading it does not need them up. What does need scheduling fails fast."""
    system = running_system
    created = system.api.post("/api/v1/participants", json=participant_body())
    assert created.status_code == 201
    participant_id = created.json()["id"]

    system.stack.stop("scheduling")
    time.sleep(AVAILABILITY_CACHE_SECONDS + 0.2)
    try:
        started = time.monotonic()
        response = system.api.get(f"/api/v1/participants/{participant_id}")
        elapsed = time.monotonic() - started
        assert response.status_code == 200, response.text
        view = response.json()
        assert view["participant"]["id"] == participant_id
        assert view["scheduling"] == {"status": "waiting", "sessions": []}
        assert view["certificates"] == {"status": "none", "certificates": []}
        assert elapsed < 1.0, f"the answer took {elapsed:.2f}s"

        started = time.monotonic()
        sessions = system.api.get("/api/v1/sessions")
        assert sessions.status_code == 503 and sessions.json()["code"] == "service_unavailable", sessions.text
        assert time.monotonic() - started < 1.0
    finally:
        system.restart("scheduling")
    wait_until(lambda: system.api.get("/api/v1/sessions").status_code == 200, timeout=10, interval=0.3)


def _post_while_registration_hangs(system: System, body: dict, request_id: str) -> tuple[httpx.Response, float, int]:
    """POST ``body`` while registration is SIGSTOPped; returns (response, seconds, requests still
    waiting in its queue at the moment of the answer). Registration is SIGCONTinued before returning."""
    # Warm the gateway's availability cache so the call below is published, not refused.
    assert system.api.post("/api/v1/participants", json=participant_body()).status_code == 201
    pid = system.stack.pid("registration")
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        response = system.api.post("/api/v1/participants", json=body, headers={"X-Request-ID": request_id})
        elapsed = time.monotonic() - started
        waiting = system.queue_depth("rpc-registration")
    finally:
        os.kill(pid, signal.SIGCONT)
    system.stack.wait_ready("registration")
    return response, elapsed, waiting


def test_a_hung_registration_answers_504_after_the_timeout(running_system: System) -> None:
    request_id = f"it-hung-{secrets.token_hex(4)}"
    response, elapsed, _ = _post_while_registration_hangs(running_system, participant_body(), request_id)

    assert response.status_code == 504, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    problem = response.json()
    assert problem["code"] == "service_timeout"
    assert "registration" in problem["detail"]
    assert RPC_TIMEOUT_SECONDS - 0.1 <= elapsed <= RPC_TIMEOUT_SECONDS + 1.5, f"504 after {elapsed:.2f}s"


def test_a_request_that_timed_out_is_not_run_later(running_system: System) -> None:
    system = running_system
    body = participant_body()
    request_id = f"it-hung-{secrets.token_hex(4)}"
    response, _, waiting_in_queue = _post_while_registration_hangs(system, body, request_id)
    assert response.status_code == 504, response.text

    time.sleep(1.0)  # registration works through whatever reached it while it hung
    retry = system.api.post("/api/v1/participants", json=body)

    # The request the client was told had timed out must not have been executed afterwards.
    assert retry.status_code == 201, (
        f"the retry got {retry.status_code} {retry.json().get('code')}: the timed-out request ran after "
        f"registration resumed ({waiting_in_queue} request(s) were still in rpc-registration at the "
        "timeout, i.e. it had already been delivered to the hung consumer); registration log: "
        + " | ".join(line for line in system.log("registration").splitlines() if request_id in line)
    )
