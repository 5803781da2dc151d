from __future__ import annotations

from typing import Any

from bimtek_shared.service_settings import ServiceSettings

# Development-only keys (base64 of 32 bytes); refused outside ENVIRONMENT=development.
DEVELOPMENT_NIK_ENCRYPTION_KEY = "ZGV2ZWxvcG1lbnQtb25seS1uaWstZW5jcnlwdGlvbiE="
DEVELOPMENT_NIK_LOOKUP_KEY = "ZGV2ZWxvcG1lbnQtb25seS1uaWstbG9va3VwLWtleSE="


class RegistrationSettings(ServiceSettings):
    database_url: str = "postgresql://postgres@127.0.0.1:5432/bimtek_registration"
    ops_http_port: int = 8101
    nik_encryption_key: str = DEVELOPMENT_NIK_ENCRYPTION_KEY
    nik_lookup_key: str = DEVELOPMENT_NIK_LOOKUP_KEY

    def insecure_defaults(self) -> list[str]:
        insecure = super().insecure_defaults()
        if self.nik_encryption_key == DEVELOPMENT_NIK_ENCRYPTION_KEY:
            insecure.append("NIK_ENCRYPTION_KEY")
        if self.nik_lookup_key == DEVELOPMENT_NIK_LOOKUP_KEY:
            insecure.append("NIK_LOOKUP_KEY")
        return insecure

    def nameko_config(self) -> dict[str, Any]:
        return {
            **super().nameko_config(),
            "NIK_ENCRYPTION_KEY": self.nik_encryption_key,
            "NIK_LOOKUP_KEY": self.nik_lookup_key,
        }
