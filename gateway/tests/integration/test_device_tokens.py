"""Device tokens for check-in phones: issued, used, refused where they do not belong, revoked at once.

No check-in endpoint exists yet, so a route added here for the test takes ``CheckInDevice`` the
way those endpoints will.
"""
from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Iterator

import pytest
from fastapi.testclient import TestClient

from bimtek_gateway.app import create_app
from bimtek_gateway.dependencies import CheckInDevice
from bimtek_gateway.device_tokens import today_in_jakarta
from bimtek_gateway.identity import Role
from bimtek_gateway.settings import GatewaySettings
from gateway.tests.integration.identity_fixtures import (  # noqa: F401 - fixtures
    JOMBANG, KEDIRI, add_user, bearer, gateway_database_url, headers_of, settings, sql,
)

pytestmark = pytest.mark.integration

CHECK_IN = "/test-only/check-in"
VENUE, SESSION = uuid.uuid4(), uuid.uuid4()


@pytest.fixture(scope="module")
def client(settings: GatewaySettings) -> Iterator[TestClient]:
    app = create_app(settings)

    @app.post(CHECK_IN)
    async def check_in(device: CheckInDevice, venue_id: uuid.UUID | None = None,
                       session_id: uuid.UUID | None = None) -> dict:
        device.require_scope(venue_id=venue_id, session_id=session_id)
        caller = device.caller
        return {"user": caller.user, "role": caller.role, "regency": caller.regency}

    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def jombang_admin(client, gateway_database_url) -> dict[str, str]:
    return headers_of(client, add_user(gateway_database_url, Role.REGENCY_ADMIN, JOMBANG))


def issue(client, headers, **body):
    return client.post("/api/v1/device-tokens", json={"label": "HP presensi aula Diwek", **body}, headers=headers)


def this_week() -> dict[str, str]:
    today = today_in_jakarta()
    return {"valid_from": today.isoformat(), "valid_until": (today + timedelta(days=6)).isoformat()}


def test_a_device_token_is_shown_once_and_works_for_check_in(client, jombang_admin, gateway_database_url):
    response = issue(client, jombang_admin, venue_id=str(VENUE), **this_week())
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    issued = response.json()
    token = issued["token"]
    assert token.startswith("bkd_") and issued["regency"] == JOMBANG
    assert issued["venue_id"] == str(VENUE) and issued["session_id"] is None

    checked_in = client.post(CHECK_IN, params={"venue_id": str(VENUE)}, headers=bearer(token))
    assert checked_in.status_code == 200, checked_in.text
    assert checked_in.json() == {"user": issued["id"], "role": "device", "regency": JOMBANG}

    listed = client.get("/api/v1/device-tokens", headers=jombang_admin).json()["items"]
    mine = next(item for item in listed if item["id"] == issued["id"])
    assert "token" not in mine and token not in str(listed)  # the secret is never shown again
    stored = sql(gateway_database_url, "SELECT token_sha256 FROM device_tokens WHERE id = %s", issued["id"])
    assert token.encode() not in bytes(stored[0][0])


def test_a_revoked_token_is_refused_at_once(client, jombang_admin):
    issued = issue(client, jombang_admin, session_id=str(SESSION)).json()
    during_session = {"session_id": str(SESSION)}
    assert client.post(CHECK_IN, params=during_session, headers=bearer(issued["token"])).status_code == 200
    assert client.delete(f"/api/v1/device-tokens/{issued['id']}", headers=jombang_admin).status_code == 204
    refused = client.post(CHECK_IN, params={"session_id": str(SESSION)}, headers=bearer(issued["token"]))
    assert refused.status_code == 401 and refused.json()["code"] == "unauthenticated"
    assert client.delete(f"/api/v1/device-tokens/{issued['id']}", headers=jombang_admin).status_code == 204
    listed = client.get("/api/v1/device-tokens", params={"revoked": "true"}, headers=jombang_admin).json()["items"]
    assert issued["id"] in {item["id"] for item in listed}
    live = client.get("/api/v1/device-tokens", params={"revoked": "false"}, headers=jombang_admin).json()["items"]
    assert issued["id"] not in {item["id"] for item in live}


def test_ordinary_endpoints_refuse_device_tokens_and_device_endpoints_refuse_people(
        client, jombang_admin, gateway_database_url):
    token = issue(client, jombang_admin, **this_week()).json()["token"]
    for method, path in [("GET", "/api/v1/users"), ("GET", "/api/v1/device-tokens"),
                         ("GET", f"/api/v1/participants/{uuid.uuid4()}")]:
        refused = client.request(method, path, headers=bearer(token))
        assert refused.status_code == 403 and refused.json()["code"] == "device_token_not_accepted", path
    person = client.post(CHECK_IN, headers=jombang_admin)
    assert person.status_code == 403 and person.json()["code"] == "device_token_required"
    assert client.post(CHECK_IN).status_code == 401
    assert client.post(CHECK_IN, headers=bearer("bkd_" + "A" * 43)).status_code == 401


def test_a_token_works_only_on_its_days_counted_in_jakarta(client, jombang_admin, gateway_database_url):
    tomorrow = today_in_jakarta() + timedelta(days=1)
    early = issue(client, jombang_admin, valid_from=tomorrow.isoformat()).json()
    refused = client.post(CHECK_IN, headers=bearer(early["token"]))
    assert refused.status_code == 401 and refused.json()["code"] == "device_token_outside_dates"

    lapsed = issue(client, jombang_admin, **this_week()).json()
    assert client.post(CHECK_IN, headers=bearer(lapsed["token"])).status_code == 200
    sql(gateway_database_url, "UPDATE device_tokens SET valid_from = %s, valid_until = %s WHERE id = %s",
        today_in_jakarta() - timedelta(days=7), today_in_jakarta() - timedelta(days=1), lapsed["id"])
    assert client.post(CHECK_IN, headers=bearer(lapsed["token"])).json()["code"] == "device_token_outside_dates"


def test_a_token_acts_only_within_its_venue_and_session(client, jombang_admin):
    token = issue(client, jombang_admin, venue_id=str(VENUE), session_id=str(SESSION)).json()["token"]
    assert client.post(CHECK_IN, params={"venue_id": str(VENUE), "session_id": str(SESSION)},
                       headers=bearer(token)).status_code == 200
    elsewhere = client.post(CHECK_IN, params={"venue_id": str(VENUE), "session_id": str(uuid.uuid4())},
                            headers=bearer(token))
    assert elsewhere.status_code == 403 and elsewhere.json()["code"] == "device_out_of_scope"


def test_last_use_is_recorded_without_a_write_on_every_request(client, jombang_admin, gateway_database_url):
    issued = issue(client, jombang_admin, **this_week()).json()
    assert issued["last_used_at"] is None
    client.post(CHECK_IN, headers=bearer(issued["token"]))
    first = sql(gateway_database_url, "SELECT last_used_at FROM device_tokens WHERE id = %s", issued["id"])[0][0]
    assert first is not None
    client.post(CHECK_IN, headers=bearer(issued["token"]))
    again = sql(gateway_database_url, "SELECT last_used_at FROM device_tokens WHERE id = %s", issued["id"])[0][0]
    assert again == first
    sql(gateway_database_url, "UPDATE device_tokens SET last_used_at = now() - interval '6 minutes' WHERE id = %s",
        issued["id"])
    client.post(CHECK_IN, headers=bearer(issued["token"]))
    later = sql(gateway_database_url, "SELECT last_used_at FROM device_tokens WHERE id = %s", issued["id"])[0][0]
    assert later > first


def test_a_token_needs_a_limit_and_days_that_are_not_over(client, jombang_admin):
    assert issue(client, jombang_admin).status_code == 422
    yesterday = (today_in_jakarta() - timedelta(days=1)).isoformat()
    assert issue(client, jombang_admin, valid_until=yesterday).status_code == 422
    backwards = {"valid_from": today_in_jakarta().isoformat(), "valid_until": yesterday}
    assert issue(client, jombang_admin, **backwards).status_code == 422
    assert issue(client, jombang_admin, valid_from="2027-02-30").status_code == 422


def test_tokens_are_issued_listed_and_revoked_only_within_the_callers_regency(
        client, jombang_admin, gateway_database_url):
    jombang_operator = headers_of(client, add_user(gateway_database_url, Role.OPERATOR, JOMBANG))
    kediri_admin = headers_of(client, add_user(gateway_database_url, Role.REGENCY_ADMIN, KEDIRI))
    province = headers_of(client, add_user(gateway_database_url, Role.PROVINCE_ADMIN))
    trainer = headers_of(client, add_user(gateway_database_url, Role.TRAINER, JOMBANG))

    jombang_token = issue(client, jombang_operator, **this_week())
    assert jombang_token.status_code == 201 and jombang_token.json()["regency"] == JOMBANG
    other_regency = issue(client, jombang_operator, regency=KEDIRI, **this_week())
    assert other_regency.status_code == 403 and other_regency.json()["code"] == "regency_out_of_scope"
    assert issue(client, trainer, **this_week()).status_code == 403
    assert issue(client, province, **this_week()).status_code == 422  # must name the regency
    kediri_token = issue(client, province, regency=KEDIRI, **this_week())
    assert kediri_token.status_code == 201 and kediri_token.json()["regency"] == KEDIRI

    kediri_list = client.get("/api/v1/device-tokens", headers=kediri_admin).json()["items"]
    assert {item["regency"] for item in kediri_list} == {KEDIRI}
    assert client.get("/api/v1/device-tokens", params={"regency": JOMBANG}, headers=kediri_admin).status_code == 403
    jombang_id = jombang_token.json()["id"]
    assert client.delete(f"/api/v1/device-tokens/{jombang_id}", headers=kediri_admin).status_code == 404
    assert client.post(CHECK_IN, headers=bearer(jombang_token.json()["token"])).status_code == 200  # untouched
    province_list = client.get("/api/v1/device-tokens", params={"regency": JOMBANG}, headers=province).json()["items"]
    assert jombang_id in {item["id"] for item in province_list}
    assert client.delete(f"/api/v1/device-tokens/{jombang_id}", headers=province).status_code == 204


def test_device_tokens_are_listed_a_page_at_a_time(client, gateway_database_url):
    admin = headers_of(client, add_user(gateway_database_url, Role.REGENCY_ADMIN, "35.78"))
    issued = [issue(client, admin, **this_week()).json()["id"] for _ in range(5)]
    seen, cursor = [], None
    while True:
        page = client.get("/api/v1/device-tokens", params={"limit": 2, **({"cursor": cursor} if cursor else {})},
                          headers=admin).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == issued  # oldest first, each once
