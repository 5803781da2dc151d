from __future__ import annotations

import logging
import psycopg2.extensions
from nameko.extensions import DependencyProvider
from sqlalchemy import MetaData, create_engine
from sqlalchemy.orm import sessionmaker

from ..contracts.catalogue import CATALOGUE
from ..messaging.relay import OutboxRelay
from ..persistence.database import sync_url
from ..persistence.messaging_tables import MessagingTables
from ..persistence.unit_of_work import UnitOfWork
from ..sql_pool import ping_connections_idle_for

log = logging.getLogger(__name__)


def assert_cooperative_driver() -> None:
    """Fail loudly if psycopg2 would block the eventlet hub (every greenthread would stall on a query)."""
    if psycopg2.extensions.get_wait_callback() is None:
        raise RuntimeError(
            "psycopg2 is not cooperative: the service must start under eventlet's monkey patching "
            "(python -m <service>, or `nameko run`), which installs psycopg2's wait callback"
        )


class Database(DependencyProvider):
    """Gives each worker a fresh unit of work on the service's database.

    The engine's pool holds one connection per worker (plus the relay's), so no worker waits for
    a connection. If the service produces catalogued events, this also runs the outbox relay.
    """

    def __init__(self, metadata: MetaData, unit_of_work: type[UnitOfWork] = UnitOfWork) -> None:
        self.metadata = metadata
        self.unit_of_work = unit_of_work
        self.engine = None
        self.relay: OutboxRelay | None = None
        self._stopping = False

    def setup(self) -> None:
        assert_cooperative_driver()
        config = self.container.config
        self.engine = create_engine(
            sync_url(config["DATABASE_URL"]),
            pool_size=self.container.max_workers + 2,
            max_overflow=2,
            pool_recycle=1800,
            # Many rows in one statement: handlers insert a whole batch of events at once.
            executemany_mode="values_plus_batch",
        )
        ping_connections_idle_for(self.engine)
        self.session_factory = sessionmaker(self.engine, expire_on_commit=False)
        self.messaging = MessagingTables(
            outbox=self.metadata.tables["outbox"],
            processed_events=self.metadata.tables["processed_events"],
        )
        self._uow_dependencies = self.unit_of_work.dependencies_from_config(config)
        service = self.container.service_name
        if any(spec.producer == service for spec in CATALOGUE):
            self.relay = OutboxRelay(service, self.engine, self.messaging, config["AMQP_URI"])

    def start(self) -> None:
        if self.relay is not None:
            self.container.spawn_managed_thread(
                lambda: self.relay.run(should_stop=lambda: self._stopping), identifier="outbox_relay"
            )

    def stop(self) -> None:
        self._stopping = True
        if self.engine is not None:
            self.engine.dispose()

    def kill(self) -> None:
        self.stop()

    def get_dependency(self, worker_ctx) -> UnitOfWork:
        correlation_id = str(worker_ctx.data.get("correlation_id") or worker_ctx.call_id)
        return self.unit_of_work(
            self.session_factory, self.messaging, correlation_id=correlation_id, **self._uow_dependencies
        )
