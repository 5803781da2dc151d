"""Gateway configuration, from environment variables only (documented in README.md)."""
from __future__ import annotations

from functools import cached_property
from typing import Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Development-only signing key; refused outside ENVIRONMENT=development.
DEVELOPMENT_JWT_PRIVATE_KEY = """-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIIJjujTKCBHpQuyHlqWynrK3etKqGZccZ8Ri0teYFBxK
-----END PRIVATE KEY-----
"""


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore")

    environment: Literal["development", "staging", "production"] = "development"
    amqp_uri: str = "amqp://guest:guest@127.0.0.1:5672/"
    database_url: str = "postgresql://postgres@127.0.0.1:5432/bimtek_gateway"
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8000
    jwt_private_key: str = DEVELOPMENT_JWT_PRIVATE_KEY
    jwt_issuer: str = "bimtek-kdmp"
    jwt_audience: str = "bimtek-kdmp-api"
    access_token_minutes: int = Field(default=15, ge=1, le=15)
    rpc_timeout_seconds: float = Field(default=10.0, gt=0)
    cors_allow_origins: str = ""
    max_body_bytes: int = 1_048_576
    max_import_bytes: int = 16_777_216  # bulk registrations: about 20,000 rows
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _no_default_secrets_outside_development(self) -> "GatewaySettings":
        if self.environment != "development":
            insecure = []
            if self.jwt_private_key.strip() == DEVELOPMENT_JWT_PRIVATE_KEY.strip():
                insecure.append("JWT_PRIVATE_KEY")
            if "guest:guest@" in self.amqp_uri:
                insecure.append("AMQP_URI")
            if insecure:
                raise ValueError(
                    f"{', '.join(insecure)} still use development defaults; "
                    f"set real secrets when ENVIRONMENT={self.environment}"
                )
        return self

    @cached_property
    def signing_key(self) -> Ed25519PrivateKey:
        key = load_pem_private_key(self.jwt_private_key.encode(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("JWT_PRIVATE_KEY must be an Ed25519 private key (EdDSA)")
        return key

    @property
    def async_database_url(self) -> str:
        return self.database_url.replace("postgresql://", "postgresql+asyncpg://", 1)

    @property
    def cors_origins(self) -> list[str]:
        return [o.strip() for o in self.cors_allow_origins.split(",") if o.strip()]
