"""The client's manners without a server: an in-process ``httpx.MockTransport`` plays the gateway,
answering as the real one does (problem+json, Retry-After, cursors, 202 jobs). The same client
against the real gateway: ``tests/integration/test_cli.py`` and ``scripts/demo.py``."""
from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable

import httpx
import pytest

from bimtek_cli import config
from bimtek_cli.api import ApiProblem, ApiUnreachable, BimtekApi
from bimtek_cli.main import read_scans

PAIR = {"access_token": "a1", "refresh_token": "bkr_1", "expires_in": 900, "refresh_expires_in": 2_592_000}


def client(handler: Callable[[httpx.Request], httpx.Response], **options) -> BimtekApi:
    return BimtekApi("http://gateway.test", access_token="a0", transport=httpx.MockTransport(handler), **options)


def problem(status: int, code: str, **headers: str) -> httpx.Response:
    return httpx.Response(status, headers={"content-type": "application/problem+json", **headers},
                          json={"type": f"urn:bimtek:problem:{code}", "status": status, "code": code,
                                "detail": f"Pesan {code}", "request_id": "r-1"})


def test_a_retried_write_sends_the_same_key_and_the_same_bytes() -> None:
    seen: list[tuple[str, bytes]] = []

    def gateway(request: httpx.Request) -> httpx.Response:
        seen.append((request.headers["idempotency-key"], request.read()))
        if len(seen) < 3:
            return problem(503, "service_unavailable", **{"retry-after": "0"})
        return httpx.Response(202, headers={"location": "/api/v1/participant-imports/j1"},
                              json={"id": "j1", "status": "queued", "total": 0, "done": 0, "failed": 0})

    job = client(gateway).start_import(b"kode_desa;nik\n", "peserta.csv", dry_run=True)
    assert job["location"] == "/api/v1/participant-imports/j1" and job["already_uploaded"] is False
    assert len(seen) == 3 and len({key for key, _ in seen}) == 1 and len({body for _, body in seen}) == 1
    assert b'name="dry_run"' in seen[0][1] and b"true" in seen[0][1]


def test_each_logical_write_has_its_own_key_and_reads_have_none() -> None:
    keys: list[str | None] = []

    def gateway(request: httpx.Request) -> httpx.Response:
        keys.append(request.headers.get("idempotency-key"))
        return httpx.Response(200, json={})

    api = client(gateway)
    api.post("/api/v1/venues", {"name": "a"})
    api.post("/api/v1/venues", {"name": "a"})
    api.get("/api/v1/venues")
    assert keys[0] and keys[1] and keys[0] != keys[1] and keys[2] is None


def test_a_refused_request_raises_the_problem_it_was_refused_with() -> None:
    api = client(lambda request: problem(409, "position_taken"), language="en")
    with pytest.raises(ApiProblem) as refused:
        api.post("/api/v1/participants", {})
    assert (refused.value.status, refused.value.code, refused.value.detail) == (409, "position_taken",
                                                                                "Pesan position_taken")
    assert refused.value.request_id == "r-1"


def test_429_is_waited_out_and_connection_errors_are_retried_then_reported() -> None:
    answers = iter([problem(429, "rate_limited", **{"retry-after": "0"}), httpx.Response(200, json={"ok": 1})])
    assert client(lambda request: next(answers)).get("/api/v1/x") == {"ok": 1}

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(ApiUnreachable) as unreachable:
        client(down, retries=1).get("/api/v1/x")
    assert unreachable.value.code == "gateway_unreachable"


def test_a_lapsed_access_token_is_refreshed_once_and_the_new_pair_reported() -> None:
    kept: list[dict] = []

    def gateway(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/auth/refresh":
            assert json.loads(request.read()) == {"refresh_token": "bkr_0"}
            return httpx.Response(200, json=PAIR)
        if request.headers["authorization"] == "Bearer a1":
            return httpx.Response(200, json={"items": []})
        return problem(401, "unauthenticated")

    api = BimtekApi("http://gateway.test", access_token="a0", refresh_token="bkr_0", on_tokens=kept.append,
                    transport=httpx.MockTransport(gateway))
    assert api.get("/api/v1/sessions") == {"items": []}
    assert kept == [PAIR] and api.refresh_token == "bkr_1"


def test_lists_follow_their_cursors_and_jobs_are_polled_until_finished() -> None:
    def gateway(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/sessions"):
            cursor = request.url.params.get("cursor")
            return httpx.Response(200, json={"items": [{"n": 2}] if cursor else [{"n": 1}],
                                             "next_cursor": None if cursor else "c1", "limit": 200})
        polls.append(1)
        return httpx.Response(200, json={"id": "j1", "status": "succeeded" if len(polls) == 3 else "running",
                                         "total": 2, "done": len(polls) - 1})

    polls: list[int] = []
    api = client(gateway)
    assert [s["n"] for s in api.list_sessions()] == [1, 2]
    seen: list[int] = []
    job = api.wait_for_job({"id": "j1"}, interval=0, on_progress=lambda j: seen.append(j["done"]))
    assert job["status"] == "succeeded" and seen == [0, 1, 2]


def test_the_login_file_is_private_and_holds_no_password(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    path = config.save({"gateway": "http://g", "refresh_token": "bkr_x"})
    assert path == tmp_path / "bimtek" / "config.json"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    config.forget_tokens()
    assert config.load() == {"gateway": "http://g"}


def test_a_phones_scan_file_is_read_as_json_or_csv() -> None:
    scans = [{"nonce": "n-000001", "qr": "BKI1.x", "scanned_at": "2025-10-01T07:15:00+07:00"}]
    assert read_scans(json.dumps({"scans": scans})) == scans
    assert read_scans("nonce;qr;scanned_at\nn-000001;BKI1.x;2025-10-01T07:15:00+07:00\n") == scans
    with pytest.raises(ValueError):
        read_scans('[{"nonce": "n-000001"}]')
