"""Access tokens, opaque tokens and the shapes of users and device scopes, with no server behind them."""
import hashlib
import hmac
import json
import uuid
from datetime import date, datetime, timedelta, timezone

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from bimtek_gateway.device_tokens import DeviceScope
from bimtek_gateway.identity import (
    ASSIGNABLE_ROLES, DEVICE_TOKEN_PREFIX, REFRESH_TOKEN_PREFIX, InvalidToken, Role, SubjectKind, is_device_token,
    issue_access_token, new_opaque_token, token_digest, user_shape, verify_access_token,
)
from bimtek_gateway.problems import Problem
from bimtek_gateway.settings import GatewaySettings

COOPERATIVE = "6f1c2a7e-3f0b-4c55-9d1e-2b8a1f6c9d30"
USER_1, USER_2, PARTICIPANT_1 = (str(uuid.uuid4()) for _ in range(3))


def settings(**overrides) -> GatewaySettings:
    return GatewaySettings(**overrides)


def claims_for(s: GatewaySettings, **overrides) -> dict:
    now = datetime.now(timezone.utc)
    return {"iss": s.jwt_issuer, "aud": s.jwt_audience, "sub": str(uuid.uuid4()), "kind": "user", "role": "province_admin",
            "regency": "*", "iat": now, "nbf": now, "exp": now + timedelta(minutes=5)} | overrides


def forged(s: GatewaySettings, **overrides) -> str:
    """Signed with the gateway's own key: only the claims are wrong."""
    return jwt.encode(claims_for(s, **overrides), s.signing_key, algorithm="EdDSA")


def b64(data: bytes) -> str:
    return jwt.utils.base64url_encode(data).decode()


def test_a_fresh_token_verifies_and_lives_at_most_fifteen_minutes():
    s = settings()
    token, lifetime = issue_access_token(s, user_id=USER_1, role="operator", regency="35.17")
    claims = verify_access_token(s, token)
    assert claims["sub"] == USER_1 and claims["role"] == "operator" and claims["regency"] == "35.17"
    assert claims["kind"] == "user" and "coop" not in claims
    assert lifetime <= 15 * 60 and claims["exp"] - claims["iat"] <= 15 * 60
    assert jwt.get_unverified_header(token)["alg"] == "EdDSA"


def test_tokens_carry_the_cooperative_and_the_kind_of_subject():
    s = settings()
    operator, _ = issue_access_token(s, user_id=USER_2, role="cooperative_operator", regency="35.17",
                                     cooperative=COOPERATIVE)
    assert verify_access_token(s, operator)["coop"] == COOPERATIVE
    participant, _ = issue_access_token(s, user_id=PARTICIPANT_1, role="participant", regency="35.17",
                                        kind=SubjectKind.PARTICIPANT, cooperative=COOPERATIVE)
    claims = verify_access_token(s, participant)
    assert (claims["kind"], claims["role"], claims["coop"]) == ("participant", "participant", COOPERATIVE)


@pytest.mark.parametrize("overrides", [
    # Times relative to the test's own run (a whole suite may take minutes after collection).
    pytest.param({"exp": timedelta(minutes=-1)}, id="expired"),
    pytest.param({"nbf": timedelta(minutes=1)}, id="not-yet-valid"),
    pytest.param({"iat": timedelta(minutes=1)}, id="issued-in-the-future"),
    pytest.param({"aud": "someone-else"}, id="wrong-audience"),
    pytest.param({"iss": "someone-else"}, id="wrong-issuer"),
])
def test_expired_early_or_misdirected_tokens_are_refused(overrides):
    s = settings()
    now = datetime.now(timezone.utc)
    claims = {k: now + v if isinstance(v, timedelta) else v for k, v in overrides.items()}
    with pytest.raises(InvalidToken):
        verify_access_token(s, forged(s, **claims))


@pytest.mark.parametrize("claim", ["exp", "iat", "nbf", "iss", "aud", "sub", "kind", "role", "regency"])
def test_a_token_missing_any_claim_is_refused(claim):
    s = settings()
    claims = claims_for(s)
    del claims[claim]
    with pytest.raises(InvalidToken):
        verify_access_token(s, jwt.encode(claims, s.signing_key, algorithm="EdDSA"))


@pytest.mark.parametrize("overrides", [
    pytest.param({"role": "cooperative_operator", "regency": "35.17"}, id="cooperative-operator-without-cooperative"),
    pytest.param({"role": "participant", "kind": "user"}, id="participant-as-user"),
    pytest.param({"role": "operator", "kind": "participant"}, id="user-as-participant"),
    pytest.param({"role": "device"}, id="device-role"),
    pytest.param({"role": "superuser"}, id="unknown-role"),
])
def test_well_signed_tokens_that_make_no_sense_are_refused(overrides):
    s = settings()
    with pytest.raises(InvalidToken):
        verify_access_token(s, forged(s, **overrides))


def test_tokens_signed_with_another_key_are_refused():
    s = settings()
    other_key = Ed25519PrivateKey.generate()
    with pytest.raises(InvalidToken):
        verify_access_token(s, jwt.encode(claims_for(s), other_key, algorithm="EdDSA"))


def test_unsigned_tokens_are_refused():
    s = settings()
    with pytest.raises(InvalidToken):
        verify_access_token(s, jwt.encode(claims_for(s), None, algorithm="none"))
    header = b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    payload = b64(json.dumps(jwt.decode(forged(s), options={"verify_signature": False})).encode())
    for signature in ("", "AAAA"):
        with pytest.raises(InvalidToken):
            verify_access_token(s, f"{header}.{payload}.{signature}")


def test_hs256_signed_with_the_public_key_as_secret_is_refused():
    """The classic algorithm confusion: a verifier that let the token choose the algorithm would
    check this HMAC against the public key, which everyone may know, and accept it."""
    s = settings()
    public_pem = s.signing_key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    public_raw = s.signing_key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64(json.dumps(jwt.decode(forged(s), options={"verify_signature": False})).encode())
    for secret in (public_pem, public_raw):
        signature = b64(hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest())
        with pytest.raises(InvalidToken):
            verify_access_token(s, f"{header}.{payload}.{signature}")


def test_tampered_claims_break_the_signature():
    s = settings()
    token, _ = issue_access_token(s, user_id=USER_1, role="operator", regency="35.17")
    header, payload, signature = token.split(".")
    tampered_payload = jwt.utils.base64url_encode(
        jwt.utils.base64url_decode(payload).replace(b'"operator"', b'"province_admin"')).decode()
    with pytest.raises(InvalidToken):
        verify_access_token(s, ".".join([header, tampered_payload, signature]))


def test_garbage_is_refused():
    s = settings()
    for token in ("", "not-a-token", "a.b.c", "bkd_" + "x" * 43):
        with pytest.raises(InvalidToken):
            verify_access_token(s, token)


def test_opaque_tokens_are_random_prefixed_and_stored_as_digests():
    refresh, device = new_opaque_token(REFRESH_TOKEN_PREFIX), new_opaque_token(DEVICE_TOKEN_PREFIX)
    assert refresh.startswith("bkr_") and device.startswith("bkd_")
    assert len(device) - len(DEVICE_TOKEN_PREFIX) >= 43  # 32 bytes, base64url
    assert is_device_token(device) and not is_device_token(refresh)
    assert not is_device_token(issue_access_token(settings(), user_id=USER_1, role="operator", regency="35.17")[0])
    assert token_digest(device) == hashlib.sha256(device.encode()).digest() and len(token_digest(device)) == 32
    assert len({new_opaque_token(DEVICE_TOKEN_PREFIX) for _ in range(100)}) == 100


def test_default_secrets_are_refused_outside_development():
    with pytest.raises(ValueError, match="JWT_PRIVATE_KEY"):
        settings(environment="production", amqp_uri="amqp://bimtek:s3cret@broker:5672/")
    key = Ed25519PrivateKey.generate().private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    with pytest.raises(ValueError, match="AMQP_URI"):
        settings(environment="production", jwt_private_key=key)
    assert settings(environment="production", jwt_private_key=key,
                    amqp_uri="amqp://bimtek:s3cret@broker:5672/").environment == "production"


def test_only_a_province_administrator_makes_another():
    assert Role.PROVINCE_ADMIN in ASSIGNABLE_ROLES[Role.PROVINCE_ADMIN]
    assert Role.PROVINCE_ADMIN not in ASSIGNABLE_ROLES[Role.REGENCY_ADMIN]
    assert Role.OPERATOR not in ASSIGNABLE_ROLES  # operators manage no users
    assert not any({Role.PARTICIPANT, Role.DEVICE} & roles for roles in ASSIGNABLE_ROLES.values())


def test_role_regency_and_cooperative_of_a_user_must_fit_together():
    cooperative = uuid.UUID(COOPERATIVE)
    assert user_shape(Role.PROVINCE_ADMIN, None, None) == "*"
    assert user_shape(Role.OPERATOR, "35.17", None) == "35.17"
    assert user_shape(Role.COOPERATIVE_OPERATOR, "35.17", cooperative) == "35.17"
    for role, regency, coop in [
        (Role.OPERATOR, None, None),  # a regency user needs a regency
        (Role.OPERATOR, "*", None),
        (Role.COOPERATIVE_OPERATOR, "35.17", None),  # a cooperative operator needs a cooperative
        (Role.OPERATOR, "35.17", cooperative),  # and nobody else has one
        (Role.PARTICIPANT, "35.17", None),  # not a user's role
        (Role.DEVICE, "35.17", None),
    ]:
        with pytest.raises(Problem) as refused:
            user_shape(role, regency, coop)
        assert refused.value.code == "validation_failed"


def test_a_device_scope_limits_by_each_limit_it_has():
    venue, session, other = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    week = DeviceScope(valid_from=date(2027, 1, 11), valid_until=date(2027, 1, 15))
    assert week.covers(date(2027, 1, 11)) and week.covers(date(2027, 1, 15))
    assert not week.covers(date(2027, 1, 10)) and not week.covers(date(2027, 1, 16))
    assert week.allows(venue_id=other, session_id=other)  # dates only: any venue, any session
    at_venue = DeviceScope(venue_id=venue)
    assert at_venue.covers(date(2030, 1, 1))
    assert at_venue.allows(venue_id=venue) and at_venue.allows(venue_id=venue, session_id=other)
    assert not at_venue.allows(venue_id=other) and not at_venue.allows(session_id=session)
    one_session = DeviceScope(venue_id=venue, session_id=session)
    assert one_session.allows(venue_id=venue, session_id=session)
    assert not one_session.allows(venue_id=venue, session_id=other)


@pytest.mark.parametrize("claim, value", [("sub", "u1"), ("coop", "not-a-cooperative-id")])
def test_a_well_signed_token_whose_ids_are_not_ids_is_refused(claim, value):
    s = settings()
    claims = claims_for(s, role="cooperative_operator") | {"coop": str(uuid.uuid4()), claim: value}
    with pytest.raises(InvalidToken):
        verify_access_token(s, jwt.encode(claims, s.signing_key, algorithm="EdDSA"))


def _pem(key: Ed25519PrivateKey) -> str:
    return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()


def test_a_verified_token_is_remembered_only_for_its_key_and_its_lifetime(monkeypatch: pytest.MonkeyPatch):
    from bimtek_gateway import identity

    s = settings()
    token = forged(s, exp=datetime.now(timezone.utc) + timedelta(seconds=30))
    checked: list[str] = []
    verify = identity._verify_access_token
    monkeypatch.setattr(identity, "_verify_access_token", lambda s, t: checked.append(t) or verify(s, t))
    first = verify_access_token(s, token)
    assert verify_access_token(s, token) == first and checked == [token]  # the signature is checked once

    other = settings(jwt_private_key=_pem(Ed25519PrivateKey.generate()))
    with pytest.raises(InvalidToken):  # another key: verified afresh, and refused
        verify_access_token(other, token)

    later = first["exp"] + identity.CLOCK_LEEWAY.total_seconds() + 1
    monkeypatch.setattr(identity.time, "time", lambda: later)
    with pytest.raises(InvalidToken):  # remembered, but expired all the same
        verify_access_token(s, token)
