"""Private, throwaway RabbitMQ and PostgreSQL servers for tests that kill or restart them.

The machine also runs *shared* instances (RabbitMQ node ``rabbit@localhost`` on 5672,
PostgreSQL 15 cluster ``main`` on 5432).  Nothing here may touch them, so every private
server gets its own ports, data directory, config files and (for RabbitMQ) node name and
Erlang cookie, and ``kill()`` only ever signals processes descended from the server we
started ourselves.

These are plain classes with no pytest dependency; the fixtures live in
``tests/support/fixtures.py``.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import random
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Self

__all__ = [
    "PrivatePostgres",
    "PrivateRabbitMQ",
    "ServerStartError",
    "free_port",
]

LOCALHOST = "127.0.0.1"

# Call the real scripts, not the /usr/sbin wrappers: those `su rabbitmq` and `cd
# /var/lib/rabbitmq`, i.e. they would pick up the shared node's HOME and cookie.
RABBITMQ_BIN = Path("/usr/lib/rabbitmq/bin")
POSTGRES_BIN = Path("/usr/lib/postgresql/15/bin")
POSTGRES_OS_USER = "postgres"  # PostgreSQL refuses to run as root

# Ports below the kernel's ephemeral range cannot be grabbed as the source port of some
# unrelated outgoing connection while a server is down between stop() and start().
_PORT_FLOOR = 20000
_handed_out: set[int] = set()


class ServerStartError(RuntimeError):
    """A private server did not come up; the message carries the tail of its logs."""


# --------------------------------------------------------------------------- helpers


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _bindable(port: int) -> bool:
    # No SO_REUSEADDR on purpose: a port in TIME_WAIT or bound on 0.0.0.0 counts as busy.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((LOCALHOST, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """Return a spare TCP port on 127.0.0.1, never the same one twice per process.

    There is an unavoidable race between picking and binding; picking randomly below the
    ephemeral range keeps it negligible even with parallel test processes.
    """
    high = _ephemeral_low()
    if high > _PORT_FLOOR + 1000:
        for _ in range(500):
            port = random.randrange(_PORT_FLOOR, high)
            if port not in _handed_out and _bindable(port):
                _handed_out.add(port)
                return port
    # Fallback: let the kernel choose (inside the ephemeral range).
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((LOCALHOST, 0))
            port = int(sock.getsockname()[1])
        if port not in _handed_out:
            _handed_out.add(port)
            return port


def _port_open(port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((LOCALHOST, port), timeout=timeout):
            return True
    except OSError:
        return False


def _proc_stat(pid: int) -> tuple[str, int] | None:
    """(state, ppid) of a process, or None if it no longer exists."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # gone (or vanished mid-read)
        return None
    # The command name is in parentheses and may itself contain spaces or ')'.
    fields = raw[raw.rindex(")") + 2 :].split()
    return fields[0], int(fields[1])


def _alive(pid: int) -> bool:
    stat = _proc_stat(pid)
    return stat is not None and stat[0] not in ("Z", "X")


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def _descendants(root: int) -> list[int]:
    """Current descendants of ``root`` (zombies included), breadth-first."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _proc_stat(int(entry.name))
            if stat is not None:
                children.setdefault(stat[1], []).append(int(entry.name))
    found: list[int] = []
    queue = [root]
    while queue:
        for child in children.get(queue.pop(0), []):
            found.append(child)
            queue.append(child)
    return found


def _sigkill(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"<{path} not readable>"
    return "\n".join(text.splitlines()[-lines:])


# --------------------------------------------------------------------------- RabbitMQ


class PrivateRabbitMQ:
    """A standalone RabbitMQ node owned by this process, with all state under ``base_dir``.

    ``base_dir`` is owned by the instance: ``close()`` deletes it.  The node runs as root
    (the invoking user) with ``HOME=base_dir`` so it uses its own random Erlang cookie;
    only the machine's epmd is shared, and it is never signalled.
    """

    def __init__(self, base_dir: Path, port: int | None = None, dist_port: int | None = None) -> None:
        self.base_dir = Path(base_dir).resolve()
        self.port = port if port is not None else free_port()
        self.dist_port = dist_port if dist_port is not None else free_port()
        self.node = f"bimtek-test-{self.port}@localhost"
        self._proc: subprocess.Popen[bytes] | None = None  # the rabbitmq-server sh wrapper
        self._beam_pid: int | None = None

    # ---- public attributes

    @property
    def amqp_uri(self) -> str:
        return f"amqp://guest:guest@{LOCALHOST}:{self.port}/"

    @property
    def log_file(self) -> Path:
        return self.base_dir / "log" / f"{self.node}.log"

    @property
    def stdout_file(self) -> Path:
        return self.base_dir / "stdout.log"

    @property
    def beam_pid(self) -> int | None:
        return self._beam_pid

    @property
    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    # ---- lifecycle

    def start(self, timeout: float = 60) -> None:
        """Boot the node; return once AMQP accepts connections and boot has completed."""
        if self.is_running:
            raise RuntimeError(f"{self.node} is already running")
        for port in (self.port, self.dist_port):
            if _port_open(port):
                # Otherwise we would mistake someone else's listener for our node.
                raise ServerStartError(f"Private RabbitMQ {self.node}: port {port} is already in use")
        self._prepare()
        (self.base_dir / "node.pid").unlink(missing_ok=True)  # stale after kill()
        deadline = time.monotonic() + timeout
        with self.stdout_file.open("ab") as out:
            self._proc = subprocess.Popen(
                [str(RABBITMQ_BIN / "rabbitmq-server")],
                env=self._env(),
                cwd=self.base_dir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                # Own session: a Ctrl-C aimed at pytest must not reach the broker mid-test.
                start_new_session=True,
            )
        try:
            # Polling the port is cheap; each rabbitmqctl call costs ~1 s of CLI boot.
            while not _port_open(self.port):
                if self._proc.poll() is not None:
                    raise self._start_error(f"rabbitmq-server exited with code {self._proc.returncode}")
                if time.monotonic() >= deadline:
                    raise self._start_error(f"AMQP port {self.port} not open after {timeout:.0f}s")
                time.sleep(0.2)
            # The listener opens shortly before the last boot steps finish.
            while True:
                remaining = max(5, int(deadline - time.monotonic()))
                result = self._ctl("await_startup", "--timeout", str(remaining), timeout=remaining + 30)
                if self._proc.poll() is not None:
                    raise self._start_error(f"rabbitmq-server exited with code {self._proc.returncode}")
                if result.returncode == 0:
                    break
                if time.monotonic() >= deadline:
                    raise self._start_error(f"`rabbitmqctl await_startup` failed:\n{result.stdout}{result.stderr}")
                time.sleep(0.5)
            self._beam_pid = self._find_beam_pid()
        except BaseException:
            self._kill_processes()  # never leave a half-booted node behind
            raise

    def stop(self, timeout: float = 60) -> None:
        """Graceful shutdown (no-op if not running)."""
        if self._proc is None:
            return
        if self._proc.poll() is None:
            # The wrapper traps SIGTERM and forwards it to beam, which since 3.8 performs a
            # full, graceful `rabbitmqctl stop`-style shutdown; cheaper than booting the CLI.
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._kill_processes()
                raise RuntimeError(f"{self.node} did not stop within {timeout:.0f}s; killed it") from None
        beam = self._beam_pid
        if beam is not None and not _wait_until(lambda: not _alive(beam), 10):
            self._kill_processes()
        self._proc = None
        self._beam_pid = None

    def kill(self) -> None:
        """SIGKILL this node's beam (and its port programs) - a hard crash. No-op if not running."""
        if self._proc is None:
            return
        self._kill_processes()

    def restart(self, timeout: float = 60) -> None:
        """Graceful stop + start on the same port and data dir (durable state survives)."""
        self.stop()
        self.start(timeout)

    def close(self) -> None:
        """Stop (or, failing that, kill) the node and delete ``base_dir``."""
        try:
            self.stop()
        except Exception:
            self._kill_processes()
        finally:
            shutil.rmtree(self.base_dir, ignore_errors=True)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"PrivateRabbitMQ(node={self.node!r}, port={self.port}, running={self.is_running})"

    # ---- internals

    def _prepare(self) -> None:
        base = self.base_dir
        for sub in ("mnesia", "log"):
            (base / sub).mkdir(parents=True, exist_ok=True)
        cookie = base / ".erlang.cookie"
        if not cookie.exists():
            # Our own cookie: even a mistaken `rabbitmqctl -n rabbit@localhost` run with
            # this environment cannot authenticate against the shared node.
            cookie.write_text(secrets.token_hex(16).upper())
            cookie.chmod(0o400)  # Erlang rejects cookies readable by others
        # Empty plugin list: no management UI / prometheus listeners on fixed ports.
        (base / "enabled_plugins").write_text("[].\n")
        # Keeps /etc/rabbitmq/rabbitmq-env.conf (NODENAME=rabbit@localhost) out of the picture.
        (base / "rabbitmq-env.conf").write_text("# intentionally empty: see tests/support/servers.py\n")
        (base / "rabbitmq.conf").write_text(
            f"listeners.tcp.1 = {LOCALHOST}:{self.port}\n"
            # The default, spelled out: guest may log in, but over loopback only.
            "loopback_users.guest = true\n"
        )

    def _env(self) -> dict[str, str]:
        base = self.base_dir
        # Drop inherited RABBITMQ_* / ERL_*FLAGS so nothing can redirect us to the shared node.
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("RABBITMQ_") and k not in ("ERL_FLAGS", "ERL_AFLAGS", "ERL_ZFLAGS")
        }
        env.update(
            HOME=str(base),  # where Erlang (server and CLI) looks for .erlang.cookie
            RABBITMQ_NODENAME=self.node,
            RABBITMQ_CONF_ENV_FILE=str(base / "rabbitmq-env.conf"),
            RABBITMQ_CONFIG_FILE=str(base / "rabbitmq.conf"),
            RABBITMQ_ADVANCED_CONFIG_FILE=str(base / "advanced.config"),  # absent on purpose
            RABBITMQ_ENABLED_PLUGINS_FILE=str(base / "enabled_plugins"),
            RABBITMQ_MNESIA_BASE=str(base / "mnesia"),
            RABBITMQ_LOG_BASE=str(base / "log"),
            RABBITMQ_PID_FILE=str(base / "node.pid"),
            RABBITMQ_DIST_PORT=str(self.dist_port),
            RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}",
            # Only matters if no epmd is running yet: then the one we spawn stays on loopback.
            ERL_EPMD_ADDRESS=LOCALHOST,
        )
        return env

    def _ctl(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(RABBITMQ_BIN / "rabbitmqctl"), "-n", self.node, *args],
            env=self._env(),
            cwd=self.base_dir,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def add_vhost(self, vhost: str) -> str:
        """A virtual host of its own (queue names are global within one), for guest; its AMQP URI."""
        for args in (("add_vhost", vhost), ("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")):
            result = self._ctl(*args)
            if result.returncode != 0 and "already exists" not in result.stderr + result.stdout:
                raise RuntimeError(f"rabbitmqctl {' '.join(args)}: {result.stdout}{result.stderr}")
        return f"{self.amqp_uri}{vhost}"

    def trace(self, vhost: str, on: bool) -> None:
        """RabbitMQ's firehose tracer for one virtual host: every message published or delivered in
        it is copied to its ``amq.rabbitmq.trace`` exchange (tests/support/pdp_audit.py)."""
        result = self._ctl("trace_on" if on else "trace_off", "-p", vhost)
        if result.returncode != 0:
            raise RuntimeError(f"rabbitmqctl trace_{'on' if on else 'off'} -p {vhost}: {result.stdout}{result.stderr}")

    def enable_prometheus(self) -> int:
        """Start RabbitMQ's Prometheus plugin, listening on a free loopback port rather than the
        fixed 15692, and return the port. One CLI call (each costs an Erlang boot): the port goes
        into the node's environment, then the node starts what the plugin file lists, as
        ``rabbitmq-plugins enable --online`` has it do. Until the node restarts (``_prepare``
        empties the list)."""
        port = free_port()
        plugins = self.base_dir / "enabled_plugins"
        plugins.write_text("[rabbitmq_prometheus].\n")
        result = self._ctl("eval", f'application:set_env(rabbitmq_prometheus, tcp_config, '
                                   f'[{{port, {port}}}, {{ip, "{LOCALHOST}"}}]), '
                                   f'rabbit_plugins:ensure("{plugins}").', timeout=120)
        if result.returncode != 0 or "rabbitmq_prometheus" not in result.stdout:
            raise RuntimeError(f"enabling rabbitmq_prometheus: {result.stdout}{result.stderr}")
        return port

    def unacked(self, queue: str) -> int:
        """Deliveries of ``queue`` handed to consumers and not yet acked (AMQP cannot tell)."""
        result = self._ctl("list_queues", "-q", "--no-table-headers", "name", "messages_unacknowledged")
        for line in result.stdout.splitlines():
            name, _, count = line.rpartition("\t")
            if name == queue:
                return int(count)
        raise LookupError(f"no queue {queue} on {self.node}: {result.stdout}{result.stderr}")

    def _find_beam_pid(self) -> int:
        assert self._proc is not None
        family = _descendants(self._proc.pid)
        try:
            pid = int((self.base_dir / "node.pid").read_text().strip())
            if pid in family:
                return pid
        except (OSError, ValueError):
            pass
        beams = [p for p in family if _comm(p).startswith("beam")]
        if len(beams) != 1:
            raise self._start_error(f"cannot identify the beam process among {family}")
        return beams[0]

    def _kill_processes(self) -> None:
        """SIGKILL beam + its descendants, then reap the wrapper. Never touches epmd."""
        proc = self._proc
        if proc is None:
            return
        # Breadth-first from the wrapper, so beam comes first, then erl_child_setup etc.
        family = _descendants(proc.pid)
        if self._beam_pid is not None:
            family += [p for p in _descendants(self._beam_pid) if p not in family]
        victims = [p for p in family if _comm(p) != "epmd"]
        _sigkill(victims)
        try:
            proc.wait(10)  # the wrapper exits on its own once beam is dead
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        _wait_until(lambda: not any(_alive(p) for p in victims), 10)
        self._proc = None
        self._beam_pid = None

    def _start_error(self, reason: str) -> ServerStartError:
        return ServerStartError(
            f"Private RabbitMQ {self.node} (amqp port {self.port}, dist port {self.dist_port}) "
            f"failed to start: {reason}\n"
            f"--- {self.stdout_file} ---\n{_tail(self.stdout_file)}\n"
            f"--- {self.log_file} ---\n{_tail(self.log_file)}"
        )


# --------------------------------------------------------------------------- PostgreSQL


class PrivatePostgres:
    """A throwaway PostgreSQL 15 cluster under ``base_dir``, run as the ``postgres`` OS user.

    ``base_dir`` is owned by the instance (``close()`` deletes it) and must be reachable by
    the ``postgres`` user: pytest's ``tmp_path`` lives under a root-only 0700 directory,
    so use ``tempfile.mkdtemp()`` (plain /tmp) instead.  Trust auth, TCP on 127.0.0.1 only,
    unix socket inside ``base_dir``.
    """

    def __init__(self, base_dir: Path, port: int | None = None) -> None:
        self.base_dir = Path(base_dir).resolve()
        self.port = port if port is not None else free_port()
        self.data_dir = self.base_dir / "data"
        self.socket_dir = self.base_dir / "sock"
        self.log_file = self.base_dir / "postgres.log"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@{LOCALHOST}:{self.port}/{database}"

    @property
    def postmaster_pid(self) -> int | None:
        try:
            return int((self.data_dir / "postmaster.pid").read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None

    @property
    def is_running(self) -> bool:
        pid = self.postmaster_pid
        return pid is not None and _alive(pid)

    # ---- lifecycle

    def start(self, timeout: float = 60) -> None:
        """initdb on first use, then start; returns once connections are accepted."""
        if self.is_running:
            raise RuntimeError(f"private PostgreSQL on port {self.port} is already running")
        self._prepare()
        result = self._as_postgres(
            [
                str(POSTGRES_BIN / "pg_ctl"),
                "-D",
                str(self.data_dir),
                "-l",
                str(self.log_file),
                "-w",
                "-t",
                str(max(1, int(timeout))),
                "start",
            ],
            timeout=timeout + 30,
        )
        if result.returncode != 0 or not _port_open(self.port):
            self.kill()  # pg_ctl may give up while the postmaster is still coming up
            raise self._start_error(f"pg_ctl start failed:\n{result.stdout}{result.stderr}")

    def stop(self, timeout: float = 60) -> None:
        """Fast shutdown (rolls back open transactions, checkpoints). No-op if not running."""
        if not self.is_running:
            return
        result = self._as_postgres(
            [
                str(POSTGRES_BIN / "pg_ctl"),
                "-D",
                str(self.data_dir),
                "-m",
                "fast",
                "-w",
                "-t",
                str(max(1, int(timeout))),
                "stop",
            ],
            timeout=timeout + 30,
        )
        if result.returncode != 0:
            self.kill()
            raise RuntimeError(f"pg_ctl stop failed, killed instead:\n{result.stdout}{result.stderr}")

    def kill(self) -> None:
        """SIGKILL the postmaster and its children - a hard crash. No-op if not running."""
        pid = self.postmaster_pid
        if pid is None or not _alive(pid):
            return
        # Every backend/aux process calls setsid(), so no process-group kill: collect the
        # children first (once the postmaster dies they get re-parented to init).
        victims = [pid, *_descendants(pid)]
        _sigkill(victims)  # postmaster first, so it cannot start crash-recovery respawns
        # Leftover children would keep the shared memory attached and block the next start.
        _wait_until(lambda: not any(_alive(p) for p in victims), 10)
        # postgres treats a not-yet-reaped zombie named in its lock files as a live server
        # (init reaps lazily on this machine); with every process dead they are merely stale.
        if _proc_stat(pid) is not None:
            (self.data_dir / "postmaster.pid").unlink(missing_ok=True)
            (self.socket_dir / f".s.PGSQL.{self.port}.lock").unlink(missing_ok=True)

    def restart(self, timeout: float = 60) -> None:
        self.stop()
        self.start(timeout)

    def close(self) -> None:
        """Stop (or, failing that, kill) the cluster and delete ``base_dir``."""
        try:
            self.stop()
        except Exception:
            self.kill()
        finally:
            shutil.rmtree(self.base_dir, ignore_errors=True)

    def create_database(self, name: str) -> None:
        result = subprocess.run(
            [str(POSTGRES_BIN / "createdb"), "-h", LOCALHOST, "-p", str(self.port), "-U", "postgres", name],
            env=self._env(),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
        )
        if result.returncode != 0:
            raise RuntimeError(f"createdb {name!r} failed: {result.stderr.strip()}")

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"PrivatePostgres(port={self.port}, data_dir={str(self.data_dir)!r}, running={self.is_running})"

    # ---- internals

    def _env(self) -> dict[str, str]:
        # PGHOST/PGPORT/PGDATA/PGSERVICE... from the caller could point at the shared cluster.
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_ALL"] = "C"
        return env

    def _as_postgres(self, args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["runuser", "-u", POSTGRES_OS_USER, "--", *args],
            env=self._env(),
            cwd=self.base_dir,  # postgres cannot read root's cwd; avoids "could not change directory"
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def _prepare(self) -> None:
        owner = pwd.getpwnam(POSTGRES_OS_USER)
        self.base_dir.mkdir(parents=True, exist_ok=True)
        os.chown(self.base_dir, owner.pw_uid, owner.pw_gid)
        self.base_dir.chmod(0o700)
        if self._as_postgres(["test", "-w", str(self.base_dir)], timeout=30).returncode != 0:
            raise ServerStartError(
                f"the {POSTGRES_OS_USER!r} OS user cannot reach {self.base_dir}; a parent directory "
                "is not searchable (pytest's tmp_path is under a 0700 root dir) - use tempfile.mkdtemp()"
            )
        if (self.data_dir / "PG_VERSION").exists():
            return
        result = self._as_postgres(
            [
                str(POSTGRES_BIN / "initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
                "--no-instructions",
            ],
            timeout=120,
        )
        if result.returncode != 0:
            raise ServerStartError(f"initdb failed:\n{result.stdout}{result.stderr}")
        self.socket_dir.mkdir(exist_ok=True)
        os.chown(self.socket_dir, owner.pw_uid, owner.pw_gid)
        # In postgresql.conf (not `pg_ctl -o`) so that every later start/restart keeps them.
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write(
                "\n# --- private test instance (tests/support/servers.py) ---\n"
                f"port = {self.port}\n"
                f"listen_addresses = '{LOCALHOST}'\n"
                f"unix_socket_directories = '{self.socket_dir}'\n"
                # Safe for kill() tests: a process crash loses nothing that reached the OS
                # page cache; only a machine crash would need fsync.
                "fsync = off\n"
            )

    def _start_error(self, reason: str) -> ServerStartError:
        return ServerStartError(
            f"Private PostgreSQL on port {self.port} failed to start: {reason}\n"
            f"--- {self.log_file} ---\n{_tail(self.log_file)}"
        )
