from typing import Any

from pydantic import Field, model_validator

from bimtek_shared.service_settings import ServiceSettings

from .adapters.invitation_tokens import InvitationSigner

# Development-only QR signing key (key id 1: base64 of a 32-byte Ed25519 seed); refused outside
# ENVIRONMENT=development.
DEVELOPMENT_QR_SIGNING_KEYS = "1:ZGV2ZWxvcG1lbnQtb25seS1xci1zaWduaW5nLWtleSE="


class SchedulingSettings(ServiceSettings):
    database_url: str = "postgresql://postgres@127.0.0.1:5432/bimtek_scheduling"
    ops_http_port: int = 8102
    # Invitation QR codes: the key ring "id:base64seed,..." (ids 1-255) and the id that signs new ones.
    qr_signing_keys: str = DEVELOPMENT_QR_SIGNING_KEYS
    qr_active_key_id: int | None = None
    # How often check-in scans of sessions closed long ago are deleted (service_layer/attendance.py).
    scan_purge_seconds: float = Field(default=3600, gt=0)

    @model_validator(mode="after")
    def _qr_keys_make_a_ring(self) -> "SchedulingSettings":
        InvitationSigner.from_config(self.nameko_config())  # refuses a malformed ring at start-up
        return self

    def insecure_defaults(self) -> list[str]:
        insecure = super().insecure_defaults()
        development_key = DEVELOPMENT_QR_SIGNING_KEYS.partition(":")[2]
        if development_key in self.qr_signing_keys:
            insecure.append("QR_SIGNING_KEYS")
        return insecure

    def nameko_config(self) -> dict[str, Any]:
        return {**super().nameko_config(),
                "QR_SIGNING_KEYS": self.qr_signing_keys, "QR_ACTIVE_KEY_ID": self.qr_active_key_id,
                "SCAN_PURGE_SECONDS": self.scan_purge_seconds}
