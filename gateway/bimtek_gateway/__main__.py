"""``python -m gateway``: serve the API with uvicorn."""
import uvicorn

from bimtek_shared.observability.logs import configure_logging

from .app import create_app
from .settings import GatewaySettings

if __name__ == "__main__":
    settings = GatewaySettings()
    configure_logging("gateway", settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=settings.gateway_host,
        port=settings.gateway_port,
        log_config=None,  # keep our format
        access_log=settings.access_log,  # off by default: paths may hold ids; HTTP metrics count requests
        proxy_headers=False,  # X-Forwarded-For is believed from TRUSTED_PROXIES only (rate_limits.client_ip)
    )
