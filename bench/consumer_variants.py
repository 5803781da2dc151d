#!/usr/bin/env python
"""Where the consumers' time goes, and what a fix would buy: the event consumers' CPU per event
under configuration variants and prototypes, on the same private stack as ``run.py``.

    python bench/consumer_variants.py [--n 3000] [--only V0,V1,...]

For each variant, N ``participant.registered`` events go into registration's outbox in one
transaction (as in run.py's throughput test) and the run ends when both consumers have handled
them. Reported per variant: each consumer's rate and CPU milliseconds per event (user + system,
from /proc), and the PostgreSQL backends' CPU per event. CPU per event is the number to compare:
unlike a rate it hardly moves with other users' load on the machine.

Variants (the services are restarted with the variant's environment):
  V0  as deployed (since e94076e the services' @event_consumer handles batches of up to 100)
  V1  LOG_LEVEL=WARNING (no INFO line per handled event)
  V2  no ``pool_pre_ping`` (via bench/variants/sitecustomize.py, product code untouched)
  V3  V1 + V2
  V4  MAX_WORKERS=30 (more events in flight per consumer)
  V5  psycopg2 executemany_mode="values_plus_batch" (bench/variants/sitecustomize.py): the
      repositories' add_all (INSERT .. ON CONFLICT DO NOTHING, executemany) in pages of 100
      statements per round trip instead of one round trip per row
  P1  scheduling replaced by bench/batch_consumer_prototype.py --batch 1 (plain kombu + Core)
      (the prototype was written to size the batching fix before it landed; it remains the floor
      to compare the nameko consumer against)
  P10   ... --batch 10 (what nameko's prefetch = max_workers = 10 would allow per batch)
  P100  ... --batch 100 (one transaction and one ack per 100 events)
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg2

import pipeline
from common import (
    BENCH_DIR,
    DATABASE_PREFIX,
    POSTGRES_URL,
    REPO_ROOT,
    amqp_uri,
    create_vhost,
    delete_vhost,
    drop_databases,
    dump_json,
    loadavg,
    machine_busy_seconds,
    make_stack,
    process_cpu_seconds,
)
from bimtek_shared.ops.local_stack import UNITS

VARIANTS = {
    "V0": {},
    "V1": {"LOG_LEVEL": "WARNING"},
    "V2": {"PYTHONPATH": str(BENCH_DIR / "variants"), "BENCH_NO_PRE_PING": "1"},
    "V3": {"LOG_LEVEL": "WARNING", "PYTHONPATH": str(BENCH_DIR / "variants"), "BENCH_NO_PRE_PING": "1"},
    "V4": {"MAX_WORKERS": "30"},
    "V5": {"PYTHONPATH": str(BENCH_DIR / "variants"), "BENCH_EXECUTEMANY_BATCH": "1"},
    "P1": {"prototype_batch": 1},
    "P10": {"prototype_batch": 10},
    "P100": {"prototype_batch": 100},
}


def backends_of(database: str) -> list[int]:
    with psycopg2.connect(f"{POSTGRES_URL}/postgres") as conn, conn.cursor() as cur:
        cur.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", (database,))
        pids = [r[0] for r in cur.fetchall()]
    conn.close()
    return pids


def restart_consumers(stack, env: dict[str, str]) -> None:
    stack.extra_env = {k: v for k, v in env.items() if k != "prototype_batch"}
    for unit in ("scheduling", "certificates"):
        stack.stop(unit)
        stack.start(unit)
    for unit in ("scheduling", "certificates"):
        stack.wait_ready(unit, timeout=120)


def run_variant(stack, dbs, name: str, env: dict, n: int, log_dir: Path, warmup: int = 300) -> dict:
    prototype = env.get("prototype_batch")
    restart_consumers(stack, {} if prototype else env)
    proto_proc = None
    if prototype:
        stack.stop("scheduling")
        proto_proc = subprocess.Popen(
            [sys.executable, str(BENCH_DIR / "batch_consumer_prototype.py"), "--amqp-uri", amqp_uri(),
             "--database-url", stack.database_url("scheduling"), "--queue", pipeline.QUEUES["scheduling"],
             "--batch", str(prototype), "--n", str(n), "--warmup", str(warmup)],
            stdout=subprocess.PIPE, stderr=open(log_dir / f"prototype-{name}.log", "w"), text=True, cwd=REPO_ROOT)
        assert json.loads(proto_proc.stdout.readline())["ready"]
    # Warm up (first-call caches, pool connections), then measure.
    pipeline.throughput_run(dbs, amqp_uri(), warmup)
    pipeline.wait_until_idle(dbs)
    pids = {u: stack.pid(u) for u in ("registration", "scheduling", "certificates")}
    pg = {u: backends_of(f"{DATABASE_PREFIX}_{u}") for u in ("scheduling", "certificates")}
    cpu0 = {u: process_cpu_seconds(p) for u, p in pids.items() if p}
    pg_start = {u: {p: process_cpu_seconds(p) for p in ps} for u, ps in pg.items()}
    m0 = machine_busy_seconds()
    run = pipeline.throughput_run(dbs, amqp_uri(), n)
    m1 = machine_busy_seconds()
    result = {"variant": name, "env": env, "n": n,
              "scheduling_per_s": run["scheduling_per_s"], "certificates_per_s": run["certificates_per_s"],
              "relay_publish_per_s": run["relay_publish_per_s"],
              "machine_busy_pct": round(100 * (m1[0] - m0[0]) / max(m1[1] - m0[1], 1e-9), 1)}
    for u, p in pids.items():
        if p and u in cpu0:
            result[f"{u}_cpu_ms_per_event"] = round(1000 * ((process_cpu_seconds(p) or 0) - cpu0[u]) / n, 3)
    for u, ps in pg.items():
        # Backends that started during the run count in full; ones that ended are lost (rare).
        now = {p: process_cpu_seconds(p) for p in backends_of(f"{DATABASE_PREFIX}_{u}")}
        used = sum((c or 0) - (pg_start[u].get(p) or 0) for p, c in now.items())
        result[f"postgres_{u}_cpu_ms_per_event"] = round(1000 * used / n, 3)
    if proto_proc:
        proto = json.loads(proto_proc.stdout.readline())
        proto_proc.wait(60)
        result["scheduling_cpu_ms_per_event"] = proto["cpu_ms_per_event"]
        result["postgres_scheduling_cpu_ms_per_event"] = proto["postgres_cpu_ms_per_event"]
        stack.start("scheduling")
        stack.wait_ready("scheduling", timeout=120)
    pipeline.wait_until_idle(dbs)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--only", default=",".join(VARIANTS))
    parser.add_argument("--output", default=str(BENCH_DIR / "results" / "experiments" /
                                                 f"{time.strftime('%Y-%m-%d')}-consumer-variants"))
    args = parser.parse_args()
    state_dir = Path(tempfile.mkdtemp(prefix="bimtek-bench-variants-"))
    create_vhost()
    stack = make_stack(state_dir)
    results = {"started": time.strftime("%Y-%m-%dT%H:%M:%S"), "load_start": loadavg(), "variants": []}
    try:
        drop_databases(stack)
        stack.migrate()
        stack.setup_broker()
        for unit in UNITS:
            stack.start(unit.name)
        for unit in UNITS:
            stack.wait_ready(unit.name, timeout=120)
        dbs = pipeline.Databases({u.name: stack.database_url(u.name) for u in UNITS})
        for name in args.only.split(","):
            r = run_variant(stack, dbs, name, VARIANTS[name], args.n, state_dir)
            results["variants"].append(r)
            print(json.dumps(r), flush=True)
    finally:
        stack.extra_env = {}
        stack.down()
        drop_databases(stack)
        delete_vhost()
    results["load_end"] = loadavg()
    dump_json(Path(args.output + ".json"), results)
    print(f"{'variant':8s} {'sched/s':>8s} {'cert/s':>8s} {'sched ms/ev':>12s} {'cert ms/ev':>11s} "
          f"{'pg sched':>9s} {'pg cert':>8s} {'busy%':>6s}")
    for r in results["variants"]:
        print(f"{r['variant']:8s} {r['scheduling_per_s']:8.0f} {r['certificates_per_s']:8.0f} "
              f"{r.get('scheduling_cpu_ms_per_event', 0):12.3f} {r.get('certificates_cpu_ms_per_event', 0):11.3f} "
              f"{r['postgres_scheduling_cpu_ms_per_event']:9.3f} {r['postgres_certificates_cpu_ms_per_event']:8.3f} "
              f"{r['machine_busy_pct']:6.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
