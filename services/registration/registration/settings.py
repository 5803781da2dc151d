from __future__ import annotations

from typing import Any

from pydantic import Field, model_validator

from bimtek_shared.service_settings import ServiceSettings

from .adapters.nik_protector import NikProtector, parse_key_ring

# Development-only keys (base64 of 32 bytes); refused outside ENVIRONMENT=development.
DEVELOPMENT_NIK_ENCRYPTION_KEY = "ZGV2ZWxvcG1lbnQtb25seS1uaWstZW5jcnlwdGlvbiE="
DEVELOPMENT_NIK_LOOKUP_KEY = "ZGV2ZWxvcG1lbnQtb25seS1uaWstbG9va3VwLWtleSE="


class RegistrationSettings(ServiceSettings):
    database_url: str = "postgresql://postgres@127.0.0.1:5432/bimtek_registration"
    ops_http_port: int = 8101
    nik_encryption_key: str = DEVELOPMENT_NIK_ENCRYPTION_KEY
    # The key ring for rotation: "id:base64key,..." (ids 1-255) and the id that seals new NIKs.
    # Without it, NIK_ENCRYPTION_KEY is the ring's one key, with id 1.
    nik_keys: str = ""
    nik_active_key_id: int | None = None
    nik_lookup_key: str = DEVELOPMENT_NIK_LOOKUP_KEY
    province_code: str = Field(default="35", pattern=r"^\d{2}$")  # the deployment's province

    @model_validator(mode="after")
    def _nik_keys_make_a_ring(self) -> "RegistrationSettings":
        NikProtector.from_config(self.nameko_config())  # refuses a malformed ring at start-up
        return self

    def insecure_defaults(self) -> list[str]:
        insecure = super().insecure_defaults()
        if self.nik_keys and DEVELOPMENT_NIK_ENCRYPTION_KEY in parse_key_ring(self.nik_keys).values():
            insecure.append("NIK_KEYS")
        elif not self.nik_keys and self.nik_encryption_key == DEVELOPMENT_NIK_ENCRYPTION_KEY:
            insecure.append("NIK_ENCRYPTION_KEY")
        if self.nik_lookup_key == DEVELOPMENT_NIK_LOOKUP_KEY:
            insecure.append("NIK_LOOKUP_KEY")
        return insecure

    def nameko_config(self) -> dict[str, Any]:
        return {
            **super().nameko_config(),
            "NIK_ENCRYPTION_KEY": self.nik_encryption_key,
            "NIK_KEYS": self.nik_keys,
            "NIK_ACTIVE_KEY_ID": self.nik_active_key_id,
            "NIK_LOOKUP_KEY": self.nik_lookup_key,
            "PROVINCE_CODE": self.province_code,
        }
