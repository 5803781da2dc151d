from alembic import context

from bimtek_shared.persistence.alembic_env import run_migrations
from bimtek_gateway.db import metadata
from bimtek_gateway.settings import GatewaySettings

run_migrations(context, metadata, GatewaySettings().database_url)
