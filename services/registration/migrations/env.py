from alembic import context

from bimtek_shared.persistence.alembic_env import run_migrations
from registration.adapters.orm import metadata
from registration.settings import RegistrationSettings

run_migrations(context, metadata, RegistrationSettings().database_url)
