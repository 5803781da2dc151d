"""Phase ``province`` of bench/run.py: the whole Bimtek lifecycle of Jawa Timur through the public
API, each figure beside a raw limit measured in the same run.

The lifecycle, driven as the web and mobile clients drive it (``bimtek_cli.api``, signed in as a
province administrator created with ``bimtek-gateway create-user``):

1. **import**: one province-wide synthetic file (``tests/support/synthetic.py``: every village of
   the scope, a complete team of eight, valid NIKs), until the job succeeded and scheduling and
   certificates hold every participant and cooperative;
2. **set-up**: 12 resource persons shared by the province (4 cover the whole curriculum, 8 half of
   it), and per regency a programme (one-day sessions of 8 JP, January to June 2026, one day
   attended completes) and a 250-seat hall;
3. **planning**: every regency's programme previewed together (``POST /api/v1/plan-previews``: one
   planner run decides the shared resource persons' days for the whole province) and the previews
   published together (``POST /api/v1/plan-publications``, one transaction); then until
   certificates knows every seat;
4. **check-in**: each seat's invitation QR (signed here with the stack's QR key and the seat's
   ``assigned_at``, exactly what ``GET /participants/{id}/invitation`` answers: a sample per
   session is compared), one device token per session, and every phone's offline scans uploaded in
   batches of 500 (4 phones at once), one absentee per session; then until certificates knows
   every attendance day;
5. **closing**: every session closed (4 requests at a time), until certificates' own table holds a
   valid certificate for everyone who attended.

Beside it, in the same run: the raw broker (``broker_baseline``: plain kombu publish and consume),
PostgreSQL ``COPY`` of the import's rows into a scratch table, and the same concurrent readers
against a bare FastAPI endpoint (``bare_fastapi.py``). While the lifecycle runs, 20 readers (a
process of their own: this file's ``readers`` command) each read a list once a second (participants,
cooperative statistics, sessions, certificates of a regency of the scope): p50/p99 per stage. A
sampler reads every service process's RSS and CPU (and their ``CpuPool`` workers') from /proc
every 0.5 s: peak memory per process and CPU per stage.

Each run starts from fresh databases and a fresh vhost. Runs: Kabupaten Jombang alone (its
lifecycle, target under 90 s), then the scope with one instance of every service, then with two
instances each of scheduling and certificates (a second process on the same queues).
"""
from __future__ import annotations

import argparse
import asyncio
import csv
import io
import json
import os
import random
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any, Callable
from zoneinfo import ZoneInfo

import psycopg2

from bimtek_shared.ops.local_stack import UNITS, instance_name
from common import (
    CLOCK_TICKS,
    POSTGRES_URL,
    REPO_ROOT,
    CommandedProcess,
    amqp_uri,
    broker_pid,
    create_vhost,
    delete_vhost,
    drop_databases,
    free_port,
    machine_busy_seconds,
    summarise_ms,
)

if str(REPO_ROOT) not in sys.path:  # the synthetic files live with the tests' support code
    sys.path.insert(0, str(REPO_ROOT))
from tests.support import synthetic  # noqa: E402

try:
    from bimtek_cli.api import BimtekApi
except ImportError:  # the cli unit is not installed in this environment: its source folder
    sys.path.append(str(REPO_ROOT / "cli"))
    from bimtek_cli.api import BimtekApi

JOMBANG = synthetic.JOMBANG
JAKARTA = ZoneInfo("Asia/Jakarta")
WINDOW = ("2026-01-01", "2026-06-30")  # six months, in the past: sessions may be closed
AVAILABLE = [{"start": WINDOW[0], "end": WINDOW[1]}]
TOPICS = [{"topic": "Kelembagaan dan tata kelola KDMP", "hours": 2},
          {"topic": "Manajemen usaha koperasi", "hours": 2},
          {"topic": "Akuntansi dan laporan keuangan", "hours": 2},
          {"topic": "Digitalisasi dan pemasaran", "hours": 2}]
RESOURCE_PERSONS = 12  # shared by the province: the first 4 cover the whole curriculum, the others half
HALL_SEATS = 250
SCALED_UNITS = ("scheduling", "certificates")
PHONES_AT_ONCE = 4
CLOSURES_AT_ONCE = 4
READERS = 20
READ_INTERVAL_S = 1.0
BARE_BASELINE_S = 15.0
BROKER_N = {"publish": 10_000, "confirm_each": 2_000}
TOKEN_LIFETIME_MARGIN_S = 600  # readers mint a new access token this often (tokens last 15 minutes)
TARGETS_S = {"jombang_lifecycle": 90.0, "province_import": 60.0, "province_planning": 10.0,
             "province_certificates": 600.0}


def log(message: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {message}", flush=True)


# -- the scope --------------------------------------------------------------------------------------
def all_regencies() -> list[str]:
    return sorted({v.district[:5] for v in synthetic.villages(None)})


def scope_regencies(spec: str | None) -> list[str]:
    """None: the province; ``N``: Jombang and the next N-1 regencies in code order; or codes."""
    known = all_regencies()
    if not spec:
        return known
    if "." in spec:
        codes = sorted(set(spec.split(",")))
        if unknown := set(codes) - set(known):
            raise SystemExit(f"--regencies: not regencies of Jawa Timur: {', '.join(sorted(unknown))}")
        return codes
    count = int(spec)
    if not 1 <= count <= len(known):
        raise SystemExit(f"--regencies: between 1 and {len(known)}")
    ordered = [JOMBANG] + [r for r in known if r != JOMBANG]
    return sorted(ordered[:count])


def scope_rows(regencies: list[str]) -> list[dict[str, object]]:
    """The province file's own people (same seed), only those of the scope's villages."""
    wanted = set(regencies)
    return [row for row in synthetic.team_rows(None) if str(row["kode_desa"])[:5] in wanted]


# -- database helpers -------------------------------------------------------------------------------
def query(stack, unit: str, sql: str, params: tuple = ()) -> list[tuple]:
    conn = psycopg2.connect(stack.database_url(unit))
    try:
        with conn, conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()
    finally:
        conn.close()


def wait_until(label: str, check: Callable[[], bool], timeout: float, interval: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{label}: not reached within {timeout:.0f} s")
        time.sleep(interval)


# -- processes: RSS and CPU from /proc --------------------------------------------------------------
def _proc_table() -> dict[int, tuple[int, float, int]]:
    """pid -> (parent pid, CPU seconds, RSS bytes) of every process."""
    page = os.sysconf("SC_PAGE_SIZE")
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        table[int(entry)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS, int(fields[21]) * page)
    return table


def peak_rss_bytes(pid: int) -> int | None:
    """The kernel's high-water mark of a process's resident memory (VmHWM), since it started."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


class ProcessSampler(threading.Thread):
    """Every ``interval`` s: each labelled process with its descendants (a service's ``CpuPool``
    workers), their CPU seconds and RSS; PostgreSQL's backends of our databases as one label.
    ``mark(stage)`` closes the previous stage: CPU per label and the machine's busy share."""

    def __init__(self, processes: dict[str, int], postgres_pids: Callable[[], list[int]], interval: float = 0.5):
        super().__init__(daemon=True)
        self.processes, self.postgres_pids, self.interval = processes, postgres_pids, interval
        self.cpu_seen: dict[int, tuple[str, float]] = {}  # pid -> (label, last CPU seconds seen)
        self.peak_own: dict[str, int] = {}
        self.peak_with_workers: dict[str, int] = {}
        self.stages: list[dict[str, Any]] = []
        self._open: tuple[str, float, dict[str, float], tuple[float, float]] | None = None
        self._finished = threading.Event()
        self._lock = threading.Lock()

    def run(self) -> None:
        while not self._finished.wait(self.interval):
            self.sample()

    def sample(self) -> None:
        table = _proc_table()
        children: dict[int, list[int]] = {}
        for pid, (ppid, _, _) in table.items():
            children.setdefault(ppid, []).append(pid)
        groups = {label: [pid] for label, pid in self.processes.items()}
        try:
            groups["postgres(our dbs)"] = self.postgres_pids()
        except psycopg2.Error:
            pass
        with self._lock:
            # The driver starts the services and the readers: each of those is its own label, so
            # a descendant counts under the nearest labelled ancestor only.
            labelled = set(self.processes.values())
            for label, roots in groups.items():
                tree, todo = [], list(roots)
                while todo:
                    pid = todo.pop()
                    if pid in table:
                        tree.append(pid)
                        if label != "postgres(our dbs)":
                            todo.extend(c for c in children.get(pid, ()) if c not in labelled)
                for pid in tree:
                    self.cpu_seen[pid] = (label, table[pid][1])
                if label in self.processes and self.processes[label] in table:
                    own = table[self.processes[label]][2]
                    self.peak_own[label] = max(self.peak_own.get(label, 0), own)
                    total = sum(table[pid][2] for pid in tree)
                    self.peak_with_workers[label] = max(self.peak_with_workers.get(label, 0), total)

    def _cpu_by_label(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for label, cpu in self.cpu_seen.values():
            out[label] = out.get(label, 0.0) + cpu
        return out

    def mark(self, stage: str | None) -> None:
        """End the open stage (if any) and open ``stage`` (None: just end)."""
        self.sample()
        now, machine = time.monotonic(), machine_busy_seconds()
        with self._lock:
            cpu = self._cpu_by_label()
            if self._open:
                name, started, cpu0, (busy0, total0) = self._open
                used = {label: round(v - cpu0.get(label, 0.0), 2) for label, v in cpu.items()}
                busy = machine[0] - busy0
                self.stages.append({
                    "stage": name, "wall_s": round(now - started, 2), "cpu_s": used,
                    "cpu_s_everything_else": round(max(busy - sum(used.values()), 0.0), 2),
                    "machine_busy_pct": round(100.0 * busy / max(machine[1] - total0, 1e-9), 1)})
            self._open = (stage, now, cpu, machine) if stage else None

    def stop(self) -> dict[str, Any]:
        self.mark(None)
        self._finished.set()
        self.join(5)
        mb = 1024 * 1024
        return {"stages": self.stages,
                "peak_rss_mb": {label: {"process": round(self.peak_own[label] / mb, 1),
                                        "with_workers": round(self.peak_with_workers[label] / mb, 1),
                                        "process_high_water_mark": round((peak_rss_bytes(pid) or 0) / mb, 1)}
                                for label, pid in self.processes.items() if label in self.peak_own}}


# -- concurrent readers (a process of their own) -----------------------------------------------------
READ_KINDS = ("participants", "cooperative statistics", "sessions", "certificates")


def read_path(kind: str, regency: str) -> str:
    return {"participants": f"/api/v1/participants?regency={regency}&limit=50",
            "cooperative statistics": f"/api/v1/cooperatives/statistics?regency={regency}",
            "sessions": f"/api/v1/sessions?regency={regency}&limit=50",
            "certificates": f"/api/v1/certificates?regency={regency}&limit=50",
            "bare": f"/items/{regency}"}[kind]


async def _readers(args: argparse.Namespace) -> None:
    """``READERS`` clients, each reading once every ``interval`` s (due times fixed in advance:
    latency counts from the due instant, so a slow answer delays no measurement); stage labels
    and ``stop`` come on stdin, one JSON line answers each."""
    import aiohttp

    regencies = args.regencies.split(",")
    records: list[tuple[str, str, float, int | str]] = []  # stage, kind, latency s, status
    state = {"stage": "idle", "token": "", "minted": 0.0, "running": True}

    def token() -> str:
        if args.target == "gateway" and time.monotonic() - state["minted"] > TOKEN_LIFETIME_MARGIN_S:
            from bimtek_gateway.identity import issue_access_token
            from bimtek_gateway.settings import GatewaySettings

            state["token"], _ = issue_access_token(GatewaySettings(), user_id=str(uuid.uuid4()),
                                                   role="province_admin", regency="*")
            state["minted"] = time.monotonic()
        return state["token"]

    async def client(index: int, session: aiohttp.ClientSession) -> None:
        rng = random.Random(index)
        due = time.monotonic() + rng.random() * args.interval  # spread the clients over the interval
        while state["running"]:
            await asyncio.sleep(max(due - time.monotonic(), 0))
            kind = "bare" if args.target == "bare" else rng.choice(READ_KINDS)
            headers = {"Authorization": f"Bearer {token()}"} if args.target == "gateway" else {}
            stage = state["stage"]
            try:
                async with session.get(read_path(kind, rng.choice(regencies)), headers=headers) as answer:
                    await answer.read()
                    status: int | str = answer.status
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                status = type(exc).__name__
            if stage != "idle":
                records.append((stage, kind, time.monotonic() - due, status))
            due += args.interval

    def summary() -> dict[str, Any]:
        out: dict[str, Any] = {}
        for stage in dict.fromkeys(r[0] for r in records):
            mine = [r for r in records if r[0] == stage]
            ok = [r[2] for r in mine if r[3] == 200]
            errors: dict[str, int] = {}
            for r in mine:
                if r[3] != 200:
                    errors[str(r[3])] = errors.get(str(r[3]), 0) + 1
            out[stage] = {**summarise_ms(ok), "errors": errors,
                          "by_kind": {k: summarise_ms([r[2] for r in mine if r[1] == k and r[3] == 200])
                                      for k in dict.fromkeys(r[1] for r in mine)}}
        every = [r[2] for r in records if r[3] == 200]
        out["all"] = {**summarise_ms(every), "errors": sum(1 for r in records if r[3] != 200)}
        return out

    loop = asyncio.get_running_loop()
    commands: asyncio.Queue[str] = asyncio.Queue()
    threading.Thread(target=lambda: [loop.call_soon_threadsafe(commands.put_nowait, line.strip())
                                     for line in sys.stdin], daemon=True).start()
    connector = aiohttp.TCPConnector(limit=args.clients)
    async with aiohttp.ClientSession(base_url=args.base_url, connector=connector,
                                     timeout=aiohttp.ClientTimeout(total=60)) as session:
        tasks = [asyncio.create_task(client(i, session)) for i in range(args.clients)]
        print(json.dumps({"ready": True}), flush=True)
        while True:
            command = await commands.get()
            if command.startswith("stage "):
                state["stage"] = command.removeprefix("stage ")
                print(json.dumps({"stage": state["stage"]}), flush=True)
            elif command == "stop":
                state["stage"] = "idle"
                print(json.dumps(summary()), flush=True)
                records.clear()
            elif command in ("quit", ""):
                state["running"] = False
                break
        for task in tasks:
            task.cancel()


class Readers(CommandedProcess):
    def __init__(self, target: str, base_url: str, regencies: list[str], log_dir: Path) -> None:
        cmd = [sys.executable, str(Path(__file__).resolve()), "readers", "--target", target, "--base-url", base_url,
               "--regencies", ",".join(regencies), "--clients", str(READERS), "--interval", str(READ_INTERVAL_S)]
        super().__init__(f"the {target} readers", cmd, log_dir / f"province-readers-{target}.log")

    def stage(self, name: str) -> None:
        self.command(f"stage {name}")

    def results(self) -> dict[str, Any]:
        return self.command("stop")


# -- raw limits, same run ---------------------------------------------------------------------------
def copy_baseline(stack, rows: list[dict[str, object]]) -> dict[str, Any]:
    """PostgreSQL COPY of the import's rows (every column of the file) into a scratch table of
    registration's database, committed: what the database takes in bulk with nothing else to do."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in rows:
        writer.writerow([row[h].isoformat() if isinstance(row[h], date) else row[h] for h in synthetic.HEADINGS])
    data = buffer.getvalue()
    conn = psycopg2.connect(stack.database_url("registration"))
    try:
        with conn.cursor() as cur:
            cur.execute("DROP TABLE IF EXISTS bench_copy_scratch")
            cur.execute("CREATE TABLE bench_copy_scratch (kode_desa text, nama_koperasi text, nik text, "
                        "nama_lengkap text, jenis_kelamin text, tanggal_lahir date, no_hp text, jabatan text)")
        conn.commit()
        started = time.monotonic()
        with conn.cursor() as cur:
            cur.copy_expert("COPY bench_copy_scratch FROM STDIN WITH (FORMAT csv)", io.StringIO(data))
        conn.commit()
        seconds = time.monotonic() - started
        with conn.cursor() as cur:
            cur.execute("DROP TABLE bench_copy_scratch")
        conn.commit()
    finally:
        conn.close()
    return {"rows": len(rows), "seconds": round(seconds, 3), "rows_per_s": round(len(rows) / seconds)}


def raw_limits(stack, rows: list[dict[str, object]], regencies: list[str], log_dir: Path) -> dict[str, Any]:
    import broker_baseline
    import gateway_load
    import pipeline

    out: dict[str, Any] = {}
    log("   raw limits: broker (plain kombu), PostgreSQL COPY, the readers against a bare FastAPI app")
    out["broker"] = broker_baseline.run(amqp_uri(), pipeline.sample_envelope_json(), BROKER_N["publish"],
                                        BROKER_N["confirm_each"])
    out["copy"] = copy_baseline(stack, rows)
    bare = gateway_load.BareApp(log_dir)
    try:
        readers = Readers("bare", bare.url, regencies, log_dir)
        try:
            readers.stage("bare")
            time.sleep(BARE_BASELINE_S)
            out["bare_readers"] = readers.results()["bare"]
        finally:
            readers.close()
    finally:
        bare.stop()
    log(f"   broker publish {out['broker']['publish_confirm_batched_per_s']:,.0f}/s, consume "
        f"{out['broker']['consume_prefetch10_per_s']:,.0f}/s; COPY {out['copy']['rows_per_s']:,}/s; "
        f"bare readers p50 {out['bare_readers'].get('p50')} ms, p99 {out['bare_readers'].get('p99')} ms")
    return out


# -- the stack --------------------------------------------------------------------------------------
def fresh_stack(stack, instances: int) -> dict[str, int]:
    """Stop everything, drop the databases and the vhost, and start again from nothing with
    ``instances`` processes each of scheduling and certificates. Returns label -> pid."""
    stack.down()
    drop_databases(stack)
    delete_vhost()
    create_vhost()
    stack.migrate()
    stack.setup_broker()
    names = []
    for unit in UNITS:
        for number in range(1, (instances if unit.name in SCALED_UNITS else 1) + 1):
            name = instance_name(unit.name, number)
            stack.ports.setdefault(name, free_port())
            stack.start(unit.name, number)
            names.append(name)
    for name in names:
        stack.wait_ready(name, timeout=120)
    return {name: stack.pid(name) for name in names}


def postgres_backends(stack) -> Callable[[], list[int]]:
    conn = psycopg2.connect(f"{POSTGRES_URL}/postgres")
    conn.autocommit = True
    prefix = stack.database_prefix + "\\_%"

    def pids() -> list[int]:
        with conn.cursor() as cur:
            cur.execute("SELECT pid FROM pg_stat_activity WHERE datname LIKE %s", (prefix,))
            return [r[0] for r in cur.fetchall()]

    pids.close = conn.close  # type: ignore[attr-defined]
    return pids


def province_admin(stack) -> BimtekApi:
    """A province administrator created as an operator would, signed in through the API."""
    import secrets
    import subprocess

    username, password = f"bench.province.{secrets.token_hex(3)}", secrets.token_urlsafe(18)
    gateway_env = stack.env_for(next(u for u in UNITS if u.name == "gateway"))
    subprocess.run([sys.executable, "-m", "bimtek_gateway.cli", "create-user", username, "--role", "province_admin"],
                   env={**gateway_env, "BIMTEK_PASSWORD": password}, check=True, stdout=subprocess.DEVNULL,
                   cwd=REPO_ROOT / "gateway")
    return BimtekApi.signed_in(stack.gateway_url, username, password, timeout=300.0)


# -- the lifecycle ----------------------------------------------------------------------------------
def invitation_signer():
    from scheduling.adapters.invitation_tokens import InvitationSigner
    from scheduling.settings import SchedulingSettings

    return InvitationSigner.from_config(SchedulingSettings().nameko_config())


def lifecycle(stack, api: BimtekApi, rows: list[dict[str, object]], regencies: list[str],
              sampler: ProcessSampler, readers: Readers) -> dict[str, Any]:
    """One run through the API; every figure in seconds from the upload unless said otherwise."""
    people = len(rows)
    villages = len({row["kode_desa"] for row in rows})
    times: dict[str, float] = {}
    facts: dict[str, Any] = {"participants": people, "cooperatives": villages, "regencies": len(regencies)}

    def stage(name: str) -> None:
        sampler.mark(name)
        readers.stage(name)

    content = synthetic.to_xlsx(rows)
    facts["file_mb"] = round(len(content) / 1e6, 1)
    stage("import")
    started = time.monotonic()
    at = lambda: round(time.monotonic() - started, 2)  # noqa: E731
    job = api.start_import(content, "peserta-jawa-timur.xlsx")
    job = api.wait_for_job(job, timeout=1800, interval=0.1)
    if job["status"] != "succeeded" or job["done"] != people:
        raise RuntimeError(f"the import did not succeed: {job['status']}, {job.get('done')} of {people}, "
                           f"first errors {job.get('errors', [])[:3]}")
    times["import_job_done"] = at()
    wait_until("scheduling and certificates hold every participant", lambda: query(
        stack, "scheduling", "SELECT (SELECT count(*) FROM participants), (SELECT count(*) FROM cooperatives)")[0]
        == (people, villages) and query(stack, "certificates", "SELECT count(*) FROM roster")[0][0] == people,
        timeout=600)
    times["imported"] = at()
    log(f"   imported {people:,} people of {villages:,} cooperatives: job {times['import_job_done']} s, "
        f"both consumers {times['imported']} s")

    stage("set-up")
    for i in range(RESOURCE_PERSONS):
        topics = [t["topic"] for t in TOPICS] if i < 4 else [t["topic"] for t in TOPICS][(i % 2) * 2:(i % 2) * 2 + 2]
        api.create_resource_person({"name": f"Narasumber UPT Pelatihan {i + 1}", "topics": topics,
                                    "available": AVAILABLE})
    programmes = {}
    for regency in regencies:
        programmes[regency] = api.create_programme({
            "regency": regency, "title": f"Bimtek Perkoperasian KDMP {regency} 2026", "topics": TOPICS,
            "days_per_session": 1, "window_start": WINDOW[0], "window_end": WINDOW[1],
            "min_attendance_days": 1})["id"]
        api.create_venue({"regency": regency, "name": f"Aula Pemkab {regency}", "capacity": HALL_SEATS,
                          "available": AVAILABLE})
    times["set_up"] = at()

    stage("planning")
    planning_started = time.monotonic()
    previews = api.preview_plans([programmes[regency] for regency in regencies])
    previewed = time.monotonic()
    published = api.publish_plans([preview["id"] for preview in previews])
    times["planned"] = at()
    facts["planning_s"] = round(time.monotonic() - planning_started, 2)
    facts["planning_steps_s"] = {"preview": round(previewed - planning_started, 2),
                                 "publish": round(time.monotonic() - previewed, 2)}
    if [plan["status"] for plan in published] != ["published"] * len(regencies):
        raise RuntimeError(f"not every plan was published: {[plan['status'] for plan in published]}")
    sessions: list[dict[str, Any]] = [{**s, "regency": regency} for regency in regencies
                                      for s in api.get_plan(programmes[regency])["sessions"]]
    facts["sessions"] = len(sessions)
    seats = [(uuid.UUID(p), uuid.UUID(s), assigned_at) for p, s, assigned_at in
             query(stack, "scheduling", "SELECT participant_id::text, session_id::text, assigned_at FROM assignments")]
    if len(seats) != people:
        raise RuntimeError(f"the plans seat {len(seats)} of {people} participants")
    wait_until("certificates knows every seat", lambda: query(
        stack, "certificates", "SELECT count(*) FROM seats")[0][0] == people, timeout=600)
    times["plan_delivered"] = at()
    log(f"   planned {len(sessions)} sessions in {facts['planning_s']} s (published at {times['planned']} s); "
        f"certificates knew every seat at {times['plan_delivered']} s")

    stage("check-in")
    signer = invitation_signer()
    by_session: dict[uuid.UUID, list[tuple[uuid.UUID, str]]] = {}
    for participant, session_id, assigned_at in sorted(seats):
        by_session.setdefault(session_id, []).append((participant, signer.sign(participant, session_id, assigned_at)))
    for session in sessions[:: max(1, len(sessions) // 20)]:  # the QRs are the invitations' own
        participant, qr = by_session[uuid.UUID(session["id"])][0]
        if api.get_invitation(str(participant))["invitations"][0]["qr"] != qr:
            raise RuntimeError("a QR signed here differs from the invitation's: the scans would not be the phones'")
    phones = {s["id"]: api.issue_device_token(f"HP presensi sesi {i + 1}", session_id=s["id"], regency=s["regency"])
              ["token"] for i, s in enumerate(sessions)}
    times["phones_ready"] = at()

    def upload(session: dict[str, Any]) -> dict[str, int]:
        day = date.fromisoformat(session["days"][0])
        scanned_at = datetime(day.year, day.month, day.day, 8, tzinfo=JAKARTA).isoformat()
        scans = [{"nonce": str(uuid.uuid4()), "qr": qr, "scanned_at": scanned_at}
                 for _, qr in by_session[uuid.UUID(session["id"])][:-1]]  # the last one seated stays away
        with api.device(phones[session["id"]]) as phone:
            return phone.sync_check_ins(scans)["counts"]

    sync_started = time.monotonic()
    with ThreadPoolExecutor(PHONES_AT_ONCE) as pool:
        counts = list(pool.map(upload, sessions))
    facts["check_in_sync_s"] = round(time.monotonic() - sync_started, 2)
    recorded = sum(c.get("recorded", 0) for c in counts)
    facts["scans"] = sum(sum(c.values()) for c in counts)
    facts["scans_recorded"] = recorded
    if recorded != people - len(sessions):
        raise RuntimeError(f"check-ins recorded {recorded} of {people - len(sessions)} scans: {counts[:3]}")
    times["checked_in"] = at()
    wait_until("certificates knows every attendance day", lambda: query(
        stack, "certificates", "SELECT count(*) FROM attendance_days WHERE present")[0][0] == recorded, timeout=600)
    times["attendance_delivered"] = at()
    log(f"   {recorded:,} scans uploaded by {len(sessions)} phones in {facts['check_in_sync_s']} s; "
        f"certificates knew every day at {times['attendance_delivered']} s")

    stage("closing")
    closing_started = time.monotonic()
    closing_wall = datetime.now(timezone.utc)
    with ThreadPoolExecutor(CLOSURES_AT_ONCE) as pool:
        answers = list(pool.map(lambda s: api.close_session(s["id"]), sessions))
    facts["closures_answered_s"] = round(time.monotonic() - closing_started, 2)
    completed = sum(len(a["completed"]) for a in answers)
    if completed != recorded:
        raise RuntimeError(f"{completed} completed of {recorded} who attended")
    wait_until("every certificate issued", lambda: query(
        stack, "certificates", "SELECT count(*) FROM certificates WHERE status = 'valid'")[0][0] == completed,
        timeout=3600, interval=0.5)
    facts["issuance_s"] = round(time.monotonic() - closing_started, 2)
    times["certified"] = at()
    sampler.mark(None)
    readers.stage("idle")
    first, last = query(stack, "certificates", "SELECT min(issued_at), max(issued_at) FROM certificates")[0]
    facts["issued_at_first_s"] = round((first - closing_wall).total_seconds(), 2)
    facts["issued_at_last_s"] = round((last - closing_wall).total_seconds(), 2)
    facts["certificates"] = completed
    log(f"   {len(sessions)} sessions closed (answered in {facts['closures_answered_s']} s); {completed:,} "
        f"certificates issued {facts['issuance_s']} s after the first closure; end to end {times['certified']} s")

    planning = facts["planning_s"]
    return {**facts, "times_s": times,
            "rates": {"import_rows_per_s": round(people / times["imported"], 1),
                      "planning_s": planning,
                      "check_in_scans_per_s": round(facts["scans"] / facts["check_in_sync_s"], 1),
                      "certificates_per_s": round(completed / facts["issuance_s"], 1),
                      "end_to_end_s": times["certified"]}}


def run_once(stack, label: str, instances: int, rows: list[dict[str, object]], regencies: list[str],
             log_dir: Path) -> dict[str, Any]:
    log(f"   {label}: fresh databases and vhost, {instances} instance(s) of {' and '.join(SCALED_UNITS)}")
    processes = fresh_stack(stack, instances)
    backends = postgres_backends(stack)
    processes_measured = {**processes, "bench (driver)": os.getpid()}
    if (b := broker_pid()) is not None:
        processes_measured["rabbitmq(shared)"] = b
    readers = Readers("gateway", stack.gateway_url, regencies, log_dir)
    try:
        processes_measured["readers"] = readers.pid
        sampler = ProcessSampler(processes_measured, backends)
        sampler.start()
        try:
            with province_admin(stack) as api:
                result = lifecycle(stack, api, rows, regencies, sampler, readers)
        finally:
            measured = sampler.stop()
        result_readers = readers.results()
    finally:  # the readers and the sampler's connection never outlive the run, whatever failed
        readers.close()
        backends.close()  # type: ignore[attr-defined]
    return {"label": label, "instances": instances, **result, **measured, "readers": result_readers}


def run_phase(stack, *, regencies_spec: str | None, instances: list[int], log_dir: Path,
              wait_for_quiet: Callable[[str], float]) -> dict[str, Any]:
    regencies = scope_regencies(regencies_spec)
    rows = scope_rows(regencies)
    province = len(regencies) == len(all_regencies())
    result: dict[str, Any] = {"scope": {"regencies": regencies, "participants": len(rows), "province": province},
                              "targets_s": TARGETS_S, "readers": {"clients": READERS, "interval_s": READ_INTERVAL_S},
                              "runs": []}
    log(f"province: {len(regencies)} regencies, {len(rows):,} participants; instances {instances}")
    result["raw"] = raw_limits(stack, rows, regencies, log_dir)  # on the stack as run.py left it
    plan = []
    if regencies != [JOMBANG]:
        plan.append(("Jombang alone, 1 instance of scheduling and certificates", 1, scope_rows([JOMBANG]), [JOMBANG]))
    name = "Jombang alone" if regencies == [JOMBANG] else "Jawa Timur" if province else f"{len(regencies)} regencies"
    plan += [(f"{name}, {n} instance{'s' if n > 1 else ''} of scheduling and certificates", n, rows, regencies)
             for n in instances]
    for label, n, run_rows, run_regencies in plan:
        busy = wait_for_quiet(f"province: {label}")
        try:
            run = run_once(stack, label, n, run_rows, run_regencies, log_dir)
        except Exception as exc:  # noqa: BLE001 - the other runs' results still stand
            import traceback

            log(f"   {label} failed: {exc!r}")
            run = {"label": label, "instances": n, "error": traceback.format_exc(limit=8)}
        run["machine_busy_pct_before"] = busy
        result["runs"].append(run)
    return result


# -- results ----------------------------------------------------------------------------------------
def _scaled(res: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]] | None:
    scope = [r for r in res["runs"] if "error" not in r and r["regencies"] == len(res["scope"]["regencies"])]
    one = next((r for r in scope if r["instances"] == 1), None)
    two = next((r for r in scope if r["instances"] == 2), None)
    return (one, two) if one and two else None


def verdicts(res: dict[str, Any]) -> list[str]:
    lines = []
    met = lambda ok: "MET" if ok else "NOT MET"  # noqa: E731
    for run in res["runs"]:
        if "error" in run:
            lines.append(f"Province benchmark, {run['label']}: failed (see the results file)")
    jombang = next((r for r in res["runs"] if "error" not in r and r["regencies"] == 1 and r["instances"] == 1), None)
    if jombang:
        v = jombang["rates"]["end_to_end_s"]
        lines.append(f"Jombang's whole lifecycle ({jombang['participants']:,} people) in under "
                     f"{TARGETS_S['jombang_lifecycle']:.0f} s: {v} s -> {met(v < TARGETS_S['jombang_lifecycle'])}")
    main = next((r for r in res["runs"] if "error" not in r and r["regencies"] == len(res["scope"]["regencies"])
                 and r["instances"] == 1), None)
    if main and main["regencies"] > 1:
        note = "" if res["scope"]["province"] else f" (a subset of {main['regencies']} regencies: not the target)"
        checks = [("imported", main["times_s"]["imported"], "province_import"),
                  ("planned", main["planning_s"], "province_planning"),
                  (f"certified ({main['certificates']:,} certificates issued after the first closure)",
                   main["issuance_s"], "province_certificates")]
        for what, value, target in checks:
            verdict = met(value < TARGETS_S[target]) if res["scope"]["province"] else "not comparable"
            lines.append(f"The province {what} in under {TARGETS_S[target]:.0f} s: {value} s -> {verdict}{note}")
    if pair := _scaled(res):
        one, two = pair
        for key, text in (("certificates_per_s", "certificates/s"), ("check_in_scans_per_s", "check-in scans/s"),
                          ("import_rows_per_s", "import rows/s")):
            a, b = one["rates"][key], two["rates"][key]
            lines.append(f"Two instances each of scheduling and certificates: {text} {b:,.0f} against {a:,.0f} "
                         f"with one ({b / a:.2f}x)")
        closing = [next(s for s in run["stages"] if s["stage"] == "closing") for run in (one, two)]
        unit_cpu = [sum(v for k, v in s["cpu_s"].items() if k.split("-")[0] in SCALED_UNITS) for s in closing]
        lines.append(f"... while closing, scheduling and certificates used {unit_cpu[1]:.1f} CPU s with two "
                     f"instances against {unit_cpu[0]:.1f} with one; the machine was {closing[1]['machine_busy_pct']} % "
                     f"and {closing[0]['machine_busy_pct']} % busy (2 cores: more processes add workers, not cores)")
    return lines


def _errors(readers: dict[str, Any]) -> str:
    by_status: dict[str, int] = {}
    for stage, summary in readers.items():
        for status, count in (summary["errors"].items() if stage != "all" else ()):
            by_status[status] = by_status.get(status, 0) + count
    return ", ".join(f"{count} x {status}" for status, count in sorted(by_status.items())) or "none"


def _cpu_line(stage: dict[str, Any]) -> str:
    parts = sorted(stage["cpu_s"].items(), key=lambda kv: -kv[1])
    return ", ".join([f"{k} {v}" for k, v in parts if v >= 0.05] + [f"everything else {stage['cpu_s_everything_else']}"])


def render(res: dict[str, Any]) -> list[str]:
    raw, scope = res["raw"], res["scope"]
    out = ["## The province as a benchmark (phase `province`)", "",
           f"Scope: {len(scope['regencies'])} regencies ({'the whole province' if scope['province'] else ', '.join(scope['regencies'])}), "
           f"{scope['participants']:,} participants. Each run from fresh databases, driven through the public API "
           f"(`bimtek_cli.api`, a province administrator) while {res['readers']['clients']} readers each read a "
           f"list every {res['readers']['interval_s']} s. See bench/README.md for the method.", "",
           "Raw limits measured in the same run:", "",
           f"- broker (plain kombu, {raw['broker']['n']:,} messages): publish {raw['broker']['publish_confirm_batched_per_s']:,.0f}/s "
           f"(500 confirms in flight), {raw['broker']['publish_confirm_each_per_s']:,.0f}/s (confirm each); consume "
           f"{raw['broker']['consume_prefetch10_per_s']:,.0f}/s; fan-out to two consumers {raw['broker']['fanout_end_to_end_per_s']:,.0f}/s",
           f"- PostgreSQL COPY of the import's {raw['copy']['rows']:,} rows into a scratch table: "
           f"{raw['copy']['seconds']} s, {raw['copy']['rows_per_s']:,} rows/s",
           f"- the same readers against a bare FastAPI endpoint: p50 {raw['bare_readers'].get('p50')} ms, "
           f"p99 {raw['bare_readers'].get('p99')} ms ({raw['bare_readers'].get('n')} requests)", ""]
    good = [r for r in res["runs"] if "error" not in r]
    if good:
        out += ["| figure | " + " | ".join(r["label"] for r in good) + " | raw limit, same run |",
                "| --- | " + " | ".join("---:" for _ in good) + " | --- |"]
        rows = [
            ("participants / sessions", lambda r: f"{r['participants']:,} / {r['sessions']}", ""),
            ("import: job done / both consumers (s)", lambda r: f"{r['times_s']['import_job_done']} / **{r['times_s']['imported']}**", ""),
            ("import rows/s", lambda r: f"{r['rates']['import_rows_per_s']:,.0f}", f"COPY {raw['copy']['rows_per_s']:,}/s"),
            ("planning: previews + publications (s)", lambda r: f"**{r['planning_s']}**", ""),
            ("check-in sync: scans/s (s)", lambda r: f"{r['rates']['check_in_scans_per_s']:,.0f} ({r['check_in_sync_s']})", ""),
            ("closing: all answered (s)", lambda r: f"{r['closures_answered_s']}", ""),
            ("certificates: all issued after the first closure (s)", lambda r: f"**{r['issuance_s']}**", ""),
            ("certificates/s", lambda r: f"{r['rates']['certificates_per_s']:,.0f}",
             f"broker consume {raw['broker']['consume_prefetch10_per_s']:,.0f}/s"),
            ("end to end: upload to the last certificate (s)", lambda r: f"**{r['times_s']['certified']}**", ""),
            ("readers p50 / p99 (ms), whole run", lambda r: f"{r['readers']['all'].get('p50')} / {r['readers']['all'].get('p99')}",
             f"bare {raw['bare_readers'].get('p50')} / {raw['bare_readers'].get('p99')}"),
            ("readers' errors", lambda r: _errors(r["readers"]), ""),
            ("machine busy before the run (%)", lambda r: f"{r.get('machine_busy_pct_before')}", ""),
        ]
        for name, value, limit in rows:
            out.append(f"| {name} | " + " | ".join(value(r) for r in good) + f" | {limit} |")
        out.append("")
        for r in good:
            out += [f"### {r['label']}", "",
                    "Seconds from the upload: " + ", ".join(f"{k} {v}" for k, v in r["times_s"].items()) + ".", "",
                    "| stage | wall s | machine busy % | readers p50 / p99 ms (n) | CPU seconds |",
                    "| --- | ---: | ---: | --- | --- |"]
            for s in r["stages"]:
                rd = r["readers"].get(s["stage"], {})
                out.append(f"| {s['stage']} | {s['wall_s']} | {s['machine_busy_pct']} | {rd.get('p50')} / {rd.get('p99')} "
                           f"({rd.get('n', 0)}) | {_cpu_line(s)} |")
            out += ["", "Peak RSS, MB (sampled every 0.5 s during the run; with its CpuPool workers; the kernel's "
                        "high-water mark since the process started):", ""]
            out += [f"- {label}: {m['process']} / {m['with_workers']} / {m['process_high_water_mark']}"
                    for label, m in r["peak_rss_mb"].items() if label not in ("rabbitmq(shared)",)]
            out.append("")
    for r in res["runs"]:
        if "error" in r:
            out += [f"### {r['label']}: failed", "", "```", r["error"], "```", ""]
    return out


# -- the readers' command line ----------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description="the province benchmark's concurrent readers")
    commands = parser.add_subparsers(dest="command", required=True)
    readers = commands.add_parser("readers")
    readers.add_argument("--target", choices=("gateway", "bare"), required=True)
    readers.add_argument("--base-url", required=True)
    readers.add_argument("--regencies", required=True)
    readers.add_argument("--clients", type=int, default=READERS)
    readers.add_argument("--interval", type=float, default=READ_INTERVAL_S)
    args = parser.parse_args()
    try:
        import uvloop
        uvloop.install()
    except ImportError:
        pass
    asyncio.run(_readers(args))


if __name__ == "__main__":
    main()
