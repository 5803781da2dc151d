"""Start-up shared by every nameko service (see ``bimtek_shared.service_main``)."""
from __future__ import annotations

from ..observability.logs import configure_logging
from ..service_settings import ServiceSettings


def run_service(service_cls: type, settings: ServiceSettings) -> None:
    import eventlet.patcher

    if not eventlet.patcher.is_monkey_patched("socket"):
        raise RuntimeError("call eventlet.monkey_patch() before importing anything else")
    from nameko.cli.run import run  # imported late: nameko's CLI pulls in pkg_resources

    configure_logging(service_cls.name, settings.log_level)
    run([service_cls], settings.nameko_config())
