from datetime import datetime, timedelta, timezone

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from bimtek_gateway.identity import InvalidToken, issue_access_token, verify_access_token
from bimtek_gateway.settings import GatewaySettings


def settings(**overrides) -> GatewaySettings:
    return GatewaySettings(**overrides)


def test_a_fresh_token_verifies_and_lives_at_most_fifteen_minutes():
    s = settings()
    token, lifetime = issue_access_token(s, user_id="u1", role="operator", regency="35.17")
    claims = verify_access_token(s, token)
    assert claims["sub"] == "u1" and claims["role"] == "operator" and claims["regency"] == "35.17"
    assert lifetime <= 15 * 60
    assert jwt.get_unverified_header(token)["alg"] == "EdDSA"


def forged(s: GatewaySettings, **claim_overrides) -> str:
    now = datetime.now(timezone.utc)
    claims = {"iss": s.jwt_issuer, "aud": s.jwt_audience, "sub": "u1", "role": "province_admin", "regency": "*",
              "iat": now, "exp": now + timedelta(minutes=5)} | claim_overrides
    return jwt.encode(claims, s.signing_key, algorithm="EdDSA")


@pytest.mark.parametrize("overrides", [
    {"exp": datetime.now(timezone.utc) - timedelta(seconds=1)},
    {"aud": "someone-else"},
    {"iss": "someone-else"},
])
def test_expired_or_misdirected_tokens_are_refused(overrides):
    s = settings()
    with pytest.raises(InvalidToken):
        verify_access_token(s, forged(s, **overrides))


def test_tokens_signed_by_another_key_or_algorithm_are_refused():
    s = settings()
    other_key = Ed25519PrivateKey.generate()
    now = datetime.now(timezone.utc)
    claims = {"iss": s.jwt_issuer, "aud": s.jwt_audience, "sub": "u1", "iat": now, "exp": now + timedelta(minutes=5)}
    with pytest.raises(InvalidToken):
        verify_access_token(s, jwt.encode(claims, other_key, algorithm="EdDSA"))
    with pytest.raises(InvalidToken):
        verify_access_token(s, jwt.encode(claims, "a-shared-secret-of-enough-length!!", algorithm="HS256"))
    unsigned = jwt.encode(claims, None, algorithm="none")
    with pytest.raises(InvalidToken):
        verify_access_token(s, unsigned)


def test_tampered_claims_break_the_signature():
    s = settings()
    token, _ = issue_access_token(s, user_id="u1", role="operator", regency="35.17")
    header, payload, signature = token.split(".")
    tampered_payload = jwt.utils.base64url_encode(
        jwt.utils.base64url_decode(payload).replace(b'"operator"', b'"province_admin"')).decode()
    with pytest.raises(InvalidToken):
        verify_access_token(s, ".".join([header, tampered_payload, signature]))


def test_default_secrets_are_refused_outside_development():
    with pytest.raises(ValueError, match="JWT_PRIVATE_KEY"):
        settings(environment="production", amqp_uri="amqp://bimtek:s3cret@broker:5672/")
    key = Ed25519PrivateKey.generate().private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    with pytest.raises(ValueError, match="AMQP_URI"):
        settings(environment="production", jwt_private_key=key)
    assert settings(environment="production", jwt_private_key=key,
                    amqp_uri="amqp://bimtek:s3cret@broker:5672/").environment == "production"
