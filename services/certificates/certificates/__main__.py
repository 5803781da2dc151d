"""``python -m certificates``: run the certificates service."""
from bimtek_shared.service_main import main

main("certificates.service:CertificatesService", "certificates.settings:CertificatesSettings")
