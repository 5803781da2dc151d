"""Token pairs, rotation with reuse detection, sign-out and deactivated users, against real PostgreSQL."""
from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor

import pytest

from bimtek_gateway.housekeeping import purge_expired
from bimtek_gateway.identity import Role
from gateway.tests.integration.identity_fixtures import (  # noqa: F401 - fixtures
    JOMBANG, add_user, bearer, claims, client, gateway_database_url, headers_of, settings, sign_in, sql,
)

pytestmark = pytest.mark.integration


def refresh(client, refresh_token: str):
    return client.post("/api/v1/auth/refresh", json={"refresh_token": refresh_token})


def test_signing_in_gives_a_short_access_token_and_an_opaque_refresh_token(client, settings, gateway_database_url):
    operator = add_user(gateway_database_url, Role.OPERATOR, JOMBANG)
    response = client.post("/api/v1/auth/token", json={"username": operator.username, "password": operator.password})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    pair = response.json()
    assert pair["token_type"] == "Bearer" and pair["expires_in"] <= 15 * 60
    assert pair["refresh_expires_in"] == 30 * 86400
    assert claims(settings, pair["access_token"])["sub"] == operator.id
    assert pair["refresh_token"].startswith("bkr_") and len(pair["refresh_token"]) >= 4 + 43
    stored = sql(gateway_database_url, "SELECT token_sha256, subject, subject_kind, expires_at - issued_at "
                 "FROM refresh_tokens WHERE subject = %s", operator.id)
    assert len(stored) == 1
    assert bytes(stored[0][0]) == hashlib.sha256(pair["refresh_token"].encode()).digest()  # the digest only
    assert stored[0][1:3] == (operator.id, "user") and stored[0][3].days == 30


def test_wrong_passwords_and_unknown_users_get_the_same_answer(client, gateway_database_url):
    operator = add_user(gateway_database_url, Role.OPERATOR, JOMBANG)
    wrong = client.post("/api/v1/auth/token", json={"username": operator.username, "password": "not-the-password"})
    unknown = client.post("/api/v1/auth/token", json={"username": "nobody.here", "password": "not-the-password"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["code"] == unknown.json()["code"] == "invalid_credentials"
    assert wrong.json()["detail"] == unknown.json()["detail"]


def test_a_refresh_retires_the_token_and_continues_the_family(client, settings, gateway_database_url):
    operator = add_user(gateway_database_url, Role.OPERATOR, JOMBANG)
    first = sign_in(client, operator)
    response = refresh(client, first["refresh_token"])
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    second = response.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert claims(settings, second["access_token"])["sub"] == operator.id
    families = sql(gateway_database_url, "SELECT DISTINCT family_id FROM refresh_tokens WHERE subject = %s",
                   operator.id)
    assert len(families) == 1
    third = refresh(client, second["refresh_token"])
    assert third.status_code == 200


def test_presenting_a_used_refresh_token_revokes_the_whole_family(client, gateway_database_url):
    operator = add_user(gateway_database_url, Role.OPERATOR, JOMBANG)
    stolen = sign_in(client, operator)["refresh_token"]
    other_device = sign_in(client, operator)["refresh_token"]  # a second sign-in: a family of its own
    latest = refresh(client, stolen).json()["refresh_token"]  # the rightful client moves on

    replay = refresh(client, stolen)  # the thief (or the client) presents the old one again
    assert replay.status_code == 401 and replay.json()["code"] == "invalid_refresh_token"
    assert refresh(client, latest).status_code == 401  # the whole family is gone
    assert refresh(client, other_device).status_code == 200  # other sessions are untouched


def test_two_refreshes_racing_with_one_token_never_both_succeed(client, gateway_database_url):
    operator = add_user(gateway_database_url, Role.OPERATOR, JOMBANG)
    token = sign_in(client, operator)["refresh_token"]
    with ThreadPoolExecutor(4) as pool:
        statuses = sorted(pool.map(lambda _: refresh(client, token).status_code, range(4)))
    assert statuses.count(200) <= 1 and set(statuses) <= {200, 401}
    live = sql(gateway_database_url, "SELECT count(*) FROM refresh_tokens WHERE subject = %s AND revoked_at IS NULL "
               "AND used_at IS NULL", operator.id)[0][0]
    assert live == 0  # a reuse was seen, so the family is revoked


def test_logout_ends_the_session(client, gateway_database_url):
    operator = add_user(gateway_database_url, Role.OPERATOR, JOMBANG)
    pair = refresh(client, sign_in(client, operator)["refresh_token"]).json()
    assert client.post("/api/v1/auth/logout", json={"refresh_token": pair["refresh_token"]}).status_code == 204
    assert refresh(client, pair["refresh_token"]).status_code == 401
    # Unknown or already ended: nothing to end, and nothing learnt from the answer.
    assert client.post("/api/v1/auth/logout", json={"refresh_token": pair["refresh_token"]}).status_code == 204
    assert client.post("/api/v1/auth/logout", json={"refresh_token": "bkr_nonsense"}).status_code == 204


def test_an_expired_or_unknown_refresh_token_is_refused(client, gateway_database_url):
    operator = add_user(gateway_database_url, Role.OPERATOR, JOMBANG)
    token = sign_in(client, operator)["refresh_token"]
    sql(gateway_database_url, "UPDATE refresh_tokens SET expires_at = now() - interval '1 second' "
        "WHERE token_sha256 = %s", hashlib.sha256(token.encode()).digest())
    assert refresh(client, token).status_code == 401
    assert refresh(client, "bkr_" + "A" * 43).status_code == 401
    assert client.post("/api/v1/auth/refresh", json={}).status_code == 422


def test_expired_refresh_tokens_are_deleted_and_live_families_keep_working(client, gateway_database_url):
    operator = add_user(gateway_database_url, Role.OPERATOR, JOMBANG)
    lapsed, live = (sign_in(client, operator)["refresh_token"] for _ in range(2))
    digest = hashlib.sha256(lapsed.encode()).digest()
    sql(gateway_database_url, "UPDATE refresh_tokens SET expires_at = now() - interval '1 second' "
        "WHERE token_sha256 = %s", digest)
    before = refresh(client, lapsed).status_code

    # On the app's own event loop, where its database engine lives; batches of one.
    purged = client.portal.call(purge_expired, client.app.state.sessions, "refresh tokens", 1)

    assert purged >= 1
    assert sql(gateway_database_url, "SELECT count(*) FROM refresh_tokens WHERE token_sha256 = %s", digest) == [(0,)]
    assert sql(gateway_database_url, "SELECT count(*) FROM refresh_tokens WHERE expires_at <= now()") == [(0,)]
    assert refresh(client, lapsed).status_code == before == 401  # refused the same, deleted or not
    assert refresh(client, live).status_code == 200


def test_a_deactivated_users_refresh_fails_and_sign_in_too(client, gateway_database_url):
    admin = add_user(gateway_database_url, Role.REGENCY_ADMIN, JOMBANG)
    operator = add_user(gateway_database_url, Role.OPERATOR, JOMBANG)
    token = sign_in(client, operator)["refresh_token"]
    assert client.delete(f"/api/v1/users/{operator.id}", headers=headers_of(client, admin)).status_code == 204
    assert refresh(client, token).status_code == 401
    assert client.post("/api/v1/auth/token", json={"username": operator.username,
                                                   "password": operator.password}).status_code == 401


def test_a_user_deactivated_behind_the_api_cannot_refresh_either(client, gateway_database_url):
    operator = add_user(gateway_database_url, Role.OPERATOR, JOMBANG)
    token = sign_in(client, operator)["refresh_token"]
    sql(gateway_database_url, "UPDATE users SET active = false WHERE id = %s", operator.id)
    assert refresh(client, token).status_code == 401
    revoked = sql(gateway_database_url, "SELECT count(*) FROM refresh_tokens WHERE subject = %s "
                  "AND revoked_at IS NULL", operator.id)[0][0]
    assert revoked == 0


def test_a_new_password_ends_every_session_and_a_new_role_arrives_at_the_next_refresh(
        client, settings, gateway_database_url):
    admin_headers = headers_of(client, add_user(gateway_database_url, Role.REGENCY_ADMIN, JOMBANG))
    operator = add_user(gateway_database_url, Role.OPERATOR, JOMBANG)
    token = sign_in(client, operator)["refresh_token"]
    changed = client.patch(f"/api/v1/users/{operator.id}", json={"role": "trainer"}, headers=admin_headers)
    assert changed.status_code == 200
    renewed = refresh(client, token).json()
    assert claims(settings, renewed["access_token"])["role"] == "trainer"

    new_password = "a-completely-new-password"
    assert client.patch(f"/api/v1/users/{operator.id}", json={"password": new_password},
                        headers=admin_headers).status_code == 200
    assert refresh(client, renewed["refresh_token"]).status_code == 401
    assert client.post("/api/v1/auth/token", json={"username": operator.username,
                                                   "password": new_password}).status_code == 200


def test_access_tokens_are_checked_on_every_request(client, settings, gateway_database_url):
    operator = add_user(gateway_database_url, Role.REGENCY_ADMIN, JOMBANG)
    token = sign_in(client, operator)["access_token"]
    assert client.get("/api/v1/users", headers=bearer(token)).status_code == 200
    header, payload, signature = token.split(".")
    # The first character, which no encoding leniency ignores, always changed (ending the signature
    # in "AA" left it as it was whenever it already ended so: one token in 256).
    forged = ("B" if signature[0] == "A" else "A") + signature[1:]
    assert client.get("/api/v1/users", headers=bearer(f"{header}.{payload}.{forged}")).status_code == 401
    assert client.get("/api/v1/users").status_code == 401
    refresh_token = sign_in(client, operator)["refresh_token"]
    assert client.get("/api/v1/users", headers=bearer(refresh_token)).status_code == 401  # not an access token
