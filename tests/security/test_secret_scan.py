"""scripts/scan_secrets.py (run by `make lint`): it finds what a leaked secret looks like, lets the
documented fake values through. (`make lint` runs it over the tracked files.)"""
from __future__ import annotations

import base64
import secrets

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from scripts import scan_secrets


def rules(text: str) -> list[str]:
    return [finding.rule for finding in scan_secrets.scan_text("planted.py", text)]


def test_real_looking_secrets_are_found_without_printing_them() -> None:
    key = Ed25519PrivateKey.generate().private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    one_line_key = key.replace("\n", "\\n")
    random_base64 = base64.b64encode(secrets.token_bytes(32)).decode()
    planted = {
        f'JWT_PRIVATE_KEY = """{key}"""': "private key (PRIVATE KEY)",
        f'JWT_PRIVATE_KEY="{one_line_key}"': "private key (PRIVATE KEY)",
        "aws = 'AKIA" + "Q3EGRSXKZ4T7LB2M'": "aws_access_key_id",
        "token: ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8": "github_token",
        "AMQP_URI=amqp://bimtek:" + "Xq9vL2mT7rK4@rabbitmq:5672/": "password in a URL",
        f"NIK_ENCRYPTION_KEY={random_base64}": "high-entropy value assigned to a secret's name",
        f'CERTIFICATE_SIGNING_KEYS = "1:{random_base64}"': "high-entropy value assigned to a secret's name",
        "refresh = 'bkr_" + secrets.token_urlsafe(32) + "'": "bimtek_token",
    }
    for text, rule in planted.items():
        assert rule in rules(text), text[:40]
        assert all(text not in str(finding) for finding in scan_secrets.scan_text("planted.py", text))


def test_documented_fake_values_pass() -> None:
    fakes = [
        'DEVELOPMENT_NIK_ENCRYPTION_KEY = "ZGV2ZWxvcG1lbnQtb25seS1uaWstZW5jcnlwdGlvbiE="',  # development-only-...
        "QR_SIGNING_KEYS=1:ZGV2ZWxvcG1lbnQtb25seS1xci1zaWduaW5nLWtleSE=",
        'amqp_uri: str = "amqp://guest:guest@127.0.0.1:5672/"',
        'return f"amqp://{user}:{password}@{host}:{port}/"',
        "RABBITMQ_URI=amqp://bimtek:${RABBITMQ_PASSWORD}@rabbitmq:5672/",
        'pg_dump "postgresql://bimtek:...@HOST:5432/bimtek_registration"',
        "postgresql://bimtek:<password>@db/bimtek and postgresql://bimtek:PASSWORD@db/bimtek",
        'PASSWORD = "kata-sandi-yang-panjang"',
        'TOKEN_ENVIRONMENT_VARIABLE = "BENCH_ACCESS_TOKEN"',
    ]
    for text in fakes:
        assert rules(text) == [], text

