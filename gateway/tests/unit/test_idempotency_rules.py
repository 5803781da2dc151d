"""The Idempotency-Key rules that need no database: which requests take a key, what a valid key is,
whose key it is, which answers are kept, and the answers given before a record is ever touched.

The test app has no database at all (no lifespan), so any request that reached the records would
fail with a 500: the 2xx answers below prove that those requests never did."""
from datetime import datetime, timedelta, timezone

import jwt
import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from bimtek_gateway.identity import issue_access_token, token_digest
from bimtek_gateway.idempotency import IdempotencyMiddleware, applies_to, is_valid_key, worth_storing
from bimtek_gateway.middleware import RequestContextMiddleware, principal_of
from bimtek_gateway.problems import install_problem_handlers
from bimtek_gateway.settings import GatewaySettings

SETTINGS = GatewaySettings()


def access_token(**overrides) -> str:
    return issue_access_token(SETTINGS, user_id="7d1c1f5e-3b0a-4c59-9d1e-0f1a2b3c4d5e", role="operator",
                              regency="35.17", **overrides)[0]


def scope_with(authorization: str | None) -> dict:
    headers = [(b"authorization", authorization.encode())] if authorization is not None else []
    return {"type": "http", "headers": headers}


@pytest.mark.parametrize(("method", "path", "expected"), [
    ("POST", "/api/v1/participants", True),
    ("PUT", "/api/v1/users/1", True),
    ("PATCH", "/api/v1/users/1", True),
    ("DELETE", "/api/v1/device-tokens/1", True),
    ("GET", "/api/v1/participants", False),
    ("POST", "/api/v1/auth/token", False),  # before there is a principal; the answer holds tokens
    ("POST", "/api/v1/auth/refresh", False),
    ("POST", "/metrics", False),
])
def test_every_write_under_the_api_takes_a_key_but_sign_in(method, path, expected):
    assert applies_to(method, path) is expected


@pytest.mark.parametrize("key", ["a", "7c9e6679-7425-40de-944b-e07fc1f90ae7", "x" * 255, "with space ~!"])
def test_valid_keys(key):
    assert is_valid_key(key)


@pytest.mark.parametrize("key", ["", "x" * 256, "tab\there", "kunci-é", "line\nbreak", "\x7f"])
def test_invalid_keys(key):
    assert not is_valid_key(key)


def test_the_principal_is_the_verified_subject_or_the_device_token_digest():
    assert principal_of(scope_with(f"Bearer {access_token()}"), SETTINGS) == (
        "user:7d1c1f5e-3b0a-4c59-9d1e-0f1a2b3c4d5e")
    device_token = "bkd_" + "A" * 43
    assert principal_of(scope_with(f"Bearer {device_token}"), SETTINGS) == f"device:{token_digest(device_token).hex()}"
    assert device_token not in principal_of(scope_with(f"Bearer {device_token}"), SETTINGS)


def test_no_principal_without_a_valid_bearer_credential():
    now = datetime.now(timezone.utc)
    expired = jwt.encode({"iss": SETTINGS.jwt_issuer, "aud": SETTINGS.jwt_audience, "sub": "u1", "kind": "user",
                          "role": "operator", "regency": "35.17", "iat": now - timedelta(hours=1),
                          "nbf": now - timedelta(hours=1), "exp": now - timedelta(minutes=1)},
                         SETTINGS.signing_key, algorithm="EdDSA")
    for authorization in (None, "", "Bearer ", f"Bearer {expired}", "Bearer not.a.token", "Basic dXNlcjpwdw=="):
        assert principal_of(scope_with(authorization), SETTINGS) is None, authorization


@pytest.mark.parametrize(("status", "headers", "stored"), [
    (201, [], True),
    (202, [(b"location", b"/api/v1/participant-imports/1")], True),
    (409, [], True),  # the same request would get the same answer
    (422, [], True),
    (401, [], False),  # the credential did not prove who the record would belong to
    (500, [], False),  # a retry must run again
    (503, [], False),
    (504, [], False),
    (201, [(b"cache-control", b"no-store")], False),  # holds a secret
    (201, [(b"Cache-Control", b"private, No-Store")], False),
])
def test_which_answers_are_kept(status, headers, stored):
    assert worth_storing(status, headers) is stored


def make_client() -> tuple[TestClient, list[bytes]]:
    bodies: list[bytes] = []
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/api/v1/things")
    async def create_thing(request: Request) -> dict:
        bodies.append(await request.body())
        return {"ok": True}

    @app.post("/api/v1/auth/token")
    async def sign_in(request: Request) -> dict:
        bodies.append(await request.body())
        return {"access_token": "secret"}

    app.add_middleware(IdempotencyMiddleware, settings=SETTINGS)
    app.add_middleware(RequestContextMiddleware)
    return TestClient(app, raise_server_exceptions=False), bodies


def test_a_malformed_key_is_refused_before_anything_runs_in_both_languages():
    client, bodies = make_client()
    token = {"Authorization": f"Bearer {access_token()}"}
    for key in ("x" * 256, "kunci-\u00e9".encode()):  # too long; not ASCII (UTF-8 bytes on the wire)
        response = client.post("/api/v1/things", json={"a": 1}, headers={**token, "Idempotency-Key": key})
        assert response.status_code == 400
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["code"] == "idempotency_key_invalid"
        assert response.json()["detail"].startswith("Header Idempotency-Key tidak valid")
    english = client.post("/api/v1/things", json={"a": 1},
                          headers={**token, "Idempotency-Key": "", "Accept-Language": "en"})
    assert english.status_code == 400
    assert english.json()["detail"].startswith("The Idempotency-Key header is invalid")
    assert bodies == []


def test_two_keys_on_one_request_are_refused():
    client, bodies = make_client()
    response = client.post("/api/v1/things", json={"a": 1}, headers=[
        ("Authorization", f"Bearer {access_token()}"), ("Idempotency-Key", "one"), ("Idempotency-Key", "two")])
    assert response.status_code == 400 and bodies == []


def test_writes_without_a_key_or_without_a_principal_simply_run():
    client, bodies = make_client()
    assert client.post("/api/v1/things", json={"a": 1}, headers={"Authorization": f"Bearer {access_token()}"}
                       ).status_code == 200
    assert client.post("/api/v1/things", json={"a": 2}, headers={"Idempotency-Key": "k1"}).status_code == 200
    assert client.post("/api/v1/things", json={"a": 3}, headers={"Idempotency-Key": "k1",
                                                                 "Authorization": "Bearer bad.jwt.here"}
                       ).status_code == 200
    assert client.post("/api/v1/auth/token", json={"username": "a"},
                       headers={"Idempotency-Key": "k1", "Authorization": f"Bearer {access_token()}"}
                       ).status_code == 200
    assert bodies == [b'{"a":1}', b'{"a":2}', b'{"a":3}', b'{"username":"a"}']


def test_a_claim_must_outlast_the_wait_for_a_service():
    """A claim lapsing while its request still waits would let a retry run the write a second time.
    Planning several programmes together may wait longer: run twice, it answers the same."""
    with pytest.raises(ValueError, match="IDEMPOTENCY_LOCK_SECONDS must be longer"):
        GatewaySettings(idempotency_lock_seconds=10.0, rpc_timeout_seconds=10.0)
    assert GatewaySettings(idempotency_lock_seconds=5.0, rpc_timeout_seconds=2.0,
                           plan_together_timeout_seconds=45.0).plan_together_timeout_seconds == 45.0
