"""Gateway configuration, from environment variables only (documented in README.md)."""
from __future__ import annotations

from functools import cached_property
from ipaddress import IPv4Network, IPv6Network, ip_network
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


RATE_PATTERN = r"^[1-9][0-9]*/(second|minute|hour|day)$"


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
    refresh_token_days: int = Field(default=30, ge=1, le=365)
    rpc_timeout_seconds: float = Field(default=10.0, gt=0)
    # Planning or publishing a whole province in one request (routers/plans_together.py) takes
    # seconds: 5 to 10 for Jawa Timur's 38 regencies on 2 cores. It may outlast an Idempotency-Key
    # claim: run twice, these writes answer the same (a second preview, or the published plans).
    plan_together_timeout_seconds: float = Field(default=45.0, gt=0)
    cors_allow_origins: str = ""
    max_body_bytes: int = 1_048_576
    max_import_bytes: int = 16_777_216  # bulk registrations: about 20,000 rows
    # Idempotency-Key records (idempotency.py): kept a day; a claim lapses if its request's replica
    # died, so it must outlast the longest write (a few RPC calls).
    idempotency_ttl_seconds: int = Field(default=86_400, ge=1)
    idempotency_lock_seconds: float = Field(default=60.0, gt=0)
    # Rate limits (rate_limits.py), "<count>/<second|minute|hour|day>", shared by replicas in Redis.
    redis_url: str = "redis://127.0.0.1:6379/0"
    # A whole training class signs in from one venue network, so the per-IP limit is the looser one.
    rate_limit_sign_in_per_ip: str = Field(default="60/minute", pattern=RATE_PATTERN)
    rate_limit_sign_in_per_account: str = Field(default="10/minute", pattern=RATE_PATTERN)  # username or code
    rate_limit_imports_per_user: str = Field(default="10/hour", pattern=RATE_PATTERN)
    rate_limit_public_per_ip: str = Field(default="60/minute", pattern=RATE_PATTERN)
    # Addresses or networks (comma-separated) of our reverse proxies: only their X-Forwarded-For is believed.
    trusted_proxies: str = ""
    log_level: str = "INFO"
    # Off in service: paths hold ids. On for audits (tests/support/pdp_audit.py reads every URL from it).
    access_log: bool = False

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

    @model_validator(mode="after")
    def _claims_outlast_requests(self) -> "GatewaySettings":
        if self.idempotency_lock_seconds <= self.rpc_timeout_seconds:
            raise ValueError("IDEMPOTENCY_LOCK_SECONDS must be longer than RPC_TIMEOUT_SECONDS")
        self.trusted_proxy_networks  # noqa: B018 -- a malformed TRUSTED_PROXIES stops the start-up
        return self

    @cached_property
    def trusted_proxy_networks(self) -> tuple[IPv4Network | IPv6Network, ...]:
        return tuple(ip_network(entry.strip(), strict=False) for entry in self.trusted_proxies.split(",")
                     if entry.strip())

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
