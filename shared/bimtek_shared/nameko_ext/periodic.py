"""``@periodic``: nameko's timer entrypoint with its interval read from the service's config, so a
deployment (or a test wanting fresh figures at once) sets it without touching code."""
from __future__ import annotations

from nameko.timer import Timer


class ConfiguredTimer(Timer):
    def __init__(self, config_key: str, default_seconds: float, **kwargs) -> None:
        super().__init__(interval=default_seconds, **kwargs)
        self.config_key = config_key

    def setup(self) -> None:
        super().setup()
        self.interval = float(self.container.config.get(self.config_key) or self.interval)


periodic = ConfiguredTimer.decorator
