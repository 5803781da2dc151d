"""Run the whole system as local processes: what ``make up`` / ``make down`` and the tests use.

The same topology as docker-compose.yml (three services and the gateway against one RabbitMQ and
one PostgreSQL server, a database per unit), without containers. ``up`` creates the databases,
applies every migration (then each unit's ``after_migrate`` step, e.g. registration loads the Jawa
Timur region data), declares the broker topology, starts each process with its own log and pid
file, and returns once every process answers ``/readyz``.

A unit may run as several processes (``start(unit, instance=2)``): nameko consumers of one service
share its queues, so a second process on the same configuration adds workers. Each process is
known by its instance name (``instance_name``): its pid file, log file and port are keyed by it.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class Unit:
    name: str
    module: str  # run as ``python -m <module>``
    folder: str  # holds alembic.ini
    port_variable: str  # env var naming the port its /readyz answers on
    # Run as ``python -m <after_migrate...>`` with the unit's environment once its migrations are
    # applied (e.g. loading reference data); it must be idempotent, since every ``up`` runs it.
    after_migrate: tuple[str, ...] = ()


UNITS = (
    Unit("registration", "registration", "services/registration", "OPS_HTTP_PORT",
         after_migrate=("registration.cli", "regions", "load", "--province", "35")),
    Unit("scheduling", "scheduling", "services/scheduling", "OPS_HTTP_PORT"),
    Unit("certificates", "certificates", "services/certificates", "OPS_HTTP_PORT"),
    Unit("gateway", "bimtek_gateway", "gateway", "GATEWAY_PORT"),
)
DEFAULT_PORTS = {"registration": 8101, "scheduling": 8102, "certificates": 8103, "gateway": 8000}


def instance_name(unit: str, instance: int = 1) -> str:
    """The name of one process of a unit: the unit's own for the first, ``<unit>-<n>`` for more."""
    if instance < 1:
        raise ValueError(f"instance numbers start at 1, not {instance}")
    return unit if instance == 1 else f"{unit}-{instance}"


@dataclass
class LocalStack:
    """A set of local processes; ``state_dir`` holds their logs and pid files."""

    state_dir: Path = REPO_ROOT / "var"
    amqp_uri: str = "amqp://guest:guest@127.0.0.1:5672/"
    postgres_url: str = "postgresql://postgres@127.0.0.1:5432"
    database_prefix: str = "bimtek"
    ports: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_PORTS))
    extra_env: dict[str, str] = field(default_factory=dict)
    python: str = sys.executable

    # -- environment per unit ---------------------------------------------------------------
    def database_url(self, unit: str) -> str:
        return f"{self.postgres_url}/{self.database_prefix}_{unit}"

    def env_for(self, unit: Unit, instance: int = 1) -> dict[str, str]:
        env = {
            **os.environ,
            "AMQP_URI": self.amqp_uri,
            "DATABASE_URL": self.database_url(unit.name),
            unit.port_variable: str(self.port(instance_name(unit.name, instance))),
            "PYTHONUNBUFFERED": "1",
            **self.extra_env,
        }
        return env

    def port(self, name: str) -> int:
        """The port of a process by its instance name; a second instance needs its own in ``ports``."""
        try:
            return self.ports[name]
        except KeyError:
            raise KeyError(f"no port for {name!r}: add ports[{name!r}] before starting it") from None

    def instances(self, unit: str) -> list[str]:
        """The instance names of a unit that have a pid file, the first instance first."""
        extra = sorted((int(p.stem.rpartition("-")[2]), p.stem) for p in (self.state_dir / "run").glob(f"{unit}-*.pid")
                       if p.stem.rpartition("-")[2].isdigit())
        return ([unit] if self.pid_path(unit).exists() else []) + [name for _, name in extra]

    def log_path(self, unit: str) -> Path:
        return self.state_dir / "log" / f"{unit}.log"

    def pid_path(self, unit: str) -> Path:
        return self.state_dir / "run" / f"{unit}.pid"

    def ready_url(self, unit: str) -> str:
        return f"http://127.0.0.1:{self.port(unit)}/readyz"

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['gateway']}"

    # -- set-up -----------------------------------------------------------------------------
    def migrate(self) -> None:
        for unit in UNITS:
            subprocess.run(
                [self.python, "-m", "alembic", "-c", str(REPO_ROOT / unit.folder / "alembic.ini"), "upgrade", "head"],
                env=self.env_for(unit), check=True, cwd=REPO_ROOT / unit.folder,
                stdout=subprocess.DEVNULL,
            )
            if unit.after_migrate:
                subprocess.run([self.python, "-m", *unit.after_migrate], env=self.env_for(unit), check=True,
                               cwd=REPO_ROOT / unit.folder, stdout=subprocess.DEVNULL)

    def setup_broker(self) -> None:
        subprocess.run(
            [self.python, "-m", "bimtek_shared.ops.cli", "--amqp-uri", self.amqp_uri, "setup-broker"],
            env={**os.environ, **self.extra_env}, check=True, stdout=subprocess.DEVNULL,
        )

    # -- processes --------------------------------------------------------------------------
    def pid(self, unit: str) -> int | None:
        try:
            pid = int(self.pid_path(unit).read_text())
        except (FileNotFoundError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        return pid

    def start(self, unit_name: str, instance: int = 1) -> int:
        """Start one process of a unit (unless it runs); returns its pid. ``pid``, ``wait_ready``
        and ``stop`` take its ``instance_name``."""
        unit = next(u for u in UNITS if u.name == unit_name)
        name = instance_name(unit.name, instance)
        existing = self.pid(name)
        if existing:
            return existing
        self.log_path(name).parent.mkdir(parents=True, exist_ok=True)
        self.pid_path(name).parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path(name), "ab") as log:
            process = subprocess.Popen(
                [self.python, "-m", unit.module], env=self.env_for(unit, instance), cwd=REPO_ROOT / unit.folder,
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            )
        self.pid_path(name).write_text(str(process.pid))
        return process.pid

    def wait_ready(self, unit_name: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.pid(unit_name) is None:
                raise RuntimeError(f"{unit_name} exited during start-up; see {self.log_path(unit_name)}:\n"
                                   + self.log_tail(unit_name))
            try:
                with urllib.request.urlopen(self.ready_url(unit_name), timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        raise TimeoutError(f"{unit_name} not ready after {timeout:.0f}s:\n" + self.log_tail(unit_name))

    def log_tail(self, unit_name: str, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path(unit_name).read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"

    def stop(self, unit_name: str, timeout: float = 20.0, sig: int = signal.SIGTERM) -> None:
        pid = self.pid(unit_name)
        if pid is None:
            self.pid_path(unit_name).unlink(missing_ok=True)
            return
        os.kill(pid, sig)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.1)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
            while _alive(pid):
                time.sleep(0.05)
        self.pid_path(unit_name).unlink(missing_ok=True)

    def kill(self, unit_name: str) -> None:
        """SIGKILL: a crash, with no chance to finish or ack anything."""
        self.stop(unit_name, timeout=0, sig=signal.SIGKILL)

    def up(self) -> None:
        self.migrate()
        self.setup_broker()
        for unit in UNITS:
            self.start(unit.name)
        for unit in UNITS:
            self.wait_ready(unit.name)

    def down(self) -> None:
        for unit in reversed(UNITS):
            for name in reversed(self.instances(unit.name) or [unit.name]):
                self.stop(name)

    def status(self) -> dict[str, str]:
        result = {}
        for unit in UNITS:
            pid = self.pid(unit.name)
            if pid is None:
                result[unit.name] = "stopped"
                continue
            try:
                with urllib.request.urlopen(self.ready_url(unit.name), timeout=2) as response:
                    result[unit.name] = f"ready (pid {pid})" if response.status == 200 else f"running (pid {pid})"
            except (urllib.error.URLError, OSError):
                result[unit.name] = f"not ready (pid {pid})"
        return result


def _alive(pid: int) -> bool:
    try:
        waited, _ = os.waitpid(pid, os.WNOHANG)  # reap our own children so they don't linger as zombies
        if waited == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def from_environment() -> LocalStack:
    """The stack ``make up`` runs: the local servers, overridable by AMQP_URI and POSTGRES_URL."""
    return LocalStack(
        amqp_uri=os.environ.get("AMQP_URI", LocalStack.amqp_uri),
        postgres_url=os.environ.get("POSTGRES_URL", LocalStack.postgres_url),
        ports={**DEFAULT_PORTS, "gateway": int(os.environ.get("GATEWAY_PORT", DEFAULT_PORTS["gateway"]))},
    )


def describe(stack: LocalStack) -> str:
    return json.dumps(stack.status(), indent=2)
