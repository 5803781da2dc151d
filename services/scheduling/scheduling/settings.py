from bimtek_shared.service_settings import ServiceSettings


class SchedulingSettings(ServiceSettings):
    database_url: str = "postgresql://postgres@127.0.0.1:5432/bimtek_scheduling"
    ops_http_port: int = 8102
