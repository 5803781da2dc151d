from alembic import context

from bimtek_shared.persistence.alembic_env import run_migrations
from certificates.adapters.orm import metadata
from certificates.settings import CertificatesSettings

run_migrations(context, metadata, CertificatesSettings().database_url)
