from alembic import context

from bimtek_shared.persistence.alembic_env import run_migrations
from scheduling.adapters.orm import metadata
from scheduling.settings import SchedulingSettings

run_migrations(context, metadata, SchedulingSettings().database_url)
