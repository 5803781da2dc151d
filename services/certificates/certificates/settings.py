from typing import Any

from pydantic import model_validator

from bimtek_shared.service_settings import ServiceSettings

from .adapters.signing import CertificateSigner
from .domain.certificates import DEFAULT_NUMBER_FORMAT, check_number_format
from .service_layer.downloads import parse_signatories

# Development-only certificate signing key (key id 1: base64 of a 32-byte Ed25519 seed); refused
# outside ENVIRONMENT=development.
DEVELOPMENT_CERTIFICATE_SIGNING_KEYS = "1:ZGV2ZWxvcG1lbnQtb25seS1jZXJ0aWZpY2F0ZS1rZXk="


class CertificatesSettings(ServiceSettings):
    database_url: str = "postgresql://postgres@127.0.0.1:5432/bimtek_certificates"
    ops_http_port: int = 8103
    # The signing key ring "id:base64seed,..." (ids 1-255) and the id that signs new certificates;
    # keep retired keys in the ring so the certificates they signed keep verifying.
    certificate_signing_keys: str = DEVELOPMENT_CERTIFICATE_SIGNING_KEYS
    certificate_active_key_id: int | None = None
    certificate_number_format: str = DEFAULT_NUMBER_FORMAT
    # Where the public reaches the gateway: the QR code's verification address starts with it.
    certificate_public_base_url: str = "http://127.0.0.1:8000"
    # Who signs a regency's certificates, printed left to right: JSON, a regency code (or "*" for
    # any other) to one to three {"name", "title", "employee_number"?} (service_layer/downloads.py).
    certificate_signatories: str = "{}"

    @model_validator(mode="after")
    def _certificate_settings_work(self) -> "CertificatesSettings":
        CertificateSigner.from_config(self.nameko_config())  # refuses a malformed ring at start-up
        check_number_format(self.certificate_number_format)
        parse_signatories(self.certificate_signatories)  # a malformed list fails at start-up, not on a download
        return self

    def insecure_defaults(self) -> list[str]:
        insecure = super().insecure_defaults()
        if DEVELOPMENT_CERTIFICATE_SIGNING_KEYS.partition(":")[2] in self.certificate_signing_keys:
            insecure.append("CERTIFICATE_SIGNING_KEYS")
        return insecure

    def nameko_config(self) -> dict[str, Any]:
        return {**super().nameko_config(),
                "CERTIFICATE_SIGNING_KEYS": self.certificate_signing_keys,
                "CERTIFICATE_ACTIVE_KEY_ID": self.certificate_active_key_id,
                "CERTIFICATE_NUMBER_FORMAT": self.certificate_number_format,
                "CERTIFICATE_PUBLIC_BASE_URL": self.certificate_public_base_url,
                "CERTIFICATE_SIGNATORIES": self.certificate_signatories}
