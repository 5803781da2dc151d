"""CORS from the configured allowlist, and the OpenAPI document of the API's manners, on the real
application (built by create_app, without its lifespan: no server is needed for either)."""
import json

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from bimtek_shared.contracts.errors import ERRORS
from bimtek_gateway.app import create_app
from bimtek_gateway.idempotency import WRITE_METHODS, applies_to
from bimtek_gateway.rate_limits import rules_from
from bimtek_gateway.settings import GatewaySettings

ALLOWED = "https://bimtek.jatimprov.go.id"
OTHER = "https://evil.example"


@pytest.fixture(scope="module")
def client() -> TestClient:
    return TestClient(create_app(GatewaySettings(cors_allow_origins=f"{ALLOWED}, https://admin.example")))


def preflight(client: TestClient, origin: str, request_headers: str) -> "object":
    return client.options("/api/v1/participants", headers={
        "Origin": origin, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": request_headers})


def test_a_preflight_from_an_allowed_origin_may_send_an_idempotency_key(client):
    response = preflight(client, ALLOWED, "authorization, content-type, idempotency-key, x-request-id")
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ALLOWED
    allowed = {h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type", "idempotency-key", "x-request-id", "accept-language"} <= allowed
    assert "POST" in response.headers["access-control-allow-methods"]
    assert "access-control-allow-credentials" not in response.headers  # bearer tokens, no cookies


def test_a_preflight_from_another_origin_or_for_another_header_is_refused(client):
    other = preflight(client, OTHER, "content-type")
    assert other.status_code == 400 and "access-control-allow-origin" not in other.headers
    odd_header = preflight(client, ALLOWED, "x-something-else")
    assert odd_header.status_code == 400


def test_answers_to_an_allowed_origin_expose_our_headers_and_others_get_none(client):
    response = client.get("/healthz", headers={"Origin": ALLOWED})
    assert response.headers["access-control-allow-origin"] == ALLOWED
    exposed = {h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")}
    assert {"x-request-id", "retry-after", "location", "idempotent-replayed", "x-ratelimit-remaining"} <= exposed
    refused = client.get("/healthz", headers={"Origin": OTHER})
    assert refused.status_code == 200
    assert "access-control-allow-origin" not in refused.headers  # so the browser shows the script nothing


def test_errors_from_middleware_carry_cors_headers_too(client):
    # A browser script can read a 413 (or a 429) only if CORS headers are on it.
    response = client.post("/api/v1/participants", content=b"x" * 2_000_000,
                           headers={"Origin": ALLOWED, "Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.headers["access-control-allow-origin"] == ALLOWED


def test_without_an_allowlist_there_are_no_cors_headers():
    client = TestClient(create_app(GatewaySettings(cors_allow_origins="")))
    assert "access-control-allow-origin" not in client.get("/healthz", headers={"Origin": ALLOWED}).headers


def resolve(document: dict, item: dict) -> dict:
    if "$ref" not in item:
        return item
    node = document
    for part in item["$ref"].removeprefix("#/").split("/"):
        node = node[part]
    return node


def assert_problem(document: dict, operation: dict, status: str, code: str) -> None:
    answer = operation["responses"][status]
    content = answer["content"]["application/problem+json"]
    assert resolve(document, content["schema"])["title"] == "Problem"
    example = content["examples"][code]["value"]
    assert example["code"] == code and example["status"] == ERRORS[code].status == int(status)
    assert example["type"] == f"urn:bimtek:problem:{code}"


def test_every_write_route_documents_the_idempotency_key_and_its_problems():
    app = create_app(GatewaySettings())
    document = app.openapi()
    writes = [(route.path_format, method) for route in iter_route_contexts(app.routes)
              if isinstance(route.original_route, APIRoute) and route.include_in_schema
              for method in sorted(route.methods & WRITE_METHODS)]
    keyed = [(path, method) for path, method in writes if applies_to(method, path)]
    assert len(keyed) >= 3 and len(writes) > len(keyed)  # the route table, not a list written here
    for path, method in writes:
        operation = document["paths"][path][method.lower()]
        parameters = [resolve(document, p) for p in operation.get("parameters", [])]
        has_key = any(p["in"] == "header" and p["name"] == "Idempotency-Key" for p in parameters)
        assert has_key is applies_to(method, path), (method, path)
        assert_problem(document, operation, "413", "payload_too_large")
        if has_key:
            header = next(p for p in parameters if p["name"] == "Idempotency-Key")
            assert header["required"] is False and header["schema"]["maxLength"] == 255
            assert_problem(document, operation, "400", "idempotency_key_invalid")
            assert_problem(document, operation, "409", "idempotency_request_in_flight")
            assert_problem(document, operation, "422", "idempotency_key_reused")
            assert_problem(document, operation, "422", "validation_failed")
            assert_problem(document, operation, "429", "rate_limited")
            assert "Retry-After" in operation["responses"]["409"]["headers"]
            assert "Retry-After" in operation["responses"]["429"]["headers"]


def test_rate_limited_operations_document_429_with_their_limits():
    settings = GatewaySettings(rate_limit_sign_in_per_account="5/minute")
    document = create_app(settings).openapi()
    sign_in = document["paths"]["/api/v1/auth/token"]["post"]
    assert_problem(document, sign_in, "429", "rate_limited")
    assert "5/minute per username or participant code" in sign_in["responses"]["429"]["description"]
    imports = document["paths"]["/api/v1/participant-imports"]["post"]
    assert "10/hour per user" in imports["responses"]["429"]["description"]
    assert {"Retry-After", "X-RateLimit-Remaining"} <= set(imports["responses"]["429"]["headers"])
    assert any(rule.name == "public" for rule in rules_from(settings))


def test_fastapis_own_validation_error_schema_is_replaced_by_the_problem():
    document = create_app(GatewaySettings()).openapi()
    assert "HTTPValidationError" not in json.dumps(document)
    for item in document["paths"].values():
        for operation in item.values():
            if "422" in operation.get("responses", {}):
                assert_problem(document, operation, "422", "validation_failed")


def test_the_docs_page_and_the_document_are_served():
    client = TestClient(create_app(GatewaySettings()))
    docs = client.get("/docs")
    assert docs.status_code == 200 and "swagger-ui" in docs.text and "/openapi.json" in docs.text
    document = client.get("/openapi.json")
    assert document.status_code == 200 and document.json()["openapi"].startswith("3.")
    assert "Idempotency-Key" in document.json()["info"]["description"]
