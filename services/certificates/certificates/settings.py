from bimtek_shared.nameko_ext.runtime import ServiceSettings


class CertificatesSettings(ServiceSettings):
    database_url: str = "postgresql://postgres@127.0.0.1:5432/bimtek_certificates"
    ops_http_port: int = 8103
