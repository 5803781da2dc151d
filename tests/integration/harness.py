"""What the integration tests drive: a whole ``LocalStack`` on private servers, and helpers around it.

No pytest in here (the fixtures are in ``conftest.py``), no mocks anywhere: the services, the
gateway, RabbitMQ and PostgreSQL are real processes. Tests reach them through the gateway's HTTP
API, through the registration use case called in-process against the registration database (the
same function nameko runs), and by reading the services' databases and ops endpoints.
"""
from __future__ import annotations

import itertools
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import psycopg2
from kombu import Connection
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from bimtek_shared.contracts.caller import Caller
from bimtek_shared.messaging.topology import consumer_queue_name, dead_letter_queue_name
from bimtek_shared.ops.local_stack import UNITS, LocalStack
from bimtek_shared.persistence.database import sync_url
from bimtek_shared.persistence.messaging_tables import MessagingTables
from tests.support.servers import free_port

REGENCY = "35.17"  # Kabupaten Jombang
KECAMATAN = "09"
CONSUMERS = {
    "scheduling": "scheduling.handle_participant_registered",
    "certificates": "certificates.handle_participant_registered",
}
# What each consumer keeps of a participant.
CONSUMER_TABLES = {"scheduling": "participants", "certificates": "roster"}
RETRY_DELAYS_MS = [200, 400]
RPC_TIMEOUT_SECONDS = 2.0

T = TypeVar("T")


def wait_until(predicate: Callable[[], T], timeout: float, interval: float = 0.1,
               message: str | Callable[[], str] = "") -> T:
    """Poll ``predicate`` until it returns something truthy; that value is returned."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            detail = message() if callable(message) else message
            raise AssertionError(f"not true after {timeout:.0f}s: {detail or predicate}")
        time.sleep(interval)


# --------------------------------------------------------------------------- NIKs


class NikFactory:
    """Valid, unique synthetic NIKs: ``3517 09 DDMMYY SSSS``, consistent with sex and birth date.

    Thread-safe. Unique within one process (one test session): a counter walks serials 0001-9999
    and then the next birth date.
    """

    def __init__(self, first_birth: date = date(1960, 1, 1)) -> None:
        self._counter = itertools.count()
        self._lock = threading.Lock()
        self._first_birth = first_birth

    def new(self, female: bool | None = None) -> dict[str, str]:
        with self._lock:
            n = next(self._counter)
        birth = self._first_birth + timedelta(days=n // 9999)
        serial = n % 9999 + 1
        female = bool(n % 2) if female is None else female
        day = birth.day + (40 if female else 0)
        nik = f"3517{KECAMATAN}{day:02d}{birth.month:02d}{birth.year % 100:02d}{serial:04d}"
        return {"nik": nik, "sex": "P" if female else "L", "birth_date": birth.isoformat()}


NIKS = NikFactory()


def participant_body(**overrides: Any) -> dict[str, Any]:
    """A valid body for ``POST /api/v1/participants`` with a fresh NIK."""
    body = {
        **NIKS.new(),
        "full_name": f"Peserta Uji {secrets.token_hex(3)}",
        "position": "anggota_pengurus",
        "phone": "0812-3300-1234",
    }
    body.update(overrides)
    return body


# --------------------------------------------------------------------------- the system


@dataclass
class System:
    """A running ``LocalStack`` plus an authenticated API client and helpers."""

    stack: LocalStack
    api: httpx.Client
    username: str
    password: str

    # -- building it ------------------------------------------------------------------------
    @classmethod
    def up(
        cls, *, state_dir: Path, amqp_uri: str, postgres_url: str, database_prefix: str,
        extra_env: dict[str, str] | None = None,
    ) -> "System":
        ports = {unit.name: free_port() for unit in UNITS}
        stack = LocalStack(
            state_dir=state_dir,
            amqp_uri=amqp_uri,
            postgres_url=postgres_url.rstrip("/"),
            database_prefix=database_prefix,
            ports=ports,
            extra_env={
                # Certificates' QR codes and verification links point at this stack's gateway.
                "CERTIFICATE_PUBLIC_BASE_URL": f"http://127.0.0.1:{ports['gateway']}",
                # Who signs every regency's certificates here (test_certificate_downloads.py reads them).
                "CERTIFICATE_SIGNATORIES": json.dumps({"*": [
                    {"name": "Dr. H. Ahmad Fauzi, M.Si.", "title": "Kepala Dinas Koperasi dan Usaha Mikro",
                     "employee_number": "19700101 199503 1 001"}]}),
                "RETRY_DELAYS_MS": json.dumps(RETRY_DELAYS_MS),
                "RPC_TIMEOUT_SECONDS": str(RPC_TIMEOUT_SECONDS),
                "ENVIRONMENT": "development",
                "LOG_LEVEL": "INFO",
                # Every test shares this stack from one address: production limits would refuse
                # them (gateway/tests/test_api_manners.py tests the limits on a stack of its own).
                "RATE_LIMIT_SIGN_IN_PER_IP": "10000/minute",
                "RATE_LIMIT_SIGN_IN_PER_ACCOUNT": "10000/minute",
                "RATE_LIMIT_IMPORTS_PER_USER": "10000/minute",
                "RATE_LIMIT_PUBLIC_PER_IP": "10000/minute",
                # Progress gauges recounted every 2 s (15 s by default): test_prometheus.py reads them.
                "PROGRESS_REFRESH_SECONDS": "2",
                **(extra_env or {}),
            },
        )
        try:
            stack.up()
            username, password = f"operator.{secrets.token_hex(4)}", secrets.token_urlsafe(18)
            subprocess.run(
                [sys.executable, "-m", f"{_unit('gateway').module}.cli", "create-user", username, "--role", "operator",
                 "--regency", REGENCY],
                env={**stack.env_for(_unit("gateway")), "BIMTEK_PASSWORD": password},
                check=True, stdout=subprocess.DEVNULL, cwd=Path(__file__).resolve().parents[2] / "gateway",
            )
            api = httpx.Client(base_url=stack.gateway_url, timeout=15)
            system = cls(stack=stack, api=api, username=username, password=password)
            system.sign_in()
            return system
        except BaseException:
            stack.down()
            raise

    def sign_in(self) -> None:
        response = self.api.post("/api/v1/auth/token", json={"username": self.username, "password": self.password})
        response.raise_for_status()
        self.api.headers["Authorization"] = f"Bearer {response.json()['access_token']}"

    def gateway_settings(self) -> Any:
        """The running gateway's settings (its signing key above all), to mint tokens as it does."""
        from bimtek_gateway.settings import GatewaySettings

        env = self.stack.env_for(_unit("gateway"))
        return GatewaySettings(**{name: env[name.upper()] for name in GatewaySettings.model_fields
                                  if name.upper() in env})

    def bearer(self, role: Any, regency: str, *, user: str | None = None,
               cooperative: str | None = None) -> dict[str, str]:
        """An Authorization header with an access token the running gateway accepts, as it would
        issue to ``role`` of ``regency`` (a participant's token for the participant role)."""
        from bimtek_gateway.identity import Role, SubjectKind, issue_access_token

        kind = SubjectKind.PARTICIPANT if role is Role.PARTICIPANT else SubjectKind.USER
        token, _ = issue_access_token(self.gateway_settings(), user_id=user or str(uuid.uuid4()), role=role.value,
                                      regency=regency, kind=kind, cooperative=cooperative)
        return {"Authorization": f"Bearer {token}"}

    def close(self) -> None:
        """``LocalStack.down()``, but the units stop side by side (a nameko service takes seconds)."""
        try:
            self.api.close()
        finally:
            self.ensure_not_paused()
            with ThreadPoolExecutor(len(UNITS)) as pool:
                list(pool.map(self.stack.stop, [unit.name for unit in UNITS]))
            self.stack.down()  # a no-op by now; kept so the stack's own teardown has the last word

    def ensure_not_paused(self) -> None:
        for unit in UNITS:
            pid = self.stack.pid(unit.name)
            if pid is not None:
                try:
                    os.kill(pid, signal.SIGCONT)
                except ProcessLookupError:
                    pass

    # -- processes --------------------------------------------------------------------------
    def restart(self, unit: str) -> None:
        self.stack.start(unit)
        self.stack.wait_ready(unit)

    def ensure_running(self) -> None:
        """Start whatever a test left stopped (or SIGSTOPped), and wait until all are ready."""
        self.ensure_not_paused()  # SIGCONT is harmless to a running process
        for unit in UNITS:
            self.stack.start(unit.name)
        for unit in UNITS:
            self.stack.wait_ready(unit.name)

    def log(self, unit: str) -> str:
        try:
            return self.stack.log_path(unit).read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def metrics(self, unit: str) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.stack.ports[unit]}/metrics", timeout=5) as response:
            return response.read().decode()

    # -- databases --------------------------------------------------------------------------
    def dsn(self, unit: str) -> str:
        return self.stack.database_url(unit)

    def query(self, unit: str, sql: str, params: Iterable[Any] | dict[str, Any] | None = None) -> list[tuple]:
        conn = psycopg2.connect(self.dsn(unit))
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(sql, params)
                return cur.fetchall()
        finally:
            conn.close()

    def count(self, unit: str, table: str, where: str = "TRUE", params: Any = None) -> int:
        return int(self.query(unit, f"SELECT count(*) FROM {table} WHERE {where}", params)[0][0])

    def outbox_state(self, participant_ids: list[str]) -> tuple[int, int]:
        """(rows, published rows) of the registration outbox for these participants."""
        total, published = self.query(
            "registration",
            "SELECT count(*), count(published_at) FROM outbox WHERE aggregate_id = ANY(%s)",
            (list(participant_ids),),
        )[0]
        return int(total), int(published)

    def event_ids_of(self, participant_ids: list[str]) -> list[str]:
        rows = self.query("registration", "SELECT event_id::text FROM outbox WHERE aggregate_id = ANY(%s)",
                          (list(participant_ids),))
        return [r[0] for r in rows]

    def consumer_counts(self, consumer_unit: str, participant_ids: list[str], event_ids: list[str]) -> tuple[int, int]:
        """(rows in the consumer's table, its processed_events rows) for these participants/events."""
        table = CONSUMER_TABLES[consumer_unit]
        rows = self.count(consumer_unit, table, "participant_id::text = ANY(%s)", (list(participant_ids),))
        processed = self.count(
            consumer_unit, "processed_events", "consumer = %s AND event_id::text = ANY(%s)",
            (CONSUMERS[consumer_unit], list(event_ids)),
        )
        return rows, processed

    def consumed(self, participant_ids: list[str], consumers: Iterable[str] = ("scheduling", "certificates")) -> bool:
        """Is every outbox row published, and does each consumer have one row per participant?"""
        n = len(participant_ids)
        if self.outbox_state(participant_ids) != (n, n):
            return False
        event_ids = self.event_ids_of(participant_ids)
        return all(self.consumer_counts(unit, participant_ids, event_ids) == (n, n) for unit in consumers)

    def progress(self, participant_ids: list[str]) -> str:
        event_ids = self.event_ids_of(participant_ids)
        return (f"want {len(participant_ids)}: outbox (rows, published) {self.outbox_state(participant_ids)}, "
                + ", ".join(f"{unit} (rows, processed) {self.consumer_counts(unit, participant_ids, event_ids)}"
                            for unit in CONSUMERS)
                + f"; processes {self.stack.status()}")

    def dead_units(self) -> list[str]:
        return [unit.name for unit in UNITS if self.stack.pid(unit.name) is None]

    def wait_consumed(self, participant_ids: list[str], timeout: float = 90.0,
                      consumers: Iterable[str] = ("scheduling", "certificates")) -> list[str]:
        """Wait until every outbox row is published and each consumer has one row per participant;
        fails at once if a unit died meanwhile. Returns the events' ids."""
        def done() -> bool:
            dead = self.dead_units()
            if dead:
                raise AssertionError(f"{dead} died while the events were in flight:\n"
                                     + "\n".join(self.stack.log_tail(u, 40) for u in dead))
            return self.consumed(participant_ids, consumers)

        wait_until(done, timeout, interval=0.25, message=lambda: self.progress(participant_ids))
        return self.event_ids_of(participant_ids)

    # -- registering participants -----------------------------------------------------------
    def publish_as(self, producer: str, events: list[Any]) -> None:
        """Publish event envelopes to ``<producer>.events`` as that service's outbox relay does
        (confirmed, the event id as message id): a fact another service would have announced."""
        from bimtek_shared.messaging.publisher import ConfirmingPublisher, Outcome, OutgoingMessage
        from bimtek_shared.messaging.topology import events_exchange

        publisher = ConfirmingPublisher(self.stack.amqp_uri)
        try:
            outcomes = publisher.publish_batch([
                OutgoingMessage(key=index, exchange=events_exchange(producer).name, routing_key=event.type,
                                body=json.dumps(event.to_dict(), separators=(",", ":")),
                                message_id=str(event.event_id), correlation_id=event.correlation_id)
                for index, event in enumerate(events)])
        finally:
            publisher.close()
        assert set(outcomes.values()) == {Outcome.CONFIRMED}, outcomes

    def register_via_api(self, n: int, workers: int = 6) -> list[str]:
        """Register ``n`` participants through the gateway, concurrently; returns their ids."""
        def one(_: int) -> str:
            response = self.api.post("/api/v1/participants", json=participant_body())
            assert response.status_code == 201, response.text
            return response.json()["id"]

        with ThreadPoolExecutor(workers) as pool:
            return list(pool.map(one, range(n)))

    def registrar(self) -> "DirectRegistrar":
        return DirectRegistrar(self.dsn("registration"))

    def register_direct(self, n: int, workers: int = 4) -> list[str]:
        """Register ``n`` participants with the registration use case in this process; returns their ids."""
        registrar = self.registrar()
        try:
            return registrar.register(n, workers=workers)
        finally:
            registrar.close()

    @staticmethod
    def new_nik(female: bool | None = None) -> dict[str, str]:
        """A valid NIK never handed out before in this session, with the sex and birth date it encodes."""
        return NIKS.new(female)

    # -- broker -----------------------------------------------------------------------------
    def ops_cli(self, *args: str) -> str:
        """The ``bimtek-ops`` console script, as an operator runs it, against this stack's broker."""
        result = subprocess.run(
            [str(Path(sys.executable).with_name("bimtek-ops")), "--amqp-uri", self.stack.amqp_uri, *args],
            env={**os.environ, **self.stack.extra_env}, capture_output=True, text=True, timeout=60,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    def queue_depth(self, name: str) -> int:
        with Connection(self.stack.amqp_uri) as conn:
            channel = conn.channel()
            try:
                _, depth, _ = channel.queue_declare(name, passive=True)
                return int(depth)
            finally:
                channel.close()


def participant_queue(consumer_unit: str) -> str:
    return consumer_queue_name("registration", "participant.registered", consumer_unit, "handle_participant_registered")


def participant_dead_letter_queue(consumer_unit: str) -> str:
    return dead_letter_queue_name(participant_queue(consumer_unit))


def _unit(name: str):
    return next(u for u in UNITS if u.name == name)


# --------------------------------------------------------------------------- the use case in-process


class DirectRegistrar:
    """Calls ``registration.service_layer.handlers.register_participant`` in this process.

    Built the way ``RegistrationService``'s ``Database`` dependency builds it, against the
    registration database of the stack, so what it writes (participant + outbox row, one
    transaction) is exactly what the service writes; the service's outbox relay publishes it.
    """

    def __init__(self, database_url: str, pool_size: int = 8) -> None:
        from registration.adapters.orm import metadata
        from registration.service_layer.unit_of_work import RegistrationUnitOfWork
        from registration.settings import DEVELOPMENT_NIK_ENCRYPTION_KEY, DEVELOPMENT_NIK_LOOKUP_KEY

        self._uow_class = RegistrationUnitOfWork
        self.engine = create_engine(sync_url(database_url), pool_size=pool_size, max_overflow=4)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._messaging = MessagingTables(outbox=metadata.tables["outbox"],
                                          processed_events=metadata.tables["processed_events"])
        self._dependencies = RegistrationUnitOfWork.dependencies_from_config({
            # The keys the service processes use (their environment is this one, plus the stack's).
            "NIK_ENCRYPTION_KEY": os.environ.get("NIK_ENCRYPTION_KEY", DEVELOPMENT_NIK_ENCRYPTION_KEY),
            "NIK_LOOKUP_KEY": os.environ.get("NIK_LOOKUP_KEY", DEVELOPMENT_NIK_LOOKUP_KEY),
        })

    def register_one(self) -> str:
        from registration.service_layer import handlers
        from registration.service_layer.commands import RegisterParticipant

        correlation_id = f"it-{uuid.uuid4().hex[:12]}"
        uow = self._uow_class(self._sessions, self._messaging, correlation_id=correlation_id, **self._dependencies)
        caller = Caller(user="test", role="operator", regency=REGENCY, correlation_id=correlation_id)
        command = RegisterParticipant(regency=REGENCY, **participant_body())
        return handlers.register_participant(uow, caller, command)["id"]

    def register(self, n: int, workers: int = 4) -> list[str]:
        if workers <= 1:
            return [self.register_one() for _ in range(n)]
        with ThreadPoolExecutor(workers) as pool:
            return list(pool.map(lambda _: self.register_one(), range(n)))

    def close(self) -> None:
        self.engine.dispose()


def metric_value(text: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus text format; 0 if absent (counters not yet touched)."""
    from prometheus_client.parser import text_string_to_metric_families

    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0
