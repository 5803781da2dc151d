"""Problem details, languages, request ids and body limits, on a small app with no servers behind it."""
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

from bimtek_gateway.middleware import BodySizeLimitMiddleware, RequestContextMiddleware
from bimtek_gateway.problems import Problem, install_problem_handlers
from bimtek_gateway.rpc import RemoteError, ServiceTimeout, ServiceUnavailable


class Body(BaseModel):
    name: str


def make_app() -> TestClient:
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/echo")
    async def echo(body: Body) -> dict:
        return body.model_dump()

    @app.post("/bulk")
    async def bulk(body: Body) -> dict:
        return {"ok": True}

    @app.get("/raise/{what}")
    async def raise_(what: str) -> dict:
        if what == "unavailable":
            raise ServiceUnavailable("scheduling")
        if what == "timeout":
            raise ServiceTimeout("scheduling", "plan", 2.0)
        if what == "domain":
            raise RemoteError("DomainError", "bimtek_shared.contracts.errors.DomainError",
                              ["nik_invalid", {"reason": "nik_not_16_digits"}], "nik_invalid")
        if what == "remote-bug":
            raise RemoteError("KeyError", "builtins.KeyError", ["Siti Aminah"], "'Siti Aminah'")
        if what == "problem":
            raise Problem("forbidden")
        raise RuntimeError("boom")

    app.add_middleware(BodySizeLimitMiddleware, max_bytes=100, larger_limits={"/bulk": 1000})
    app.add_middleware(RequestContextMiddleware)
    return TestClient(app, raise_server_exceptions=False)


def test_problems_are_rfc9457_in_indonesian_by_default():
    response = make_app().get("/raise/unavailable")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"] == "5"
    body = response.json()
    assert body["type"] == "urn:bimtek:problem:service_unavailable"
    assert body["status"] == 503 and body["code"] == "service_unavailable"
    assert body["detail"] == "Layanan scheduling sedang tidak tersedia. Silakan coba lagi nanti."
    assert body["request_id"] == response.headers["x-request-id"]


def test_english_when_the_caller_prefers_it():
    client = make_app()
    assert client.get("/raise/timeout", headers={"Accept-Language": "en-GB,en;q=0.9"}).json()["detail"] == (
        "The scheduling service did not answer in time. Please try again.")
    assert client.get("/raise/timeout", headers={"Accept-Language": "id;q=0.9,en;q=0.8"}).json()["detail"].startswith(
        "Layanan scheduling")


def test_remote_domain_errors_keep_their_status_and_unexpected_ones_leak_nothing():
    client = make_app()
    domain = client.get("/raise/domain")
    assert domain.status_code == 422 and domain.json()["detail"] == "NIK tidak valid: harus 16 angka."
    english = client.get("/raise/domain", headers={"Accept-Language": "en"})
    assert english.json()["detail"] == "Invalid NIK: it must be 16 digits."
    bug = client.get("/raise/remote-bug")
    assert bug.status_code == 500 and "Siti" not in bug.text
    assert client.get("/raise/crash").status_code == 500
    assert client.get("/raise/problem").status_code == 403


def test_validation_errors_list_fields_without_values():
    response = make_app().post("/echo", json={"name": 12345, "extra": "x"})
    assert response.status_code == 422
    assert response.json()["code"] == "validation_failed"
    assert response.json()["errors"][0]["field"] == "name"
    assert "12345" not in response.text


def test_request_ids_are_echoed_when_well_formed_and_made_up_otherwise():
    client = make_app()
    assert client.post("/echo", json={"name": "a"}, headers={"X-Request-ID": "mobile-abc-12345"}).headers[
        "x-request-id"] == "mobile-abc-12345"
    generated = client.post("/echo", json={"name": "a"}, headers={"X-Request-ID": "bad id\nInjected: 1"})
    assert generated.headers["x-request-id"] != "bad id\nInjected: 1" and len(generated.headers["x-request-id"]) == 32


def test_bodies_over_the_limit_get_413_announced_or_streamed():
    client = make_app()
    big = {"name": "x" * 200}
    announced = client.post("/echo", json=big)
    assert announced.status_code == 413 and announced.json()["code"] == "payload_too_large"

    def chunks():
        yield b'{"name": "'
        yield b"x" * 200
        yield b'"}'

    streamed = client.post("/echo", content=chunks(), headers={"content-type": "application/json"})
    assert streamed.status_code == 413
    assert client.post("/bulk", json=big).status_code == 200  # a bulk route has its own, larger limit
