from bimtek_shared.service_settings import ServiceSettings


class CertificatesSettings(ServiceSettings):
    database_url: str = "postgresql://postgres@127.0.0.1:5432/bimtek_certificates"
    ops_http_port: int = 8103
