"""The region routes' HTTP manners (ETag, 304, Cache-Control, code patterns), with a stand-in for the
registration service: the real one answers in tests/integration/test_regions.py."""
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from bimtek_gateway.dependencies import get_services
from bimtek_gateway.problems import install_problem_handlers
from bimtek_gateway.routers import regions

ANSWERS = {
    ("list_regencies", ()): {"province": "35", "items": [
        {"code": "35.17", "name": "Kabupaten Jombang", "kind": "kabupaten"},
        {"code": "35.78", "name": "Kota Surabaya", "kind": "kota"}]},
    ("list_districts", ("35.17",)): {"regency": "35.17", "items": [{"code": "35.17.09", "name": "Jombang"}]},
    ("list_villages", ("35.17.09",)): {"district": "35.17.09", "items": [
        {"code": "35.17.09.1002", "name": "Jombatan", "kind": "kelurahan"}]},
}


class RegistrationStandIn:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    async def call(self, service: str, method: str, **kwargs: Any) -> Any:
        assert service == "registration"
        self.calls.append((method, kwargs))
        return ANSWERS[(method, tuple(kwargs.values()))]


def client() -> tuple[TestClient, RegistrationStandIn]:
    app = FastAPI()
    install_problem_handlers(app)
    app.include_router(regions.router)
    stand_in = RegistrationStandIn()
    app.dependency_overrides[get_services] = lambda: stand_in
    return TestClient(app), stand_in


def test_lists_come_with_an_etag_and_may_be_cached_privately():
    http, stand_in = client()
    response = http.get("/api/v1/regions/regencies")
    assert response.status_code == 200
    assert response.json()["items"][1] == {"code": "35.78", "name": "Kota Surabaya", "kind": "kota"}
    assert response.headers["cache-control"] == "private, max-age=3600"
    assert response.headers["etag"].startswith('"') and len(response.headers["etag"]) == 34
    assert http.get("/api/v1/regions/regencies/35.17/districts").json()["items"] == [
        {"code": "35.17.09", "name": "Jombang"}]
    assert http.get("/api/v1/regions/districts/35.17.09/villages").json()["district"] == "35.17.09"
    assert stand_in.calls == [("list_regencies", {}), ("list_districts", {"regency_code": "35.17"}),
                              ("list_villages", {"district_code": "35.17.09"})]


def test_a_client_holding_the_current_etag_gets_304_without_a_body():
    http, _ = client()
    etag = http.get("/api/v1/regions/regencies/35.17/districts").headers["etag"]
    again = http.get("/api/v1/regions/regencies/35.17/districts", headers={"If-None-Match": f'"old", W/{etag}'})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    stale = http.get("/api/v1/regions/regencies/35.17/districts", headers={"If-None-Match": '"old"'})
    assert stale.status_code == 200


def test_malformed_codes_are_refused_before_any_call():
    http, stand_in = client()
    for path in ("/api/v1/regions/regencies/3517/districts", "/api/v1/regions/districts/35.17/villages"):
        response = http.get(path)
        assert response.status_code == 422 and response.json()["code"] == "validation_failed"
    assert stand_in.calls == []
