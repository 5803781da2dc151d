"""What every part of the benchmark shares: the private stack, statistics and CPU accounting.

The benchmark never touches a developer's stack (``make up``): it runs its own processes on free
ports, against databases named ``<prefix>_<unit>`` and a RabbitMQ virtual host of its own (exchange
and queue names are global on a vhost, so a developer stack on ``/`` would otherwise share them).
"""
from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

from bimtek_shared.ops.local_stack import UNITS, LocalStack
from bimtek_shared.persistence.database import drop_database_if_exists

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent

POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432")
BROKER_HOST = os.environ.get("BENCH_BROKER", "guest:guest@127.0.0.1:5672")
VHOST = os.environ.get("BENCH_VHOST", "bimtek-bench")
DATABASE_PREFIX = os.environ.get("BENCH_DATABASE_PREFIX", "bimtek_bench")


def amqp_uri(vhost: str = VHOST) -> str:
    return f"amqp://{BROKER_HOST}/{vhost}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- statistics ------------------------------------------------------------------------------
def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of an unsorted list; NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(round(q / 100.0 * len(ordered) + 0.5 - 1e-9))))
    return ordered[rank - 1]


def summarise_ms(values_s: Iterable[float]) -> dict[str, float]:
    """p50/p95/p99/max/mean in milliseconds of durations given in seconds."""
    ms = [v * 1000.0 for v in values_s]
    if not ms:
        return {"n": 0}
    return {
        "n": len(ms),
        "p50": round(percentile(ms, 50), 2),
        "p95": round(percentile(ms, 95), 2),
        "p99": round(percentile(ms, 99), 2),
        "max": round(max(ms), 2),
        "mean": round(statistics.fmean(ms), 2),
    }


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


# -- CPU accounting --------------------------------------------------------------------------
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu_seconds(pid: int) -> float | None:
    """user + system CPU seconds a process (not its children) has used so far."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
        return None


def machine_busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, over all cores."""
    with open("/proc/stat") as f:
        parts = [int(x) for x in f.readline().split()[1:]]
    idle = parts[3] + parts[4]  # idle + iowait
    total = sum(parts[:8])
    return (total - idle) / CLOCK_TICKS, total / CLOCK_TICKS


@dataclass
class CpuMeter:
    """CPU seconds used by named processes over a phase, and the machine's busy share.

    ``pids`` maps a label to one pid or several (e.g. every PostgreSQL backend of our databases).
    """

    pids: dict[str, list[int]]
    _start: dict[str, float] = field(default_factory=dict)
    _machine: tuple[float, float] = (0.0, 0.0)
    _wall: float = 0.0

    def start(self) -> "CpuMeter":
        self._start = {label: self._sum(pids) for label, pids in self.pids.items()}
        self._machine = machine_busy_seconds()
        self._wall = time.monotonic()
        return self

    @staticmethod
    def _sum(pids: list[int]) -> float:
        return sum(filter(None, (process_cpu_seconds(p) for p in pids)))

    def stop(self) -> dict[str, float]:
        wall = time.monotonic() - self._wall
        busy0, total0 = self._machine
        busy1, total1 = machine_busy_seconds()
        result = {f"cpu_s.{label}": round(self._sum(pids) - self._start[label], 2)
                  for label, pids in self.pids.items()}
        result["wall_s"] = round(wall, 2)
        result["machine_busy_pct"] = round(100.0 * (busy1 - busy0) / max(total1 - total0, 1e-9), 1)
        ours = sum(v for k, v in result.items() if k.startswith("cpu_s."))
        # What the rest of the machine used meanwhile (other users' tests, the broker's and the
        # database's work for others...): a noise indicator, in CPU seconds.
        result["cpu_s.everything_else"] = round(max((busy1 - busy0) - ours, 0.0), 2)
        return result


def pids_named(fragment: str) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                if fragment.encode() in f.read():
                    out.append(int(entry))
        except OSError:
            pass
    return out


def broker_pid() -> int | None:
    """The shared RabbitMQ node's Erlang VM (the one listening on 5672)."""
    try:
        out = subprocess.run(["ss", "-ltnpH", "sport = :5672"], capture_output=True, text=True, timeout=5).stdout
        for token in out.split("pid=")[1:]:
            return int(token.split(",")[0])
    except (OSError, ValueError, subprocess.SubprocessError):
        pass
    return None


def loadavg() -> list[float]:
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


# -- the private stack -----------------------------------------------------------------------
def rabbitmqctl(*args: str) -> str:
    return subprocess.run(["rabbitmqctl", "-q", *args], check=True, capture_output=True, text=True,
                          timeout=60).stdout


def create_vhost(vhost: str = VHOST) -> None:
    existing = rabbitmqctl("list_vhosts").split()
    if vhost in existing:  # a previous run that did not clean up: start from an empty vhost
        rabbitmqctl("delete_vhost", vhost)
    rabbitmqctl("add_vhost", vhost)
    user = BROKER_HOST.split(":", 1)[0]
    rabbitmqctl("set_permissions", "-p", vhost, user, ".*", ".*", ".*")


def delete_vhost(vhost: str = VHOST) -> None:
    if vhost in rabbitmqctl("list_vhosts").split():
        rabbitmqctl("delete_vhost", vhost)


def make_stack(state_dir: Path) -> LocalStack:
    ports = {"registration": free_port(), "scheduling": free_port(), "certificates": free_port(),
             "gateway": free_port()}
    return LocalStack(state_dir=state_dir, amqp_uri=amqp_uri(), postgres_url=POSTGRES_URL,
                      database_prefix=DATABASE_PREFIX, ports=ports)


def drop_databases(stack: LocalStack) -> None:
    for unit in UNITS:
        drop_database_if_exists(stack.database_url(unit.name))


def metrics_text(stack: LocalStack, unit: str) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{stack.ports[unit]}/metrics", timeout=10) as r:
        return r.read().decode()


def histogram(text: str, name: str, labels: dict[str, str]) -> dict[float, float]:
    """Cumulative bucket counts {le: count} of one Prometheus histogram series."""
    buckets: dict[float, float] = {}
    want = [f'{k}="{v}"' for k, v in labels.items()]
    for line in text.splitlines():
        if not line.startswith(name + "_bucket{") or not all(w in line for w in want):
            continue
        le = line.split('le="', 1)[1].split('"', 1)[0]
        buckets[float("inf") if le == "+Inf" else float(le)] = float(line.rsplit(" ", 1)[1])
    return buckets


def histogram_quantile(before: dict[float, float], after: dict[float, float], q: float) -> float | None:
    """Upper bound (bucket edge, seconds) of the q-quantile of observations made between two scrapes."""
    delta = sorted((le, after.get(le, 0.0) - before.get(le, 0.0)) for le in after)
    total = delta[-1][1] if delta else 0.0
    if total <= 0:
        return None
    for le, count in delta:
        if count >= q * total:
            return le
    return None


def dump_json(path: Path, data: object) -> None:
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")


class CommandedProcess:
    """A helper process (a load generator, a client) driven by one line of text per command on
    its stdin, answering each with one line of JSON on its stdout (the first line: it is ready)."""

    def __init__(self, label: str, cmd: list[str], log_path: Path, env: dict[str, str] | None = None) -> None:
        self.label = label
        self.stderr = open(log_path, "w")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr,
                                     text=True, bufsize=1, cwd=REPO_ROOT, env=env)
        self.ready = self._read()

    @property
    def pid(self) -> int:
        return self.proc.pid

    def command(self, line: str) -> dict:
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return self._read()

    def _read(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(10)
            raise RuntimeError(f"{self.label} died; see {self.stderr.name}")
        return json.loads(line)

    def close(self) -> None:
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.flush()
            self.proc.wait(30)
        except (BrokenPipeError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()
        self.stderr.close()
