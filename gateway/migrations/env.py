from alembic import context

from bimtek_shared.persistence.alembic_env import run_migrations
from gateway.db import metadata
from gateway.settings import GatewaySettings

run_migrations(context, metadata, GatewaySettings().database_url)
