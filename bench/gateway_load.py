"""The gateway under a steady, open-loop load, beside a bare FastAPI app driven the same way.

The question (issue 3): with the services behind it, does the gateway keep p99 under 200 ms when
50 clients offer a steady 300 requests/s (80 % reads, 20 % writes), and what is the highest rate
it holds? A bare FastAPI app (``bare_fastapi.py``), served by the same uvicorn configuration and
driven by the same generator at the same rates, is the baseline.

Open loop: request k is due at ``start + k / rate`` whatever happened to the ones before it, and
its latency is measured from that instant. A request that waits for a free connection (all 50
busy) waits on the clock, so a slow server cannot hide its slowness by slowing the generator down
(coordinated omission).

Run by ``run.py --only gateway`` (see bench/README.md). This file is also the load generator,
started as a process of its own so its CPU is measured apart:

    python bench/gateway_load.py generate --target gateway|bare --base-url URL --ids-file FILE ...

It checks each kind of request once, prints ``{"ready": ...}``, then for each ``run RATE WARMUP
SECONDS`` line on stdin offers RATE requests/s for WARMUP + SECONDS and prints one JSON line about
the requests due in the last SECONDS; ``quit`` ends it. The access token comes in the environment
(``BENCH_ACCESS_TOKEN``), never on the command line.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import resource
import secrets
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Callable

from bimtek_shared.ops.local_stack import UNITS

from common import REPO_ROOT, CommandedProcess, CpuMeter, free_port, summarise_ms

REGENCY = "35.17"  # Kabupaten Jombang
TOKEN_ENVIRONMENT_VARIABLE = "BENCH_ACCESS_TOKEN"
P99_LIMIT_MS = 200.0
WRITE_SHARE = 0.2
LIST_SHARE_OF_READS = 0.25  # when GET /api/v1/participants (a page of the list) exists
GENERATOR_SATURATED = "the load generator saturated its core"
LOOP_LAG_METRIC = 'bimtek_event_loop_lag_seconds{service="gateway"}'


@dataclass(frozen=True)
class LoadConfig:
    participants: int  # registered through the API before the load; what the reads read
    connections: int  # concurrent clients, one keep-alive connection each
    target_rate: int  # requests/s of the target...
    target_seconds: float  # ...measured for this long
    step_seconds: float  # each step of the search for the highest rate held
    warmup_seconds: float  # before every measurement, at its rate, not counted
    growth: float  # the search multiplies the rate by this until a step fails...
    precision: float  # ...then bisects until failed / held <= precision
    max_rate: int
    max_steps: int  # per target, besides the target-rate run
    budget_seconds: float  # the whole phase, set-up included; the search stops when it is spent


FULL = LoadConfig(participants=300, connections=50, target_rate=300, target_seconds=30, step_seconds=10,
                  warmup_seconds=2, growth=2.0, precision=1.1, max_rate=6000, max_steps=6, budget_seconds=240)
QUICK = LoadConfig(participants=100, connections=50, target_rate=300, target_seconds=8, step_seconds=4,
                   warmup_seconds=1, growth=2.0, precision=1.25, max_rate=3000, max_steps=2, budget_seconds=90)


def configure(quick: bool, rate: int | None, seconds: float | None, steps: int | None) -> LoadConfig:
    """FULL or QUICK, with run.py's --gateway-rate / --gateway-seconds / --gateway-steps applied."""
    overrides = {"target_rate": rate, "target_seconds": seconds, "max_steps": steps}
    return replace(QUICK if quick else FULL, **{k: v for k, v in overrides.items() if v is not None})


# -- synthetic participants ------------------------------------------------------------------
KECAMATAN_COUNT = 21  # Kabupaten Jombang has 21 kecamatan, 35.17.01 to 35.17.21
BIRTH_DAYS = 14_000  # births from 1960-01-01 over ~38 years
FIRST_BIRTH = date(1960, 1, 1)
POSITIONS = ("ketua", "wakil_ketua_usaha", "wakil_ketua_keanggotaan", "sekretaris", "bendahara",
             "anggota_pengurus", "ketua_pengawas", "anggota_pengawas")
NAMES = {"P": ("Siti Aminah", "Sri Wahyuningsih", "Dewi Lestari", "Nur Hidayah"),
         "L": ("Ahmad Fauzi", "Budi Santoso", "Agus Setiawan", "Muhammad Rizki")}


def participant_body(index: int) -> dict[str, Any]:
    """A valid registration for index ``index``: distinct indexes give distinct NIKs.

    The NIK (``PP KK CC DDMMYY SSSS``) is 35.17, a kecamatan, the birth date (day + 40 for women)
    and a serial; the index fixes kecamatan, birth date and serial one to one."""
    kecamatan = 1 + index % KECAMATAN_COUNT
    rest = index // KECAMATAN_COUNT
    birth = FIRST_BIRTH + timedelta(days=rest % BIRTH_DAYS)
    serial = 1 + rest // BIRTH_DAYS
    if serial > 9999:
        raise ValueError("index beyond the synthetic NIK space")
    sex = "P" if index % 2 else "L"
    day = birth.day + (40 if sex == "P" else 0)
    body = {
        "nik": f"3517{kecamatan:02d}{day:02d}{birth.month:02d}{birth.year % 100:02d}{serial:04d}",
        "full_name": NAMES[sex][index % len(NAMES[sex])],
        "sex": sex,
        "birth_date": birth.isoformat(),
        "position": POSITIONS[index % len(POSITIONS)],
    }
    if index % 2 == 0:
        body["phone"] = f"0812{index % 100_000_000:08d}"
    return body


# ============================================================================================
# The load generator (its own process)
# ============================================================================================
def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Requests:
    """What each kind of request is, against one target."""

    def __init__(self, target: str, ids: list[str], first_write_index: int) -> None:
        self.target = target
        self.ids = ids
        self.next_write_index = first_write_index
        self.list_reads = False  # switched on when the target answers a list read

    def make(self, kind: str, rng: random.Random) -> tuple[str, str, bytes | None, dict[str, str]]:
        """(method, path, body, headers) of one request of this kind."""
        if kind == "write":
            body = json.dumps(participant_body(self.next_write_index)).encode()
            self.next_write_index += 1
            headers = {"Content-Type": "application/json", "Idempotency-Key": uuid.uuid4().hex}
            return "POST", "/api/v1/participants" if self.target == "gateway" else "/items", body, headers
        if kind == "list":
            return "GET", "/api/v1/participants", None, {}
        participant_id = rng.choice(self.ids)
        path = f"/api/v1/participants/{participant_id}" if self.target == "gateway" else f"/items/{participant_id}"
        return "GET", path, None, {}

    def kind_for(self, rng: random.Random) -> str:
        if rng.random() < WRITE_SHARE:
            return "write"
        if self.list_reads and rng.random() < LIST_SHARE_OF_READS:
            return "list"
        return "read"


EXPECTED_STATUS = {"read": 200, "list": 200, "write": 201}


class Generator:
    def __init__(self, args: argparse.Namespace) -> None:
        import aiohttp

        self.aiohttp = aiohttp
        self.args = args
        self.requests = Requests(args.target, json.loads(Path(args.ids_file).read_text()), args.first_write_index)
        token = os.environ.get(TOKEN_ENVIRONMENT_VARIABLE, "")
        self.headers = {"Accept": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
        self.sessions: list[Any] = []
        self.runs = 0

    def new_session(self) -> Any:
        aiohttp = self.aiohttp
        # One connection per client; dropped by the client after 4 s idle, before uvicorn's 5 s
        # keep-alive timeout can close it under a request.
        connector = aiohttp.TCPConnector(limit=1, keepalive_timeout=4.0)
        return aiohttp.ClientSession(base_url=self.args.base_url, connector=connector, headers=self.headers,
                                     timeout=aiohttp.ClientTimeout(total=30), auto_decompress=False)

    async def send(self, session: Any, kind: str, rng: random.Random) -> tuple[int | str, bytes]:
        method, path, body, headers = self.requests.make(kind, rng)
        try:
            async with session.request(method, path, data=body, headers=headers) as response:
                return response.status, await response.read()
        except Exception as exc:  # noqa: BLE001 - counted by type, like a status
            return type(exc).__name__, b""

    async def check(self) -> dict[str, Any]:
        """Each kind of request once; list reads only if the target answers them."""
        rng = random.Random(0)
        session = self.sessions[0]
        seen = {}
        for kind in ("read", "write"):
            status, body = await self.send(session, kind, rng)
            seen[kind] = status
            if status != EXPECTED_STATUS[kind]:
                raise RuntimeError(f"{kind} answered {status}: {body[:300]!r}")
        if self.args.target == "gateway":
            status, body = await self.send(session, "list", rng)
            seen["list"] = status
            self.requests.list_reads = status == 200
        return seen

    async def run(self, rate: float, warmup: float, seconds: float) -> dict[str, Any]:
        self.runs += 1
        rng = random.Random(f"{self.args.target}-{self.runs}")
        queue: asyncio.Queue = asyncio.Queue()
        records: list[tuple[str, float, float, float, int | str]] = []  # kind, due, sent, done, status
        in_flight: dict[int, float] = {}  # client -> due instant of the measured request it is sending
        sent_count = 0
        total = int(round(rate * (warmup + seconds)))
        start = time.perf_counter() + 0.05
        measured_from = start + warmup
        cpu0 = cpu_seconds()
        dispatch_late: list[float] = []

        async def client(number: int, session: Any) -> None:
            nonlocal sent_count
            while True:
                item = await queue.get()
                if item is None:
                    return
                kind, due = item
                if due >= measured_from:
                    in_flight[number] = due
                sent_count += 1
                sent = time.perf_counter()
                status, _ = await self.send(session, kind, rng)
                done = time.perf_counter()
                in_flight.pop(number, None)
                if due >= measured_from:
                    records.append((kind, due, sent, done, status))

        clients = [asyncio.create_task(client(n, s)) for n, s in enumerate(self.sessions)]
        aborted = None
        k = 0
        while k < total:
            now = time.perf_counter()
            due = start + k / rate
            if due > now:
                await asyncio.sleep(due - now)
                continue
            while k < total and start + k / rate <= now:
                due = start + k / rate
                queue.put_nowait((self.requests.kind_for(rng), due))
                if due >= measured_from:
                    dispatch_late.append(now - due)
                k += 1
            if queue.qsize() > 2 * rate:  # two seconds of requests wait for a client: far past the limit
                aborted = f"over {2 * rate:.0f} requests waiting for a free connection"
                break
        offered_until = time.perf_counter() if aborted else start + total / rate
        unanswered = self._take_queued(queue, measured_from) if aborted else []
        for _ in clients:
            queue.put_nowait(None)
        _, pending = await asyncio.wait(clients, timeout=self.args.drain_seconds)
        given_up = time.perf_counter()
        unanswered += list(in_flight.values()) + self._take_queued(queue, measured_from)
        for number, task in enumerate(clients):
            if task in pending:
                task.cancel()
                # Its connection is in an unknown state: a new one for the next run.
                await self.sessions[number].close()
                self.sessions[number] = self.new_session()
        cpu = cpu_seconds() - cpu0
        return summarise_run(records, unanswered, given_up, measured_from, offered_until - measured_from,
                             rate, seconds, dispatch_late, aborted,
                             {"cpu_s": round(cpu, 3), "cpu_pct": round(100 * cpu / (given_up - start), 1),
                              "requests_sent": sent_count})

    @staticmethod
    def _take_queued(queue: asyncio.Queue, measured_from: float) -> list[float]:
        """Empties the queue; the due instants of the measured requests that were in it."""
        dues = []
        while not queue.empty():
            item = queue.get_nowait()
            if item is not None and item[1] >= measured_from:
                dues.append(item[1])
        return dues


def summarise_run(records: list[tuple[str, float, float, float, int | str]], unanswered: list[float],
                  now: float, measured_from: float, offered_seconds: float, rate: float, seconds: float,
                  dispatch_late: list[float], aborted: str | None, client: dict[str, Any]) -> dict[str, Any]:
    """Latency from each request's due instant; an unanswered request counts as an error, and
    its latency as at least its age when the run gave up on it."""
    errors: Counter = Counter()
    latencies, by_kind, waits, services = [], {}, [], []
    last_done = measured_from
    for kind, due, sent, done, status in records:
        latencies.append(done - due)
        by_kind.setdefault(kind, []).append(done - due)
        waits.append(sent - due)
        services.append(done - sent)
        last_done = max(last_done, done)
        if status != EXPECTED_STATUS[kind]:
            errors[str(status)] += 1
    for due in unanswered:
        latencies.append(now - due)
        errors["unanswered"] += 1
    ok = len(records) - sum(v for k, v in errors.items() if k != "unanswered")
    summary = summarise_ms(latencies)
    return {
        "rate": rate,
        "seconds": seconds,
        "scheduled": len(records) + len(unanswered),
        "ok": ok,
        "errors": dict(errors),
        "error_count": sum(errors.values()),
        "achieved_per_s": round(ok / max(offered_seconds, last_done - measured_from, 1e-9), 1),
        "latency_ms": summary,
        "by_kind_ms": {kind: summarise_ms(values) for kind, values in sorted(by_kind.items())},
        "kind_counts": {kind: len(values) for kind, values in sorted(by_kind.items())},
        # Where the time went: from due to sent (the generator's own lateness, then waiting for one of
        # the connections to be free), then from sent to answered.
        "before_sending_ms": summarise_ms(waits),
        "on_connection_ms": summarise_ms(services),
        "dispatch_late_ms": summarise_ms(dispatch_late),
        "aborted": aborted,
        "held": aborted is None and not errors and bool(latencies) and summary["p99"] < P99_LIMIT_MS,
        "client": client,
    }


async def generate(args: argparse.Namespace) -> None:
    generator = Generator(args)
    generator.sessions = [generator.new_session() for _ in range(args.connections)]
    loop = asyncio.get_running_loop()
    try:
        seen = await generator.check()
        print(json.dumps({"ready": True, "checked": seen, "list_reads": generator.requests.list_reads}),
              flush=True)
        while True:
            line = (await loop.run_in_executor(None, sys.stdin.readline)).split()
            if not line or line[0] == "quit":
                break
            rate, warmup, seconds = float(line[1]), float(line[2]), float(line[3])
            print(json.dumps(await generator.run(rate, warmup, seconds)), flush=True)
    finally:
        for session in generator.sessions:
            await session.close()


# ============================================================================================
# The phase (in run.py's process)
# ============================================================================================
def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def sign_in_and_register(stack, config: LoadConfig, state_dir: Path) -> dict[str, Any]:
    """An operator of Kabupaten Jombang, signed in through the API; participants registered
    through the API. Returns the token and the file of participant ids the reads use."""
    import aiohttp

    username, password = f"bench.operator.{secrets.token_hex(3)}", secrets.token_urlsafe(18)
    gateway_env = stack.env_for(next(u for u in UNITS if u.name == "gateway"))
    subprocess.run([sys.executable, "-m", "bimtek_gateway.cli", "create-user", username, "--role", "operator",
                    "--regency", REGENCY], env={**gateway_env, "BIMTEK_PASSWORD": password}, check=True,
                   stdout=subprocess.DEVNULL, cwd=REPO_ROOT / "gateway")

    async def go() -> tuple[str, list[str]]:
        async with aiohttp.ClientSession(base_url=stack.gateway_url, timeout=aiohttp.ClientTimeout(total=30)) as api:
            async with api.post("/api/v1/auth/token", json={"username": username, "password": password}) as r:
                if r.status != 200:
                    raise RuntimeError(f"sign-in answered {r.status}: {(await r.text())[:300]}")
                token = (await r.json())["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            limit = asyncio.Semaphore(10)

            async def register(index: int) -> str:
                async with limit:
                    async with api.post("/api/v1/participants", json=participant_body(index),
                                        headers={**headers, "Idempotency-Key": uuid.uuid4().hex}) as r:
                        if r.status != 201:
                            raise RuntimeError(f"registration answered {r.status}: {(await r.text())[:300]}")
                        return (await r.json())["id"]

            return token, list(await asyncio.gather(*(register(i) for i in range(config.participants))))

    token, ids = asyncio.run(go())
    ids_file = state_dir / "gateway-load-participant-ids.json"
    ids_file.write_text(json.dumps(ids))
    return {"token": token, "ids_file": ids_file, "first_write_index": config.participants}


class BareApp:
    """``bare_fastapi.py`` as a process, on a free port."""

    def __init__(self, log_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(log_dir / "bare-fastapi.log", "wb")
        self.proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("bare_fastapi.py")),
                                      "--port", str(self.port)], stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=REPO_ROOT)
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/items/ready", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the bare FastAPI app did not start; see {self.log.name}")
            time.sleep(0.2)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


class GeneratorProcess(CommandedProcess):
    """The load generator (this file's ``generate`` command) in a process of its own."""

    def __init__(self, target: str, base_url: str, setup: dict[str, Any], config: LoadConfig, log_dir: Path) -> None:
        self.target = target
        cmd = [sys.executable, str(Path(__file__).resolve()), "generate", "--target", target, "--base-url", base_url,
               "--ids-file", str(setup["ids_file"]), "--first-write-index", str(setup["first_write_index"]),
               "--connections", str(config.connections)]
        env = {**os.environ, TOKEN_ENVIRONMENT_VARIABLE: setup["token"] if target == "gateway" else ""}
        super().__init__(f"the {target} load generator", cmd, log_dir / f"load-generator-{target}.log", env)

    def run(self, rate: float, warmup: float, seconds: float) -> dict[str, Any]:
        return self.command(f"run {rate} {warmup} {seconds}")


class LoopLagSampler(threading.Thread):
    """Reads the gateway's event-loop lag gauge every 0.2 s while a measurement runs."""

    def __init__(self, gateway_url: str, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.url, self.interval = f"{gateway_url}/metrics", interval
        self.samples: list[float] = []
        self.scrape_seconds: list[float] = []
        self.failures = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(self.interval):
            started = time.perf_counter()
            try:
                with urllib.request.urlopen(self.url, timeout=5) as r:
                    text = r.read().decode()
            except OSError:
                self.failures += 1
                continue
            self.scrape_seconds.append(time.perf_counter() - started)
            for line in text.splitlines():
                if line.startswith(LOOP_LAG_METRIC):
                    self.samples.append(float(line.rsplit(" ", 1)[1]))

    def stop(self) -> dict[str, Any]:
        self._stop_event.set()
        self.join(10)
        return {"gauge_ms": summarise_ms(self.samples), "metrics_scrape_ms": summarise_ms(self.scrape_seconds),
                "scrape_failures": self.failures}


class RateSearch:
    """The highest rate held: grow by ``growth`` from the first rate until a step fails, then
    bisect (geometrically) between the highest held and the lowest failed."""

    def __init__(self, config: LoadConfig) -> None:
        self.config = config
        self.held: int | None = None
        self.failed: int | None = None
        self.steps = 0
        self.stopped_because: str | None = None

    def record(self, rate: int, held: bool) -> None:
        if held:
            self.held = max(self.held or 0, rate)
        else:
            self.failed = min(self.failed or rate, rate)

    def next_rate(self) -> int | None:
        if self.steps >= self.config.max_steps:
            self.stopped_because = "step limit"
            return None
        if self.failed is None:
            if self.held is not None and self.held >= self.config.max_rate:
                self.stopped_because = f"held the highest rate tried ({self.config.max_rate}/s)"
                return None
            rate = min(self.held * self.config.growth, self.config.max_rate)
        elif self.held is None:
            rate = self.failed / self.config.growth
        elif self.failed / self.held <= self.config.precision:
            self.stopped_because = f"bracketed within {round(100 * (self.config.precision - 1))} %"
            return None
        else:
            rate = math.sqrt(self.held * self.failed)
        rate = int(round(rate, -1)) or 10
        if rate in (self.held, self.failed):
            self.stopped_because = "bracketed to 10 requests/s"
            return None
        self.steps += 1
        return rate


def run_phase(stack, dbs, config: LoadConfig, state_dir: Path, *, meter_for: Callable[[Any], CpuMeter],
              wait_for_quiet: Callable[[str], float], wait_until_idle: Callable[[Any], None]) -> dict[str, Any]:
    """Set up, the target rate on both targets, then the search for the highest rate held,
    alternating gateway and bare steps so drifting machine load hits both alike."""
    phase_started = time.monotonic()
    log(f"6. gateway under load: an operator signs in, {config.participants} participants registered")
    setup = sign_in_and_register(stack, config, state_dir)
    wait_until_idle(dbs)
    result: dict[str, Any] = {"config": asdict(config), "setup_s": round(time.monotonic() - phase_started, 1),
                              "p99_limit_ms": P99_LIMIT_MS, "write_share": WRITE_SHARE,
                              "list_share_of_reads": LIST_SHARE_OF_READS}
    bare = BareApp(state_dir / "log")
    generators: dict[str, GeneratorProcess] = {}
    try:
        generators["gateway"] = GeneratorProcess("gateway", stack.gateway_url, setup, config, state_dir / "log")
        generators["bare"] = GeneratorProcess("bare", bare.url, setup, config, state_dir / "log")
        result["checked"] = {target: g.ready for target, g in generators.items()}
        result["list_reads"] = generators["gateway"].ready["list_reads"]

        def measure(target: str, rate: int, seconds: float) -> dict[str, Any]:
            wait_for_quiet(f"gateway load: {target} {rate}/s")
            meter = meter_for(stack)
            meter.pids["load generator"] = [generators[target].pid]
            meter.pids["bare fastapi"] = [bare.proc.pid]
            sampler = LoopLagSampler(stack.gateway_url) if target == "gateway" else None
            meter.start()
            if sampler:
                sampler.start()
            run = generators[target].run(rate, config.warmup_seconds, seconds)
            run["cpu"] = meter.stop()
            if sampler:
                run["event_loop_lag"] = sampler.stop()
            sent = max(run["client"]["requests_sent"], 1)
            run["cpu_ms_per_request"] = {k.removeprefix("cpu_s."): round(1000 * v / sent, 3)
                                         for k, v in run["cpu"].items() if k.startswith("cpu_s.")}
            # Past ~90 % of a core the generator, not the server, may be what limits the rate.
            run["generator_bound"] = run["client"]["cpu_pct"] > 90
            lat = run["latency_ms"]
            log(f"   {target:8s} {rate:5d}/s: achieved {run['achieved_per_s']:7.1f}/s  p50 {lat.get('p50')} "
                f"p99 {lat.get('p99')} max {lat.get('max')} ms  errors {run['errors'] or 0}"
                f"{'  ABORTED' if run['aborted'] else ''}  generator {run['client']['cpu_pct']} % of a core"
                + (f"  loop lag p99 {run['event_loop_lag']['gauge_ms'].get('p99')} ms" if sampler else ""))
            if target == "gateway":
                try:  # the writes' events handled before the next step
                    wait_until_idle(dbs)
                except TimeoutError:
                    run["pipeline_not_idle_after"] = True
                    log("   the event pipeline did not go idle within its timeout after this step")
            return run

        result["at_target"] = {}
        for target in generators:
            result["at_target"][target] = measure(target, config.target_rate, config.target_seconds)

        searches = {target: RateSearch(config) for target in generators}
        result["steps"] = {target: [] for target in generators}
        for target, search in searches.items():
            search.record(config.target_rate, result["at_target"][target]["held"])
        while True:
            progressed = False
            for target, search in searches.items():
                if search.stopped_because:
                    continue
                if time.monotonic() - phase_started > config.budget_seconds:
                    search.stopped_because = "time budget spent"
                    continue
                rate = search.next_rate()
                if rate is None:
                    continue
                run = measure(target, rate, config.step_seconds)
                result["steps"][target].append(run)
                if not run["held"] and run["generator_bound"]:
                    search.stopped_because = GENERATOR_SATURATED
                search.record(rate, run["held"])
                progressed = True
            if not progressed:
                break
        result["highest_held"] = {
            target: {"rate": s.held, "lowest_failed": s.failed, "stopped_because": s.stopped_because}
            for target, s in searches.items()}
    finally:
        for generator in generators.values():
            generator.close()
        bare.stop()
    result["duration_s"] = round(time.monotonic() - phase_started, 1)
    return result


# ============================================================================================
# Report
# ============================================================================================
def _ms(summary: dict[str, Any], key: str) -> str:
    value = summary.get(key)
    return "-" if value is None else f"{value:g}"


def _errors(run: dict[str, Any]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in sorted(run["errors"].items())) or "0"


def _ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}x" if a and b else "-"


def markdown(g: dict[str, Any]) -> list[str]:
    c = g["config"]
    out = ["## 6. The gateway under a steady load (open loop), beside bare FastAPI", "",
           f"{c['connections']} clients, one keep-alive connection each (aiohttp, one process of its own on "
           f"uvloop). Open loop: request k is due at start + k / rate and its latency is counted from then, "
           f"so waiting for a free connection counts too. Mix: {100 * g['write_share']:.0f} % writes "
           "(`POST /api/v1/participants`, a new valid participant, a fresh `Idempotency-Key`), the rest reads "
           f"(`GET /api/v1/participants/{{id}}` of {c['participants']} participants registered through the API"
           + (f"; {100 * g['list_share_of_reads']:.0f} % of reads `GET /api/v1/participants`)" if g.get("list_reads")
              else "; the list endpoint did not answer 200, so no list reads)")
           + ". Baseline: `bench/bare_fastapi.py` (one GET, one echoing POST, no middleware), same uvicorn "
           f"settings, same generator and rates. Every measurement follows {c['warmup_seconds']:g} s of warm-up "
           f"at its rate. Held = p99 < {g['p99_limit_ms']:g} ms and no errors.", ""]
    at = g.get("at_target", {})
    if at:
        out += [f"### At {c['target_rate']} requests/s for {c['target_seconds']:g} s", "",
                "| target | achieved/s | p50 ms | p95 ms | p99 ms | max ms | errors | p99 read / list / write ms "
                "| due -> sent p99 ms | held |",
                "|---|---:|---:|---:|---:|---:|---|---|---:|---|"]
        for target, r in at.items():
            lat, kinds = r["latency_ms"], r["by_kind_ms"]
            per_kind = " / ".join(_ms(kinds.get(k, {}), "p99") for k in ("read", "list", "write"))
            out.append(f"| {target} | {r['achieved_per_s']:,.1f} | {_ms(lat, 'p50')} | {_ms(lat, 'p95')} | "
                       f"{_ms(lat, 'p99')} | {_ms(lat, 'max')} | {_errors(r)} | {per_kind} | "
                       f"{_ms(r['before_sending_ms'], 'p99')} | {'yes' if r['held'] else '**no**'} |")
        if lag := at.get("gateway", {}).get("event_loop_lag"):
            gauge = lag["gauge_ms"]
            out += ["", f"Gateway event-loop lag (`bimtek_event_loop_lag_seconds`, read every 0.2 s, "
                    f"{gauge.get('n', 0)} samples): p50 {_ms(gauge, 'p50')} ms, p99 {_ms(gauge, 'p99')} ms, max {_ms(gauge, 'max')} ms; "
                    f"`/metrics` answered in p99 {_ms(lag['metrics_scrape_ms'], 'p99')} ms."]
        labels = list(at.get("gateway", next(iter(at.values())))["cpu_ms_per_request"])
        out += ["", "CPU per process over each measurement (from /proc; warm-up included): ms per request "
                "(% of one core). `rabbitmq(shared)` and `everything_else` include other users' work.", "",
                "| target | " + " | ".join(labels) + " |", "|---|" + "---:|" * len(labels)]
        for target, r in at.items():
            wall = r["cpu"]["wall_s"]
            out.append(f"| {target} | " + " | ".join(
                f"{r['cpu_ms_per_request'].get(k, 0):.3f} ({100 * r['cpu'].get('cpu_s.' + k, 0) / wall:.0f} %)"
                for k in labels) + " |")
        if "gateway" in at and "bare" in at:
            gw = at["gateway"]["cpu_ms_per_request"].get("gateway")
            bare = at["bare"]["cpu_ms_per_request"].get("bare fastapi")
            out += ["", f"Gateway process CPU per request / bare FastAPI's: {_ratio(gw, bare)}."]
        out.append("")
    steps = g.get("steps", {})
    if steps:
        out += ["### The highest rate held", "",
                f"From {c['target_rate']}/s, the rate times {c['growth']:g} until a step fails, then bisected "
                f"(steps of {c['step_seconds']:g} s; gateway and bare steps alternate).", "",
                "| target | offered/s | achieved/s | p50 ms | p99 ms | max ms | errors | loop lag p99 / max ms "
                "| generator CPU % | held |", "|---|---:|---:|---:|---:|---:|---|---|---:|---|"]
        for target, runs in steps.items():
            for r in runs:
                lat = r["latency_ms"]
                lag = r.get("event_loop_lag", {}).get("gauge_ms", {})
                held = "yes" if r["held"] else ("no (aborted: " + r["aborted"] + ")" if r["aborted"] else "no")
                out.append(f"| {target} | {r['rate']:,.0f} | {r['achieved_per_s']:,.1f} | {_ms(lat, 'p50')} | "
                           f"{_ms(lat, 'p99')} | {_ms(lat, 'max')} | {_errors(r)} | "
                           f"{_ms(lag, 'p99')} / {_ms(lag, 'max')} | {r['client']['cpu_pct']} | {held} |")
        out.append("")
        for target, h in g.get("highest_held", {}).items():
            out.append(f"- {target}: held {h['rate'] or 'no rate tried'}/s"
                       + (f", failed at {h['lowest_failed']}/s" if h["lowest_failed"] else "")
                       + f" (search ended: {h['stopped_because']})")
        out.append("")
    return out


def verdicts(g: dict[str, Any]) -> list[str]:
    lines = []
    c = g["config"]
    if gw := g.get("at_target", {}).get("gateway"):
        lines.append(f"Gateway p99 < {g['p99_limit_ms']:g} ms at {c['target_rate']} requests/s with no errors: "
                     f"p99 {_ms(gw['latency_ms'], 'p99')} ms, errors {_errors(gw)} -> "
                     f"{'MET' if gw['held'] else 'NOT MET'}")
        if lag := gw.get("event_loop_lag"):
            lines.append(f"Gateway event-loop lag at {c['target_rate']}/s: p99 {_ms(lag['gauge_ms'], 'p99')} ms, "
                         f"max {_ms(lag['gauge_ms'], 'max')} ms")
    if highest := g.get("highest_held"):
        gw, bare = highest.get("gateway", {}).get("rate"), highest.get("bare", {}).get("rate")
        notes = [f"{target}'s is a lower bound ({h['stopped_because']} before a step failed)"
                 for target, h in highest.items() if h["rate"] and not h["lowest_failed"]]
        notes += [f"{target}'s was limited by the load generator, not by {target}"
                  for target, h in highest.items() if h["stopped_because"] == GENERATOR_SATURATED]
        lines.append(f"Highest rate held (p99 < {g['p99_limit_ms']:g} ms, no errors): gateway {gw or 'none'}/s, "
                     f"bare FastAPI {bare or 'none'}/s in the same run = {_ratio(gw, bare)}"
                     + "".join(f"; {note}" for note in notes))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers(dest="command", required=True)
    gen = commands.add_parser("generate", help="the load generator (started by run.py)")
    gen.add_argument("--target", choices=["gateway", "bare"], required=True)
    gen.add_argument("--base-url", required=True)
    gen.add_argument("--ids-file", required=True)
    gen.add_argument("--first-write-index", type=int, required=True)
    gen.add_argument("--connections", type=int, default=50)
    gen.add_argument("--drain-seconds", type=float, default=15.0,
                     help="after the last due instant, how long answers are waited for")
    args = parser.parse_args()
    import uvloop  # the gateway's loop under uvicorn; cheaper per request than asyncio's own

    uvloop.run(generate(args))


if __name__ == "__main__":
    main()
