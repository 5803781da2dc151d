#!/usr/bin/env python
"""Bimtek KDMP benchmark: the event pipeline, gateway-to-service RPC and the gateway under load,
each beside a baseline measured in the same run. See bench/README.md.

    python bench/run.py            # full run (~12 minutes on the 2-core machine)
    python bench/run.py --quick    # smoke run (~4 minutes), smaller numbers, not for quoting

It starts a private stack (own ports, databases ``bimtek_bench_*``, RabbitMQ vhost
``bimtek-bench``), measures, stops it, drops what it created, and writes
``bench/results/<date>[-quick].md`` and ``.json``.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import uuid
from collections import Counter, defaultdict
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import psycopg2

import broker_baseline
import certificate_issuance as issuance_phase
import certificate_rendering as certificates_phase
import gateway_load
import import_load
import pipeline
import planner as planner_phase
import province as province_phase
from common import (
    BENCH_DIR,
    DATABASE_PREFIX,
    POSTGRES_URL,
    REPO_ROOT,
    VHOST,
    CommandedProcess,
    CpuMeter,
    amqp_uri,
    broker_pid,
    create_vhost,
    delete_vhost,
    drop_databases,
    dump_json,
    loadavg,
    machine_busy_seconds,
    make_stack,
    median,
    process_cpu_seconds,
)
from bimtek_shared.ops.local_stack import UNITS

FULL = {
    "broker_n": 10_000, "broker_n_confirm_each": 2_000,
    # N per pipeline run: about pipeline_target_s of work at the warm-up's rate, within these bounds
    "pipeline_n_min": 3_000, "pipeline_n_max": 20_000, "pipeline_target_s": 25,
    "pipeline_repeats": 3, "pipeline_warmup_n": 1_000,
    # 200/s is the target; 50/s shows the pipeline's own latency below saturation; 500/s runs only
    # if the measured throughput can carry it
    "latency_rates": [50, 200, 500], "latency_seconds": 30,
    "rpc_concurrency": [1, 10, 50, 200], "rpc_repeats": 5, "rpc_warmup_s": 0.5, "rpc_seconds": 2.0,
    "rpc_modes": ["gateway", "proxy", "proxy-async"],
    "http_concurrency": [1, 10, 50, 200], "http_repeats": 3, "http_seconds": 2.0,
}
QUICK = {
    "broker_n": 5_000, "broker_n_confirm_each": 1_000,
    "pipeline_n_min": 2_000, "pipeline_n_max": 5_000, "pipeline_target_s": 15,
    "pipeline_repeats": 1, "pipeline_warmup_n": 500,
    "latency_rates": [50, 200], "latency_seconds": 10,
    "rpc_concurrency": [1, 10, 50], "rpc_repeats": 1, "rpc_warmup_s": 0.5, "rpc_seconds": 2.0,
    "rpc_modes": ["gateway", "proxy", "proxy-async"],
    "http_concurrency": [10], "http_repeats": 1, "http_seconds": 2.0,
}
TARGETS = {"pipeline_per_s": 1000, "p99_ms_at_200": 100}
REGENCY = "35.17"


def log(message: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {message}", flush=True)


# -- the machine -----------------------------------------------------------------------------
def _cmd(*args: str) -> str:
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine_info() -> dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip() for line in _cmd("lscpu").splitlines()
                if line.startswith("Model name")), platform.processor())
    with open("/proc/meminfo") as f:
        mem_kb = int(f.readline().split()[1])
    with psycopg2.connect(f"{POSTGRES_URL}/postgres") as conn, conn.cursor() as cur:
        cur.execute("SELECT version()")
        pg = cur.fetchone()[0].split(" on ")[0]
        settings = {}
        for name in ("synchronous_commit", "fsync", "shared_buffers", "max_connections"):
            cur.execute(f"SHOW {name}")
            settings[name] = cur.fetchone()[0]
    conn.close()
    import amqp as py_amqp
    import aio_pika
    import kombu
    import nameko
    return {
        "cpu": cpu, "cores": os.cpu_count(), "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(), "python": platform.python_version(),
        "rabbitmq": _cmd("rabbitmqctl", "-q", "version"), "postgresql": pg, "postgresql_settings": settings,
        "nameko": nameko.__version__ if hasattr(nameko, "__version__") else _pkg_version("nameko"),
        "kombu": kombu.__version__, "amqp": py_amqp.__version__, "aio_pika": aio_pika.__version__,
        "eventlet": _pkg_version("eventlet"), "uvloop": _pkg_version("uvloop"),
        "fastapi": _pkg_version("fastapi"), "uvicorn": _pkg_version("uvicorn"), "aiohttp": _pkg_version("aiohttp"),
        "git_commit": _cmd("git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"),
        "git_dirty_files": len(_cmd("git", "-C", str(REPO_ROOT), "status", "--porcelain").splitlines()),
    }


def _pkg_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "-"


# -- set-up helpers --------------------------------------------------------------------------
def synthetic_nik() -> tuple[str, str]:
    birth = date(1979, 3, 14)
    nik = f"351709{birth.day + 40:02d}{birth.month:02d}{birth.year % 100:02d}{random.randint(1, 9999):04d}"
    return nik, birth.isoformat()


def register_participant(uri: str, attempts: int = 3) -> str:
    """One participant through registration's real use case (the RPC benchmark reads it back)."""
    from bimtek_gateway.rpc import NamekoRpcClient, RpcError

    async def go() -> str:
        async with NamekoRpcClient(uri, client_name="bench-setup") as client:
            for attempt in range(1, attempts + 1):
                nik, birth = synthetic_nik()
                try:
                    answer = await client.call(
                        "registration", "register_participant", timeout=15,
                        kwargs={"participant": {"regency": REGENCY, "nik": nik, "full_name": "Sri Wahyuningsih",
                                                "sex": "P", "birth_date": birth, "position": "ketua"}},
                        context={"caller_user": "bench-setup", "caller_role": "operator",
                                 "caller_regency": REGENCY, "correlation_id": "bench-setup", "language": "id"},
                    )
                    return answer["id"]
                except RpcError as exc:
                    log(f"   registering the RPC benchmark's participant failed ({exc!r}), try {attempt}")
                    if attempt == attempts:
                        raise
        raise AssertionError("unreachable")

    return asyncio.run(go())


def access_token() -> str:
    from bimtek_gateway.identity import issue_access_token
    from bimtek_gateway.settings import GatewaySettings

    token, _ = issue_access_token(GatewaySettings(), user_id=str(uuid.uuid4()), role="operator", regency=REGENCY)
    return token


def our_postgres_backends() -> list[int]:
    with psycopg2.connect(f"{POSTGRES_URL}/postgres") as conn, conn.cursor() as cur:
        cur.execute("SELECT pid FROM pg_stat_activity WHERE datname LIKE %s", (DATABASE_PREFIX + "\\_%",))
        pids = [r[0] for r in cur.fetchall()]
    conn.close()
    return pids


def meter_for(stack) -> CpuMeter:
    pids = {unit.name: [p] for unit in UNITS if (p := stack.pid(unit.name))}
    pids["postgres(our dbs)"] = our_postgres_backends()
    if (b := broker_pid()) is not None:
        pids["rabbitmq(shared)"] = [b]
    pids["bench"] = [os.getpid()]
    return CpuMeter(pids)


QUIET = {"max_wait_s": 0.0, "threshold_pct": 50.0, "budget_s": 90.0, "log": []}


def wait_for_quiet(label: str) -> float:
    """Wait (up to --quiet-wait s) until the machine was less than --quiet-threshold % busy over one
    second: other users' work on a shared 2-core machine moves every number here. Returns and
    records the busy share seen just before the measurement."""
    allowed = max(0.0, min(QUIET["max_wait_s"], QUIET["budget_s"]))
    deadline = time.monotonic() + allowed
    started = time.monotonic()
    while True:
        b0, t0 = machine_busy_seconds()
        time.sleep(1.0)
        b1, t1 = machine_busy_seconds()
        busy = round(100.0 * (b1 - b0) / max(t1 - t0, 1e-9), 1)
        if busy < QUIET["threshold_pct"] or time.monotonic() >= deadline:
            waited = time.monotonic() - started
            QUIET["budget_s"] -= max(waited - 1.0, 0.0)
            QUIET["log"].append({"phase": label, "busy_pct_before": busy, "waited_s": round(waited, 1)})
            return busy


# -- profiling (optional) --------------------------------------------------------------------
class Profiler:
    """py-spy on the three services for the duration of one phase (``--profile``)."""

    def __init__(self, stack, out_dir: Path) -> None:
        self.stack, self.out_dir = stack, out_dir
        self.procs: dict[str, subprocess.Popen] = {}

    def start(self, label: str) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        pyspy = Path(sys.executable).with_name("py-spy")
        for unit in ("registration", "scheduling", "certificates", "gateway"):
            pid = self.stack.pid(unit)
            if pid is None:
                continue
            out = self.out_dir / f"{label}-{unit}.txt"
            self.procs[str(out)] = subprocess.Popen(
                [str(pyspy), "record", "--nonblocking", "--gil", "-r", "100", "-f", "raw", "-o", str(out), "-p", str(pid)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self) -> dict[str, Any]:
        for proc in self.procs.values():
            proc.send_signal(signal.SIGINT)
        summaries = {}
        for path, proc in self.procs.items():
            proc.wait(60)
            summaries[Path(path).stem] = summarise_profile(Path(path))
        self.procs.clear()
        return summaries


def summarise_profile(path: Path, top: int = 12) -> dict[str, Any]:
    """Top functions by own samples and by inclusive samples, from py-spy's collapsed stacks."""
    own: Counter = Counter()
    inclusive: Counter = Counter()
    total = 0
    if not path.exists():
        return {}
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        total += n
        frames = [f.split(" (")[0] + " (" + f.split(" (")[1].split(":")[0].rsplit("/", 1)[-1] + ")"
                  if " (" in f else f for f in stack.split(";")]
        own[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    pct = lambda c: round(100.0 * c / max(total, 1), 1)  # noqa: E731
    return {"samples": total,
            "own": [(f, pct(c)) for f, c in own.most_common(top)],
            "inclusive": [(f, pct(c)) for f, c in inclusive.most_common(top * 2)]}


# -- RPC phase -------------------------------------------------------------------------------
class Client(CommandedProcess):
    """An RPC client process (``rpc_clients.py``): ``run`` drives it for a measurement window."""

    def __init__(self, mode: str, concurrency: int, participant_id: str, stack, token: str, log_dir: Path) -> None:
        cmd = [sys.executable, str(BENCH_DIR / "rpc_clients.py"), mode, "--amqp-uri", amqp_uri(),
               "--concurrency", str(concurrency), "--participant-id", participant_id, "--regency", REGENCY,
               "--gateway-url", stack.gateway_url, "--token", token]
        self.mode = mode
        super().__init__(f"{mode} client", cmd, log_dir / f"client-{mode}-{concurrency}.log")

    def run(self, warmup: float, seconds: float) -> dict[str, Any]:
        return self.command(f"run {warmup} {seconds}")


def rpc_phase(stack, participant_id: str, token: str, modes: list[str], concurrencies: list[int],
              repeats: int, warmup: float, seconds: float, log_dir: Path) -> dict[str, Any]:
    """Every mode at every concurrency; at one concurrency the modes' windows are interleaved."""
    service_pids = {u: stack.pid(u) for u in ("registration", "scheduling", "certificates", "gateway")}
    other_ours = our_postgres_backends() + ([b] if (b := broker_pid()) else []) + [os.getpid()]
    results: dict[str, Any] = {}
    for concurrency in concurrencies:
        clients = []
        try:
            for mode in modes:
                clients.append(Client(mode, concurrency, participant_id, stack, token, log_dir))
            runs: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for r in range(repeats):
                wait_for_quiet(f"{'/'.join(modes)} c={concurrency} window {r + 1}")
                for client in (clients if r % 2 == 0 else list(reversed(clients))):
                    cpu0 = {u: process_cpu_seconds(p) or 0.0 for u, p in service_pids.items()}
                    ours0 = sum(filter(None, map(process_cpu_seconds, other_ours)))
                    busy0, total0 = machine_busy_seconds()
                    t0 = time.monotonic()
                    run = client.run(warmup, seconds)
                    wall = time.monotonic() - t0
                    busy1, total1 = machine_busy_seconds()
                    used = {u: (process_cpu_seconds(p) or 0.0) - cpu0[u] for u, p in service_pids.items()}
                    ours = (sum(used.values()) + sum(filter(None, map(process_cpu_seconds, other_ours))) - ours0
                            + run["cpu_ms_per_call"] * run["total_calls"] / 1000)
                    run["machine_busy_pct"] = round(100 * (busy1 - busy0) / max(total1 - total0, 1e-9), 1)
                    # CPU the rest of the machine (other users) used during the window, in % of one core
                    run["others_cpu_pct"] = round(100 * max((busy1 - busy0) - ours, 0.0) / wall, 1)
                    run["service_cpu_pct"] = {u: round(100 * v / wall, 1) for u, v in used.items()}
                    # registration's CPU per call (the gateway's own for HTTP: per request)
                    unit = "gateway" if client.mode == "http" else "registration"
                    run["service_cpu_ms_per_call"] = round(1000 * used[unit] / max(run["total_calls"], 1), 3)
                    runs[client.mode].append(run)
                    log(f"  {client.mode:12s} c={concurrency:<4d} {run['calls_per_s']:8.1f} calls/s  "
                        f"p50 {run['p50_ms']:7.2f} ms  p99 {run['p99_ms']:7.2f} ms  errors {run['errors']}  "
                        f"(others used {run['others_cpu_pct']} % of a core)")
        finally:
            for client in clients:
                client.close()
        results[str(concurrency)] = {
            mode: {
                "calls_per_s": round(median([r["calls_per_s"] for r in mode_runs]), 1),
                "p50_ms": round(median([r["p50_ms"] for r in mode_runs]), 2),
                "p99_ms": round(median([r["p99_ms"] for r in mode_runs]), 2),
                "cpu_ms_per_call": round(median([r["cpu_ms_per_call"] for r in mode_runs]), 3),
                "service_cpu_ms_per_call": round(median([r["service_cpu_ms_per_call"] for r in mode_runs]), 3),
                "service_cpu_pct": round(median([r["service_cpu_pct"]["gateway" if mode == "http" else "registration"]
                                                 for r in mode_runs]), 1),
                "errors": sum(r["errors"] for r in mode_runs),
                "others_cpu_pct": round(median([r["others_cpu_pct"] for r in mode_runs]), 1),
                "setup_s": next(c.ready["setup_s"] for c in clients if c.mode == mode),
                "runs": mode_runs,
            }
            for mode, mode_runs in runs.items()
        }
    return results


# -- report ----------------------------------------------------------------------------------
def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "-"


def render_markdown(res: dict[str, Any]) -> str:
    m, cfg = res["machine"], res["config"]
    out = [f"# Benchmark results, {res['started'][:10]}{' (quick run: not for quoting)' if res['quick'] else ''}"
           f"{', ' + res['note'] if res.get('note') else ''}",
           "",
           f"`python bench/run.py{' --quick' if res['quick'] else ''}` at git {m['git_commit']} "
           f"({m['git_dirty_files']} uncommitted files in the tree), {res['duration_s']:.0f} s.",
           "",
           *([f"**Experiment**: services ran with extra environment `{res['service_env']}`.", ""]
             if res.get("service_env") else []),
           "## Machine",
           "",
           f"- {m['cores']} cores ({m['cpu']}), {m['memory_gb']} GB RAM, Linux {m['kernel']}",
           f"- Python {m['python']}; nameko {m['nameko']}, eventlet {m['eventlet']}, kombu {m['kombu']}, "
           f"py-amqp {m['amqp']}, aio-pika {m['aio_pika']}, uvloop {m['uvloop']}"
           + (f", FastAPI {m['fastapi']}, uvicorn {m['uvicorn']}, aiohttp {m['aiohttp']}" if "aiohttp" in m else ""),
           f"- RabbitMQ {m['rabbitmq']} (the machine's shared broker, vhost `{VHOST}`); {m['postgresql']} "
           f"(shared server, {', '.join(f'{k}={v}' for k, v in m['postgresql_settings'].items())})",
           f"- Load average at start {res['load_start']}, at end {res['load_end']}. Everything (services, "
           "broker, database, load generators) shares the 2 cores; other users' work on the machine shows "
           "as `everything_else` CPU below.",
           ""]

    b = res.get("broker")
    if b:
        out += ["## 1. Raw broker baseline (plain kombu, same vhost, persistent, confirms)", "",
                f"Message: a `participant.registered` envelope, {b['message_bytes']} bytes.", "",
                "| measurement | messages/s |", "|---|---:|",
                f"| publish, confirm each message (kombu `confirm_publish`) | {b['publish_confirm_each_per_s']:,.0f} |",
                f"| publish, 500 in flight per confirm wait (the relay's technique) | {b['publish_confirm_batched_per_s']:,.0f} |",
                f"| consume, prefetch 10, ack each | {b['consume_prefetch10_per_s']:,.0f} |",
                f"| **fan-out end to end**: 1 publisher process -> 2 queues -> 2 consumer processes "
                f"(prefetch 10, ack each) | **{b['fanout_end_to_end_per_s']:,.0f}** |",
                f"| fan-out end to end, consumers prefetch 200 and ack 100 at a time | "
                f"{b['fanout_batched_ack_end_to_end_per_s']:,.0f} |", "",
                f"CPU ms per event in the fan-out (ack each): {b['fanout_cpu_ms_per_event']}; "
                f"(batched acks): {b['fanout_batched_ack_cpu_ms_per_event']} (consumers: per consumer process).",
                ""]

    p = res.get("pipeline")
    if p:
        runs = p["runs"]
        out += ["## 2. Pipeline throughput (outbox -> relay -> broker -> 2 idempotent consumers)", "",
                f"{cfg['pipeline_n']:,} events inserted into registration's outbox in one transaction; "
                f"{len(runs)} runs (after a {cfg['pipeline_warmup_n']:,}-event warm-up). "
                "End to end = N / (last `processed_at` in either consumer - insert commit).", "",
                "| run | end to end events/s | relay publish/s | scheduling/s | certificates/s | "
                "peak outbox backlog | peak queue (sched / cert) |",
                "|---|---:|---:|---:|---:|---:|---:|"]
        for i, r in enumerate(runs, 1):
            out.append(f"| {i} | {r['end_to_end_per_s']:,.0f} | {r['relay_publish_per_s']:,.0f} | "
                       f"{r['scheduling_per_s']:,.0f} | {r['certificates_per_s']:,.0f} | "
                       f"{r['peaks']['outbox_pending']:,} | {r['peaks']['queue.scheduling']:,} / "
                       f"{r['peaks']['queue.certificates']:,} |")
        med = p["median"]
        out += [f"| **median** | **{med['end_to_end_per_s']:,.0f}** | **{med['relay_publish_per_s']:,.0f}** | "
                f"{med['scheduling_per_s']:,.0f} | {med['certificates_per_s']:,.0f} | | |", ""]
        if b:
            out.append(f"Median end to end vs the raw fan-out baseline: "
                       f"{ratio(med['end_to_end_per_s'], b['fanout_end_to_end_per_s'])}; relay publish vs raw "
                       f"batched publish: {ratio(med['relay_publish_per_s'], b['publish_confirm_batched_per_s'])}.")
        n = cfg["pipeline_n"]
        cpu = p["median_run_cpu"]
        out += ["", "CPU milliseconds per event, per process, over the median run (CPU time from /proc; "
                "`rabbitmq(shared)` and `everything_else` include other users' work):", "",
                "| " + " | ".join(k.removeprefix("cpu_s.") for k in cpu if k.startswith("cpu_s.")) + " |",
                "|" + "---:|" * sum(1 for k in cpu if k.startswith("cpu_s.")),
                "| " + " | ".join(f"{1000 * v / n:.2f}" for k, v in cpu.items() if k.startswith("cpu_s.")) + " |"]
        out += ["", "CPU seconds per process over the median run (wall "
                f"{p['median_run_cpu'].get('wall_s', 0)} s, machine busy {p['median_run_cpu'].get('machine_busy_pct', 0)} %):", "",
                "| " + " | ".join(k.removeprefix("cpu_s.") for k in p["median_run_cpu"] if k.startswith("cpu_s.")) + " |",
                "|" + "---:|" * sum(1 for k in p["median_run_cpu"] if k.startswith("cpu_s.")),
                "| " + " | ".join(str(v) for k, v in p["median_run_cpu"].items() if k.startswith("cpu_s.")) + " |", ""]

    lat = res.get("latency")
    if lat:
        out += ["## 3. Latency at a steady rate (one event per transaction)", "",
                "Latency = consumer's `processed_at` - envelope's `occurred_at` (same clock). "
                "`all consumers` = the later of the two per event. `published (tap)`: when the broker "
                "delivered the event to a passive extra subscriber on registration's exchange (commit, "
                "relay wake-up, fetch, publish); `published -> both consumers`: from there to the later "
                "consumer's `processed_at` (queueing, batch wait). `relay confirmed`: `published_at` "
                "(stamped after the broker's confirm). The last column is the services' own histograms "
                "(bucket upper bounds, p50 / p99): `bimtek_event_end_to_end_seconds` (after the commit), "
                "and `bimtek_event_handle_duration_seconds` (message receipt to ack: batch wait + "
                "transaction).", "",
                "| rate | achieved | stage | p50 ms | p95 ms | p99 ms | max ms | service histogram p50 / p99 |",
                "|---:|---:|---|---:|---:|---:|---:|---|"]
        for r in lat:
            r.setdefault("relay_confirmed_ms", r.get("relay_published_ms"))  # results of older runs
            for stage, key in (("published (tap)", "published_ms"), ("relay confirmed", "relay_confirmed_ms"),
                               ("published -> both consumers", "consumers_after_publish_ms"),
                               ("scheduling", "scheduling_ms"), ("certificates", "certificates_ms"),
                               ("**all consumers**", "all_consumers_ms")):
                s = r.get(key)
                if not s:
                    continue
                hist = ""
                if stage in ("scheduling", "certificates"):
                    fmt = lambda v: "> 10000" if v is None else f"<= {v:g}"  # noqa: E731
                    h = r[f"{stage}_service_histogram"]
                    hist = f"{fmt(h['p50_le_ms'])} / {fmt(h['p99_le_ms'])}"
                    if hh := r.get(f"{stage}_handle_histogram"):
                        hist += f"; receipt -> acked {fmt(hh['p50_le_ms'])} / {fmt(hh['p99_le_ms'])}"
                out.append(f"| {r['rate']}/s | {r['achieved_rate']}/s | {stage} | {s['p50']} | {s['p95']} | "
                           f"{s['p99']} | {s['max']} | {hist} |")
        out.append("")
        for skipped in res.get("latency_skipped", []):
            out += [f"{skipped['rate']}/s not run: {skipped['reason']}.", ""]

    rpc = res.get("rpc")
    if rpc:
        out += ["## 4. RPC: gateway client vs nameko's standalone proxy, same method, same run", "",
                f"`registration.get_participant` (existing participant, caller context headers). Closed loop: "
                f"C callers, each calling again as soon as answered; {cfg['rpc_repeats']} windows of "
                f"{cfg['rpc_seconds']} s per client and concurrency (after {cfg['rpc_warmup_s']} s warm-up each), "
                "clients interleaved; medians shown. `gateway` = `NamekoRpcClient` (one asyncio process, "
                "uvloop, one connection); `proxy` = `ClusterRpcProxy` under eventlet, a GreenPool of C "
                "greenthreads each with its own proxy; `proxy-async` = one proxy, one greenthread, C calls "
                "in flight via `call_async`. `others' CPU %`: CPU other users' processes took during the "
                "windows (median, % of one core; 200 = the whole machine).", "",
                "| C | client | calls/s | p50 ms | p99 ms | client CPU ms/call | registration CPU ms/call "
                "(busy %) | others' CPU % | gateway / this (calls/s) |",
                "|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
        for c, modes in rpc.items():
            g = modes.get("gateway", {}).get("calls_per_s", 0)
            for mode, r in modes.items():
                out.append(f"| {c} | {mode} | {r['calls_per_s']:,.0f} | {r['p50_ms']} | {r['p99_ms']} | "
                           f"{r['cpu_ms_per_call']} | {r['service_cpu_ms_per_call']} ({r['service_cpu_pct']} %) | "
                           f"{r['others_cpu_pct']} | {'' if mode == 'gateway' else ratio(g, r['calls_per_s'])} |")
        out.append("")

    http = res.get("http")
    if http:
        out += ["## 5. Through the HTTP gateway (optional)", "",
                "`GET /api/v1/participants/{id}` (each request = 3 RPC calls made concurrently by the "
                "gateway: registration, scheduling, certificates), C keep-alive connections, a minimal "
                "asyncio HTTP/1.1 client as load generator.", "",
                "| C | requests/s | p50 ms | p99 ms | gateway CPU ms/request (busy %) | registration busy % | "
                "load generator CPU ms/request |", "|---:|---:|---:|---:|---:|---:|---:|"]
        for c, modes in http.items():
            r = modes["http"]
            reg = median([x["service_cpu_pct"]["registration"] for x in r["runs"]])
            out.append(f"| {c} | {r['calls_per_s']:,.0f} | {r['p50_ms']} | {r['p99_ms']} | "
                       f"{r['service_cpu_ms_per_call']} ({r['service_cpu_pct']} %) | {reg} | {r['cpu_ms_per_call']} |")
        out.append("")

    if res.get("rpc_error"):
        out += ["## 4-5. RPC and HTTP: not measured", "", res["rpc_error"], ""]
    if g := res.get("gateway_load"):
        out += gateway_load.markdown(g)
    if res.get("gateway_load_error"):
        out += ["## 6. The gateway under load: not measured", "", "```", res["gateway_load_error"], "```", ""]
    if i := res.get("import"):
        out += import_load.render(i)
    if res.get("import_error"):
        out += ["## Bulk import: not measured", "", "```", res["import_error"], "```", ""]
    if iss := res.get("issuance"):
        out += issuance_phase.render(iss)
    if res.get("issuance_error"):
        out += ["## Certificates after closing: not measured", "", "```", res["issuance_error"], "```", ""]
    if pl := res.get("planner"):
        out += planner_phase.render(pl)
    if res.get("planner_error"):
        out += ["## The session planner: not measured", "", "```", res["planner_error"], "```", ""]
    if pr := res.get("province"):
        out += province_phase.render(pr)
    if res.get("province_error"):
        out += ["## The province as a benchmark: not measured", "", "```", res["province_error"], "```", ""]
    if c := res.get("certificates"):
        out += certificates_phase.render(c)
    if res.get("certificates_error"):
        out += ["## Certificates: not measured", "", "```", res["certificates_error"], "```", ""]
    out += ["## Against the targets", ""]
    for line in res.get("verdicts", []):
        out.append(f"- {line}")
    out.append("")
    if res.get("profiles"):
        out += ["## Profiles (py-spy, --profile)", ""]
        for name, prof in res["profiles"].items():
            if not prof:
                continue
            out += [f"**{name}** ({prof['samples']} samples), own time:", ""]
            out += [f"- {pct} % {frame}" for frame, pct in prof["own"][:8]]
            out.append("")
    return "\n".join(out) + "\n"


def verdicts(res: dict[str, Any]) -> list[str]:
    lines = []
    if p := res.get("pipeline"):
        v = p["median"]["end_to_end_per_s"]
        lines.append(f"Pipeline >= {TARGETS['pipeline_per_s']:,} events/s: median {v:,.0f} -> "
                     f"{'MET' if v >= TARGETS['pipeline_per_s'] else 'NOT MET'}")
    for r in res.get("latency", []):
        if r["rate"] == 200:
            v = r["all_consumers_ms"]["p99"]
            lines.append(f"p99 < {TARGETS['p99_ms_at_200']} ms at 200 events/s: {v} ms -> "
                         f"{'MET' if v < TARGETS['p99_ms_at_200'] else 'NOT MET'}")
    if rpc := res.get("rpc"):
        for c, modes in rpc.items():
            if "gateway" in modes and "proxy" in modes:
                g, pr = modes["gateway"]["calls_per_s"], modes["proxy"]["calls_per_s"]
                line = (f"RPC at C={c}: gateway {g:,.0f} calls/s vs ClusterRpcProxy (GreenPool, a proxy per "
                        f"greenthread) {pr:,.0f}/s = {ratio(g, pr)} -> {'MET' if g >= 0.97 * pr else 'NOT MET'} "
                        "(>=, 3 % noise allowed)")
                if "proxy-async" in modes:
                    pa = modes["proxy-async"]["calls_per_s"]
                    line += f"; vs one proxy with call_async {pa:,.0f}/s = {ratio(g, pa)}"
                line += f"; registration {modes['gateway'].get('service_cpu_pct', '?')} % busy"
                lines.append(line)
    if g := res.get("gateway_load"):
        lines += gateway_load.verdicts(g)
    if i := res.get("import"):
        lines += import_load.verdicts(i)
    if iss := res.get("issuance"):
        lines += issuance_phase.verdicts(iss)
    if pl := res.get("planner"):
        lines += planner_phase.verdicts(pl)
    if c := res.get("certificates"):
        lines += certificates_phase.verdicts(c)
    if pr := res.get("province"):
        lines += province_phase.verdicts(pr)
    return lines


def print_summary(res: dict[str, Any]) -> None:
    print("\n" + "=" * 78)
    if b := res.get("broker"):
        print(f"raw broker: publish {b['publish_confirm_batched_per_s']:,.0f}/s (batched confirms), "
              f"{b['publish_confirm_each_per_s']:,.0f}/s (confirm each); consume {b['consume_prefetch10_per_s']:,.0f}/s; "
              f"fan-out end to end {b['fanout_end_to_end_per_s']:,.0f}/s")
    if p := res.get("pipeline"):
        med = p["median"]
        print(f"pipeline (median of {len(p['runs'])}): end to end {med['end_to_end_per_s']:,.0f} events/s, "
              f"relay {med['relay_publish_per_s']:,.0f}/s, scheduling {med['scheduling_per_s']:,.0f}/s, "
              f"certificates {med['certificates_per_s']:,.0f}/s")
    for r in res.get("latency", []):
        s, pub = r["all_consumers_ms"], r.get("published_ms", {})
        print(f"latency @ {r['rate']}/s (achieved {r['achieved_rate']}/s): p50 {s['p50']} ms, p95 {s['p95']} ms, "
              f"p99 {s['p99']} ms, max {s['max']} ms (published: p50 {pub.get('p50')} p99 {pub.get('p99')} ms)")
    if rpc := res.get("rpc"):
        print(f"{'C':>5} {'client':12s} {'calls/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'cpu ms/call':>12} {'gw/this':>8}")
        for c, modes in rpc.items():
            g = modes.get("gateway", {}).get("calls_per_s", 0)
            for mode, r in modes.items():
                print(f"{c:>5} {mode:12s} {r['calls_per_s']:9,.0f} {r['p50_ms']:8.2f} {r['p99_ms']:8.2f} "
                      f"{r['cpu_ms_per_call']:12.3f} {'' if mode == 'gateway' else ratio(g, r['calls_per_s']):>8}")
    if http := res.get("http"):
        for c, modes in http.items():
            r = modes["http"]
            print(f"http C={c}: {r['calls_per_s']:,.0f} req/s, p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms")
    for line in res.get("verdicts", []):
        print("  " + line)
    print("=" * 78)


# -- main ------------------------------------------------------------------------------------
def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small numbers, ~2 minutes (a smoke test)")
    parser.add_argument("--only", default="broker,pipeline,latency,rpc,http,gateway,import,planner,certificates,issuance",
                        help="comma-separated phases to run (default: all but province)")
    parser.add_argument("--profile", action="store_true",
                        help="py-spy the services during the first pipeline run and the highest-C RPC phase")
    parser.add_argument("--quiet-wait", type=float, default=20.0,
                        help="before each measurement wait up to this many seconds for the machine to be "
                             "less than --quiet-threshold %% busy (default 20; 0: don't wait)")
    parser.add_argument("--quiet-threshold", type=float, default=50.0)
    parser.add_argument("--quiet-budget", type=float, default=90.0,
                        help="total seconds a run may spend waiting for quiet (default 90)")
    parser.add_argument("--latency-rates", help="comma-separated events/s for the latency phase "
                        "(default 50,200,500; --quick 50,200)")
    parser.add_argument("--latency-seconds", type=float, help="seconds per latency rate (default 30)")
    parser.add_argument("--gateway-rate", type=int, help="the gateway phase's target rate, requests/s (default 300)")
    parser.add_argument("--gateway-seconds", type=float, help="seconds at the target rate (default 30; --quick 8)")
    parser.add_argument("--gateway-steps", type=int,
                        help="steps of the search for the highest rate held, per target (default 6; 0: none)")
    parser.add_argument("--service-env", action="append", default=[], metavar="KEY=VALUE",
                        help="extra environment for the services (an experiment, e.g. LOG_LEVEL=WARNING; "
                             "BENCH_* hooks in bench/variants/sitecustomize.py); recorded in the results")
    parser.add_argument("--regencies", help="phase province: N (Jombang and the next N-1 regencies in code "
                        "order) or comma-separated codes (default: all 38)")
    parser.add_argument("--province-instances", default="1,2",
                        help="phase province: runs with this many processes each of scheduling and certificates")
    parser.add_argument("--keep", action="store_true", help="leave the stack, databases and vhost in place")
    parser.add_argument("--output", help="results file stem (default bench/results/<date>[-quick])")
    parser.add_argument("--render", metavar="JSON", help="only rewrite the .md of an earlier results .json")
    args = parser.parse_args()
    if args.render:
        res = json.loads(Path(args.render).read_text())
        res["verdicts"] = verdicts(res)
        dump_json(Path(args.render), res)
        Path(args.render).with_suffix(".md").write_text(render_markdown(res))
        print_summary(res)
        return 0
    cfg = dict(QUICK if args.quick else FULL)
    if args.latency_rates:
        cfg["latency_rates"] = [int(r) for r in args.latency_rates.split(",")]
    if args.latency_seconds:
        cfg["latency_seconds"] = args.latency_seconds
    QUIET["max_wait_s"], QUIET["threshold_pct"] = args.quiet_wait, args.quiet_threshold
    QUIET["budget_s"] = args.quiet_budget
    phases = set(args.only.split(","))
    started = datetime.now(timezone.utc)
    t_start = time.monotonic()
    state_dir = Path(tempfile.mkdtemp(prefix="bimtek-bench-"))
    stem = args.output or str(BENCH_DIR / "results" / (started.strftime("%Y-%m-%d") + ("-quick" if args.quick else "")
                                                       + ("-province" if phases == {"province"} else "")))
    Path(stem).parent.mkdir(parents=True, exist_ok=True)
    res: dict[str, Any] = {"started": started.isoformat(), "quick": args.quick, "config": cfg,
                           "machine": machine_info(), "load_start": loadavg()}
    log(f"state (logs) in {state_dir}; vhost {VHOST}; databases {DATABASE_PREFIX}_*")

    if "planner" in phases:  # a pure function timed in this process: no stack, so first, on a quieter machine
        log("8. the session planner: Jombang, the province, a re-plan of the province, and the naive baseline")
        try:
            res["planner"] = planner_phase.run_phase(quick=args.quick, wait_for_quiet=wait_for_quiet)
        except Exception:  # noqa: BLE001 - the other phases' results still stand
            res["planner_error"] = traceback.format_exc(limit=6)
            log(f"   planner phase failed:\n{res['planner_error']}")
    if "certificates" in phases:  # pure functions timed in this process too: no stack
        log("9. certificates: renders per core against a plain page, sizes, a session PDF, a regency, the ZIP")
        try:
            res["certificates"] = certificates_phase.run_phase(quick=args.quick, wait_for_quiet=wait_for_quiet)
        except Exception:  # noqa: BLE001 - the other phases' results still stand
            res["certificates_error"] = traceback.format_exc(limit=6)
            log(f"   certificates phase failed:\n{res['certificates_error']}")
    if not phases - {"planner", "certificates"}:
        state_dir.rmdir()
        write_results(res, stem, t_start)
        log(f"results: {stem}.md and {stem}.json")
        return 0

    create_vhost()
    stack = make_stack(state_dir)
    if args.service_env:
        stack.extra_env = dict(item.split("=", 1) for item in args.service_env)
        if any(k.startswith("BENCH_") for k in stack.extra_env):
            stack.extra_env["PYTHONPATH"] = os.pathsep.join(
                filter(None, [str(BENCH_DIR / "variants"), os.environ.get("PYTHONPATH")]))
        res["service_env"] = stack.extra_env
        log(f"services run with extra environment {stack.extra_env}")
    profiler = Profiler(stack, Path(stem + "-profiles")) if args.profile else None
    profiles: dict[str, Any] = {}
    try:
        drop_databases(stack)
        log(f"starting the stack on ports {stack.ports}")
        stack.migrate()
        stack.setup_broker()
        for unit in UNITS:
            stack.start(unit.name)
        for unit in UNITS:
            stack.wait_ready(unit.name, timeout=120)
        uri = amqp_uri()
        dbs = pipeline.Databases({u.name: stack.database_url(u.name) for u in UNITS})

        if "broker" in phases:
            log("1. raw broker baseline (plain kombu)")
            wait_for_quiet("broker")
            res["broker"] = broker_baseline.run(uri, pipeline.sample_envelope_json(), cfg["broker_n"],
                                                cfg["broker_n_confirm_each"])
            log(f"   {res['broker']}")


        if "pipeline" in phases:
            log(f"2. pipeline throughput: warm-up {cfg['pipeline_warmup_n']} events")
            warm = pipeline.throughput_run(dbs, uri, cfg["pipeline_warmup_n"])
            pipeline.wait_until_idle(dbs)
            n = int(min(max(round(warm["end_to_end_per_s"] * cfg["pipeline_target_s"], -3), cfg["pipeline_n_min"]),
                        cfg["pipeline_n_max"]))
            cfg["pipeline_n"] = n
            log(f"   warm-up rate {warm['end_to_end_per_s']:,.0f}/s: {n:,} events per run")
            runs = []
            for i in range(cfg["pipeline_repeats"]):
                wait_for_quiet(f"pipeline run {i + 1}")
                run = pipeline.throughput_run(dbs, uri, n, meter=meter_for(stack))
                runs.append(run)
                log(f"   run {i + 1}: end to end {run['end_to_end_per_s']:,.0f}/s, relay "
                    f"{run['relay_publish_per_s']:,.0f}/s, scheduling {run['scheduling_per_s']:,.0f}/s, "
                    f"certificates {run['certificates_per_s']:,.0f}/s; peaks {run['peaks']}")
                pipeline.wait_until_idle(dbs)
            keys = ("end_to_end_per_s", "relay_publish_per_s", "scheduling_per_s", "certificates_per_s")
            med = {k: round(median([r[k] for r in runs]), 1) for k in keys}
            median_run = sorted(runs, key=lambda r: r["end_to_end_per_s"])[len(runs) // 2]
            res["pipeline"] = {"runs": runs, "median": med, "median_run_cpu": median_run["cpu"]}
            if profiler:  # an extra run, not in the median: py-spy slows what it watches
                log("   extra pipeline run under py-spy (--profile)")
                profiler.start("pipeline")
                pipeline.throughput_run(dbs, uri, n)
                profiles.update(profiler.stop())
                pipeline.wait_until_idle(dbs)

        if "latency" in phases:
            res["latency"] = []
            capacity = res.get("pipeline", {}).get("median", {}).get("end_to_end_per_s")
            for rate in cfg["latency_rates"]:
                if rate > 200 and capacity is not None and rate > 0.9 * capacity:
                    log(f"3. latency at {rate} events/s skipped: above the measured throughput ({capacity:,.0f}/s)")
                    res.setdefault("latency_skipped", []).append(
                        {"rate": rate, "reason": f"above the measured end-to-end throughput ({capacity:,.0f}/s): "
                                                 "latency would only measure a growing queue"})
                    continue
                log(f"3. latency at {rate} events/s for {cfg['latency_seconds']} s")
                wait_for_quiet(f"latency {rate}/s")
                run = pipeline.latency_run(dbs, stack, rate, cfg["latency_seconds"], meter=meter_for(stack))
                res["latency"].append(run)
                log(f"   all consumers {run['all_consumers_ms']}, achieved {run['achieved_rate']}/s")
                pipeline.wait_until_idle(dbs)

        token = access_token()
        participant_id = None
        if phases & {"rpc", "http"}:
            try:
                participant_id = register_participant(uri)
            except Exception as exc:  # noqa: BLE001 - the other phases' results still stand
                res["rpc_error"] = f"could not register the participant the RPC benchmark reads: {exc!r}"
                log(f"   RPC and HTTP phases skipped: {res['rpc_error']}")
                phases -= {"rpc", "http"}
        if "rpc" in phases:
            log("4. RPC: gateway client vs ClusterRpcProxy")
            top = max(cfg["rpc_concurrency"])
            res["rpc"] = {}
            for c in cfg["rpc_concurrency"]:
                res["rpc"].update(rpc_phase(stack, participant_id, token, cfg["rpc_modes"], [c],
                                            cfg["rpc_repeats"], cfg["rpc_warmup_s"], cfg["rpc_seconds"], state_dir))
            if profiler:  # extra windows, not in the results
                log(f"   extra RPC windows at C={top} under py-spy (--profile)")
                profiler.start(f"rpc-c{top}")
                rpc_phase(stack, participant_id, token, ["gateway"], [top], 1, cfg["rpc_warmup_s"],
                          cfg["rpc_seconds"], state_dir)
                profiles.update(profiler.stop())

        if "http" in phases:
            log("5. HTTP gateway end to end")
            res["http"] = rpc_phase(stack, participant_id, token, ["http"], cfg["http_concurrency"],
                                    cfg["http_repeats"], cfg["rpc_warmup_s"], cfg["http_seconds"], state_dir)

        if "gateway" in phases:
            try:
                res["gateway_load"] = gateway_load.run_phase(
                    stack, dbs, gateway_load.configure(args.quick, args.gateway_rate, args.gateway_seconds,
                                                       args.gateway_steps), state_dir,
                    meter_for=meter_for, wait_for_quiet=wait_for_quiet, wait_until_idle=pipeline.wait_until_idle)
            except Exception:  # noqa: BLE001 - the other phases' results still stand
                res["gateway_load_error"] = traceback.format_exc(limit=6)
                log(f"   gateway load phase failed:\n{res['gateway_load_error']}")
        if "import" in phases:
            log("7. bulk import from a file: Jombang (median of 3)" + ("" if args.quick else ", then the province"))
            try:
                res["import"] = import_load.run_phase(stack, dbs, quick=args.quick, meter_for=meter_for,
                                                      wait_for_quiet=wait_for_quiet)
            except Exception:  # noqa: BLE001 - the other phases' results still stand
                res["import_error"] = traceback.format_exc(limit=6)
                log(f"   bulk import phase failed:\n{res['import_error']}")
        if "issuance" in phases:
            log("10. certificates after closing: Jombang imported, planned, checked in, its 10 sessions closed")
            try:
                res["issuance"] = issuance_phase.run_phase(stack, dbs, meter_for=meter_for,
                                                           wait_for_quiet=wait_for_quiet)
            except Exception:  # noqa: BLE001 - the other phases' results still stand
                res["issuance_error"] = traceback.format_exc(limit=6)
                log(f"   issuance phase failed:\n{res['issuance_error']}")
        if "province" in phases:  # last: it restarts the stack from fresh databases for each of its runs
            log("11. the province: the whole lifecycle through the API, beside raw limits of the same run")
            try:
                res["province"] = province_phase.run_phase(
                    stack, regencies_spec=args.regencies,
                    instances=[int(n) for n in args.province_instances.split(",")],
                    log_dir=state_dir / "log", wait_for_quiet=wait_for_quiet)
            except Exception:  # noqa: BLE001 - the other phases' results still stand
                res["province_error"] = traceback.format_exc(limit=6)
                log(f"   province phase failed:\n{res['province_error']}")
    finally:
        if args.keep:
            log(f"--keep: the stack keeps running (pids in {state_dir}/run; stop them with "
                f"`kill $(cat {state_dir}/run/*.pid)`), databases and vhost stay")
        else:
            log("stopping the stack")
            stack.down()
            drop_databases(stack)
            delete_vhost()
    res["profiles"] = profiles
    write_results(res, stem, t_start)
    log(f"results: {stem}.md and {stem}.json; service logs in {state_dir}/log")
    return 0


def write_results(res: dict[str, Any], stem: str, t_start: float) -> None:
    res["machine_busy_before_each_measurement"] = QUIET["log"]
    res["load_end"] = loadavg()
    res["duration_s"] = round(time.monotonic() - t_start, 1)
    res["verdicts"] = verdicts(res)
    dump_json(Path(stem + ".json"), res)
    Path(stem + ".md").write_text(render_markdown(res))
    print_summary(res)


if __name__ == "__main__":
    sys.exit(main())
