"""User management: who may create, see and change whom, against real PostgreSQL."""
from __future__ import annotations

import subprocess
import sys
import uuid

import pytest

from bimtek_gateway.identity import Role
from gateway.tests.integration.identity_fixtures import (  # noqa: F401 - fixtures
    JOMBANG, KEDIRI, REPO_ROOT, add_user, claims, client, gateway_database_url, headers_of, settings, sql,
)

pytestmark = pytest.mark.integration

COOPERATIVE = str(uuid.uuid4())
PASSWORD = "kata-sandi-yang-panjang"


@pytest.fixture(scope="module")
def province(client, gateway_database_url) -> dict[str, str]:
    return headers_of(client, add_user(gateway_database_url, Role.PROVINCE_ADMIN))


@pytest.fixture(scope="module")
def jombang_admin(client, gateway_database_url) -> dict[str, str]:
    return headers_of(client, add_user(gateway_database_url, Role.REGENCY_ADMIN, JOMBANG))


def create(client, headers, **body):
    return client.post("/api/v1/users", json={"username": f"user.{uuid.uuid4().hex[:10]}", "password": PASSWORD,
                                              "role": "operator", **body}, headers=headers)


def all_pages(client, headers, **params) -> list[dict]:
    items, cursor = [], None
    while True:
        page = client.get("/api/v1/users", params={**params, **({"cursor": cursor} if cursor else {})},
                          headers=headers)
        assert page.status_code == 200, page.text
        items += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return items


def test_a_regency_admin_creates_users_of_its_own_regency_only(client, jombang_admin):
    created = create(client, jombang_admin)
    assert created.status_code == 201, created.text
    user = created.json()
    assert user["regency"] == JOMBANG and user["role"] == "operator" and user["active"] is True
    assert "password" not in user and "password_hash" not in user

    elsewhere = create(client, jombang_admin, regency=KEDIRI)
    assert elsewhere.status_code == 403 and elsewhere.json()["code"] == "regency_out_of_scope"
    assert create(client, jombang_admin, regency=JOMBANG).status_code == 201


def test_a_regency_admin_can_never_make_a_province_admin(client, jombang_admin):
    refused = create(client, jombang_admin, role="province_admin")
    assert refused.status_code == 403 and refused.json()["code"] == "role_out_of_scope"
    operator = create(client, jombang_admin).json()
    promoted = client.patch(f"/api/v1/users/{operator['id']}", json={"role": "province_admin"}, headers=jombang_admin)
    assert promoted.status_code == 403 and promoted.json()["code"] == "role_out_of_scope"
    assert client.get(f"/api/v1/users/{operator['id']}", headers=jombang_admin).json()["role"] == "operator"
    made_admin = client.patch(f"/api/v1/users/{operator['id']}", json={"role": "regency_admin"}, headers=jombang_admin)
    assert made_admin.status_code == 200 and made_admin.json()["regency"] == JOMBANG


def test_a_regency_admin_neither_sees_nor_changes_another_regencys_users(client, province, jombang_admin):
    kediri_user = create(client, province, regency=KEDIRI).json()
    visible = all_pages(client, jombang_admin)
    assert visible and {user["regency"] for user in visible} == {JOMBANG}
    assert kediri_user["id"] not in {user["id"] for user in visible}
    for response in (
        client.get(f"/api/v1/users/{kediri_user['id']}", headers=jombang_admin),
        client.patch(f"/api/v1/users/{kediri_user['id']}", json={"active": False}, headers=jombang_admin),
        client.delete(f"/api/v1/users/{kediri_user['id']}", headers=jombang_admin),
    ):
        assert response.status_code == 404 and response.json()["code"] == "user_not_found"
    assert client.get(f"/api/v1/users/{kediri_user['id']}", headers=province).json()["active"] is True
    assert client.get("/api/v1/users", params={"regency": KEDIRI}, headers=jombang_admin).status_code == 403
    moved = client.patch(f"/api/v1/users/{create(client, jombang_admin).json()['id']}", json={"regency": KEDIRI},
                         headers=jombang_admin)
    assert moved.status_code == 403 and moved.json()["code"] == "regency_out_of_scope"


def test_a_province_admin_manages_everyone(client, province):
    assert create(client, province).status_code == 422  # must name the regency of a regency user
    admin = create(client, province, role="province_admin", regency=JOMBANG)
    assert admin.status_code == 201 and admin.json()["regency"] == "*"
    kediri = create(client, province, role="regency_admin", regency=KEDIRI).json()
    demoted = client.patch(f"/api/v1/users/{admin.json()['id']}", json={"role": "operator"}, headers=province)
    assert demoted.status_code == 422  # a regency user needs a regency
    demoted = client.patch(f"/api/v1/users/{admin.json()['id']}", json={"role": "operator", "regency": KEDIRI},
                           headers=province)
    assert demoted.status_code == 200 and demoted.json()["regency"] == KEDIRI
    everyone = {user["id"] for user in all_pages(client, province)}
    assert {admin.json()["id"], kediri["id"]} <= everyone
    only_kediri = all_pages(client, province, regency=KEDIRI)
    assert {user["regency"] for user in only_kediri} == {KEDIRI}


def test_only_user_administrators_manage_users(client, gateway_database_url):
    operator = headers_of(client, add_user(gateway_database_url, Role.OPERATOR, JOMBANG))
    assert client.get("/api/v1/users", headers=operator).status_code == 403
    assert create(client, operator).status_code == 403
    assert client.get("/api/v1/users").status_code == 401


def test_listing_filters_and_pages_without_skipping_or_doubling(client, gateway_database_url):
    admin = headers_of(client, add_user(gateway_database_url, Role.REGENCY_ADMIN, "35.15"))
    made = [create(client, admin, role=role).json()["id"] for role in ["operator", "trainer"] * 3]
    client.delete(f"/api/v1/users/{made[0]}", headers=admin)
    pages = [client.get("/api/v1/users", params={"limit": 2}, headers=admin).json()]
    assert len(pages[0]["items"]) == 2 and pages[0]["limit"] == 2
    listed = all_pages(client, admin, limit=2)
    assert [user["id"] for user in listed][-6:] == made  # oldest first, each once (the admin came first)
    assert {user["id"] for user in all_pages(client, admin, role="trainer")} == set(made[1::2])
    assert {user["id"] for user in all_pages(client, admin, active="false")} == {made[0]}
    assert made[0] not in {user["id"] for user in all_pages(client, admin, active="true")}
    garbled = client.get("/api/v1/users", params={"cursor": "not-a-cursor"}, headers=admin)
    assert garbled.status_code == 422 and garbled.json()["code"] == "invalid_cursor"
    assert client.get("/api/v1/users", params={"limit": 0}, headers=admin).status_code == 422


def test_passwords_usernames_and_cooperatives_are_checked(client, settings, jombang_admin):
    short = create(client, jombang_admin, password="short-11-ch")
    assert short.status_code == 422
    taken = create(client, jombang_admin).json()["username"]
    duplicate = create(client, jombang_admin, username=taken)
    assert duplicate.status_code == 409 and duplicate.json()["code"] == "username_taken"
    assert create(client, jombang_admin, role="cooperative_operator").status_code == 422
    assert create(client, jombang_admin, cooperative_id=COOPERATIVE).status_code == 422
    assert create(client, jombang_admin, role="participant").status_code == 422

    cooperative_operator = create(client, jombang_admin, role="cooperative_operator", cooperative_id=COOPERATIVE)
    assert cooperative_operator.status_code == 201
    user = cooperative_operator.json()
    token = client.post("/api/v1/auth/token", json={"username": user["username"], "password": PASSWORD}).json()
    assert claims(settings, token["access_token"])["coop"] == COOPERATIVE
    # Leaving the role leaves the cooperative behind.
    changed = client.patch(f"/api/v1/users/{user['id']}", json={"role": "operator"}, headers=jombang_admin)
    assert changed.status_code == 200 and changed.json()["cooperative_id"] is None


def test_create_user_command_makes_the_first_administrator(client, settings, gateway_database_url):
    def run(*args: str, password: str = PASSWORD) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "bimtek_gateway.cli", "create-user", *args],
                              env={"PATH": "/usr/bin:/bin", "DATABASE_URL": gateway_database_url,
                                   "BIMTEK_PASSWORD": password}, capture_output=True, text=True,
                              cwd=REPO_ROOT / "gateway")

    made = run("first.admin", "--role", "province_admin")
    assert made.returncode == 0, made.stderr
    user_id = made.stdout.strip()
    assert sql(gateway_database_url, "SELECT role, regency FROM users WHERE id = %s", user_id) == [
        ("province_admin", "*")]
    pair = client.post("/api/v1/auth/token", json={"username": "first.admin", "password": PASSWORD}).json()
    assert claims(settings, pair["access_token"])["sub"] == user_id

    cooperative = run("coop.operator", "--role", "cooperative_operator", "--regency", JOMBANG,
                      "--cooperative", COOPERATIVE)
    assert cooperative.returncode == 0, cooperative.stderr
    assert sql(gateway_database_url, "SELECT cooperative_id::text FROM users WHERE username = 'coop.operator'") == [
        (COOPERATIVE,)]
    assert run("no.cooperative", "--role", "cooperative_operator", "--regency", JOMBANG).returncode == 2
    assert run("first.admin", "--role", "province_admin").returncode == 2  # taken
    assert run("short.password", "--role", "province_admin", password="too-short").returncode == 2
