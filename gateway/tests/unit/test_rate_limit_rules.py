"""Rate limit rules without Redis: rates, which requests a rule covers, the client's address behind
trusted proxies, the account a sign-in names. Redis itself is exercised in test_api_manners.py."""
from ipaddress import ip_network

import pytest

from bimtek_gateway.rate_limits import Rate, account_in, client_ip, rules_from
from bimtek_gateway.settings import GatewaySettings


def test_rates_parse_and_print():
    assert Rate.parse("10/minute") == Rate(10, 60)
    assert Rate.parse("10/hour").interval_ms == 360_000
    assert Rate.parse("7/minute").interval_ms == 8572  # rounded up: never more than 7 a minute
    assert str(Rate.parse("60/day")) == "60/day"


def test_rates_in_settings_are_checked_at_start_up():
    with pytest.raises(ValueError):
        GatewaySettings(rate_limit_public_per_ip="60 per minute")
    with pytest.raises(ValueError):
        GatewaySettings(rate_limit_imports_per_user="0/hour")


def rules_matching(method: str, path: str) -> list[str]:
    return [rule.name for rule in rules_from(GatewaySettings()) if rule.matches(method, path)]


@pytest.mark.parametrize(("method", "path", "names"), [
    ("POST", "/api/v1/auth/token", ["sign_in_ip", "sign_in_account"]),
    ("POST", "/api/v1/auth/participant-token", ["sign_in_ip", "sign_in_account"]),
    ("GET", "/api/v1/auth/anything", ["sign_in_ip"]),
    ("POST", "/api/v1/participant-imports", ["imports"]),
    ("POST", "/api/v1/participant-imports/", ["imports"]),
    ("GET", "/api/v1/participant-imports", []),
    ("GET", "/api/v1/participant-imports/5f0c2a9d", []),
    ("GET", "/api/v1/public/certificates/ABC", ["public"]),
    ("POST", "/api/v1/participants", []),
    ("GET", "/healthz", []),
])
def test_which_requests_each_rule_covers(method, path, names):
    assert rules_matching(method, path) == names


PROXIES = (ip_network("10.0.0.0/8"), ip_network("192.0.2.7/32"))


def scope(peer: str, *forwarded: str) -> dict:
    return {"client": (peer, 50000), "headers": [(b"x-forwarded-for", value.encode()) for value in forwarded]}


def test_the_client_is_the_socket_peer_unless_that_is_a_trusted_proxy():
    assert client_ip(scope("203.0.113.9", "198.51.100.1"), ()) == "203.0.113.9"
    assert client_ip(scope("203.0.113.9", "198.51.100.1"), PROXIES) == "203.0.113.9"  # not our proxy: ignored
    assert client_ip(scope("10.1.2.3", "198.51.100.1"), PROXIES) == "198.51.100.1"


def test_behind_proxies_the_client_is_the_last_address_before_ours():
    # The client may write anything into X-Forwarded-For; only what our proxies appended counts.
    assert client_ip(scope("10.1.2.3", "1.2.3.4, 198.51.100.1, 192.0.2.7"), PROXIES) == "198.51.100.1"
    assert client_ip(scope("10.1.2.3", "1.2.3.4", "198.51.100.1"), PROXIES) == "198.51.100.1"
    assert client_ip(scope("10.1.2.3", "garbage"), PROXIES) == "garbage"  # still one key per value
    assert client_ip(scope("10.1.2.3"), PROXIES) == "10.1.2.3"
    assert client_ip(scope("10.1.2.3", "10.9.9.9"), PROXIES) == "10.9.9.9"  # only proxies: the first


def test_the_account_of_a_sign_in_body():
    assert account_in(b'{"username": " Admin.Jombang ", "password": "x"}', "application/json") == (
        "username:admin.jombang")
    assert account_in(b'{"participant_code": "K7QM3XPA", "birth_date": "1985-07-01"}', "application/json") == (
        "participant_code:k7qm3xpa")
    assert account_in(b"username=ops&password=x", "application/x-www-form-urlencoded") == "username:ops"
    assert account_in(b'{"refresh_token": "bkr_x"}', "application/json") is None
    assert account_in(b"[1, 2]", "application/json") is None
    assert account_in(b"\xff not json", "application/json") is None
    assert account_in(b'{"username": 5}', "application/json") is None
    assert account_in(b"[" * 10_000 + b"]" * 10_000, "application/json") is None  # no RecursionError (a 500)
