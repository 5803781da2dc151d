"""What any route may refuse is in the OpenAPI document, and text no database stores is refused
before any route runs; on the real application, without its lifespan (no server needed). Found by
the OpenAPI fuzz (tests/integration/test_openapi_fuzz.py): undocumented 401/403/404/410/503/504,
and a NUL character in a name or title answered 500."""
import pytest
from fastapi.testclient import TestClient

from bimtek_gateway.app import create_app
from bimtek_gateway.idempotency import WRITE_METHODS
from bimtek_gateway.nul_characters import NUL_MESSAGE
from bimtek_gateway.openapi import operations_calling_services
from bimtek_gateway.settings import GatewaySettings


@pytest.fixture(scope="module")
def app():
    settings = GatewaySettings()
    application = create_app(settings)
    application.state.settings = settings  # what the lifespan sets first; the routes' token check reads it
    return application


def operations(document):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield method.upper(), path, operation


def test_every_refusal_a_route_may_give_is_documented(app):
    document = app.openapi()
    calling = operations_calling_services(app)
    assert ("GET", "/api/v1/participants") in calling and ("GET", "/api/v1/users") not in calling
    for method, path, operation in operations(document):
        documented = set(operation["responses"])
        want = set()
        if operation.get("security"):
            want |= {"401", "403"}
        if "{" in path:
            want.add("404")
        if (method, path) in calling:
            want |= {"503", "504"}
        if path.startswith("/api/v1/participants/{participant_id}") and method in WRITE_METHODS:
            want.add("410")
        assert want <= documented, f"{method} {path}: {sorted(want - documented)} undocumented"
        for status in want:
            assert "application/problem+json" in operation["responses"][status]["content"], (method, path, status)
    sign_in = document["paths"]["/api/v1/auth/token"]["post"]["responses"]
    assert "invalid_credentials" in sign_in["401"]["content"]["application/problem+json"]["examples"]


def test_a_nul_character_in_a_json_body_is_refused_before_any_route(app):
    client = TestClient(app)
    for body in ('{"full_name": "Siti\\u0000Aminah"}', '{"a": ["\\\\\\u0000"]}'):
        answer = client.post("/api/v1/participants", content=body, headers={"Content-Type": "application/json"})
        assert answer.status_code == 422, answer.text
        assert answer.json()["errors"] == [{"field": "body", "message": NUL_MESSAGE}]
    # The text \u0000 (backslash escaped) holds no NUL: it goes on to the route (which wants a token).
    fine = client.post("/api/v1/participants", content='{"full_name": "Siti \\\\u0000"}',
                       headers={"Content-Type": "application/json"})
    assert fine.status_code == 401, fine.text
