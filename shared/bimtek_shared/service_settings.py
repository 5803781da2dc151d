"""Settings every nameko service reads, from environment variables only (README.md, "Configuration").

Kept apart from the nameko extensions so that migrations and tools can read settings without
importing nameko or eventlet.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from .messaging.topology import DEFAULT_RETRY_DELAYS_MS

DEVELOPMENT_BROKER_CREDENTIALS = "guest:guest@"


class ServiceSettings(BaseSettings):
    """Environment variables every service reads (see README.md, "Configuration")."""

    model_config = SettingsConfigDict(extra="ignore")

    environment: Literal["development", "staging", "production"] = "development"
    amqp_uri: str = "amqp://guest:guest@127.0.0.1:5672/"
    database_url: str
    ops_http_host: str = "127.0.0.1"
    ops_http_port: int
    max_workers: int = 10
    cpu_workers: int | None = None  # CpuPool processes (import files, planning, PDFs); None: one per core
    retry_delays_ms: list[int] = list(DEFAULT_RETRY_DELAYS_MS)
    log_level: str = "INFO"
    progress_refresh_seconds: float = 15.0  # how often the business progress gauges are recounted

    @model_validator(mode="after")
    def _no_default_secrets_outside_development(self) -> "ServiceSettings":
        if self.environment != "development":
            insecure = self.insecure_defaults()
            if insecure:
                raise ValueError(
                    f"{', '.join(insecure)} still use development defaults; "
                    f"set real secrets when ENVIRONMENT={self.environment}"
                )
        return self

    def insecure_defaults(self) -> list[str]:
        """Names of settings still holding a development default; services extend this."""
        return ["AMQP_URI"] if DEVELOPMENT_BROKER_CREDENTIALS in self.amqp_uri else []

    def nameko_config(self) -> dict[str, Any]:
        return {
            "AMQP_URI": self.amqp_uri,
            "DATABASE_URL": self.database_url,
            "OPS_HTTP_HOST": self.ops_http_host,
            "OPS_HTTP_PORT": self.ops_http_port,
            "RETRY_DELAYS_MS": list(self.retry_delays_ms),
            "max_workers": self.max_workers,
            "CPU_WORKERS": self.cpu_workers,
            "serializer": "json",
            "HEARTBEAT": 30,
            "PROGRESS_REFRESH_SECONDS": self.progress_refresh_seconds,
        }
