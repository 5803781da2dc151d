from typing import Any

from bimtek_shared.service_settings import ServiceSettings


class SchedulingSettings(ServiceSettings):
    database_url: str = "postgresql://postgres@127.0.0.1:5432/bimtek_scheduling"
    ops_http_port: int = 8102
    cpu_workers: int | None = None  # planner processes (CpuPool); None: one per core

    def nameko_config(self) -> dict[str, Any]:
        return {**super().nameko_config(), "CPU_WORKERS": self.cpu_workers}
