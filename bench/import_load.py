"""Phase ``import`` of bench/run.py: bulk import of whole teams from a file, end to end.

A run: a synthetic file (``tests/support/synthetic.py``: every village of the scope, a team of
eight, valid NIKs) is uploaded to ``POST /api/v1/participant-imports`` through the gateway; the
clock runs from the upload until the job has succeeded (polled through the gateway, as a client
does) and both consumers, scheduling and certificates, hold every imported participant (their own
tables). Between runs the benchmark's own databases are emptied of participants and
cooperatives, so each run imports the same file into the same empty state.

- Kabupaten Jombang (35.17): 306 villages x 8 = 2,448 rows, an operator of the regency; median of 3.
- Jawa Timur: 8,494 villages x 8 = 67,952 rows in one province-wide file, a province administrator; one run.
"""
from __future__ import annotations

import sys
import time
import uuid
from datetime import datetime
from statistics import median
from typing import Any, Callable

import httpx

from common import REPO_ROOT, CpuMeter

if str(REPO_ROOT) not in sys.path:  # the synthetic files live with the tests' support code
    sys.path.insert(0, str(REPO_ROOT))
from tests.support import synthetic  # noqa: E402

TARGETS_S = {"regency": 5.0, "province": 60.0}  # "a few seconds"; "under a minute"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# What a run leaves behind, emptied before the next (the benchmark's own databases only).
RESET = {
    "registration": "TRUNCATE participants, cooperative_villages, cooperatives, import_chunks, import_files, "
                    "import_rows, jobs CASCADE",
    "scheduling": "TRUNCATE participants, cooperatives CASCADE",
    "certificates": "TRUNCATE roster CASCADE",
}


def log(message: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {message}", flush=True)


def token(role: str, regency: str) -> str:
    from bimtek_gateway.identity import issue_access_token
    from bimtek_gateway.settings import GatewaySettings

    # A fresh user per run: the imports rate limit (per user, in the shared Redis) never bites.
    access, _ = issue_access_token(GatewaySettings(), user_id=str(uuid.uuid4()), role=role,
                                   regency=regency)
    return access


def reset(dbs) -> None:
    for unit, sql in RESET.items():
        conn = dbs.connect(unit)
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
        finally:
            conn.close()


def count(dbs, unit: str, table: str) -> int:
    conn = dbs.connect(unit)
    try:
        with conn.cursor() as cur:
            cur.execute(f"SELECT count(*) FROM {table}")
            return int(cur.fetchone()[0])
    finally:
        conn.close()


def import_run(stack, dbs, content: bytes, file_name: str, rows: int, role: str, regency: str,
               meter: CpuMeter, timeout: float = 600.0) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token(role, regency)}"}
    with httpx.Client(base_url=stack.gateway_url, headers=headers, timeout=120) as client:
        meter.start()
        started = time.monotonic()
        answer = client.post("/api/v1/participant-imports", files={"file": (file_name, content, XLSX)})
        accepted = time.monotonic()
        if answer.status_code != 202:
            raise RuntimeError(f"upload answered {answer.status_code}: {answer.text[:500]}")
        location = answer.headers["location"]
        checked = job_done = None
        job: dict[str, Any] = {}
        while time.monotonic() - started < timeout:
            job = client.get(location).json()
            if checked is None and job["total"]:
                checked = time.monotonic()  # the rows are counted once the check is over
            if job["status"] in ("succeeded", "failed"):
                job_done = time.monotonic()
                break
            time.sleep(0.1)
        if job.get("status") != "succeeded" or job["done"] != rows:
            raise RuntimeError(f"the import did not succeed: { {k: job.get(k) for k in ('status', 'done', 'failed')} }"
                               f", first errors {job.get('errors', [])[:3]}")
        while time.monotonic() - started < timeout:
            if count(dbs, "scheduling", "participants") == rows and count(dbs, "certificates", "roster") == rows:
                break
            time.sleep(0.1)
        else:
            raise RuntimeError("the consumers did not record every participant in time")
        finished = time.monotonic()
        cpu = meter.stop()
    return {
        "rows": rows, "file_bytes": len(content),
        "upload_answered_s": round(accepted - started, 2),
        "checked_s": round((checked or job_done) - started, 2),
        "job_done_s": round(job_done - started, 2),
        "end_to_end_s": round(finished - started, 2),
        "rows_per_s": round(rows / (finished - started), 1),
        "cooperatives_created": job["result"].get("cooperatives_created"),
        "cpu": cpu,
    }


def run_phase(stack, dbs, *, quick: bool, meter_for: Callable[[Any], CpuMeter],
              wait_for_quiet: Callable[[str], float]) -> dict[str, Any]:
    result: dict[str, Any] = {"targets_s": TARGETS_S}
    jombang = synthetic.team_rows(synthetic.JOMBANG)
    jombang_file = synthetic.to_xlsx(jombang)
    runs = []
    for attempt in range(1 if quick else 3):
        reset(dbs)
        wait_for_quiet(f"import: Jombang run {attempt + 1}")
        run = import_run(stack, dbs, jombang_file, "jombang.xlsx", len(jombang), "operator", synthetic.JOMBANG,
                         meter_for(stack))
        log(f"   Jombang run {attempt + 1}: {run['rows']:,} rows end to end in {run['end_to_end_s']} s "
            f"(checked {run['checked_s']} s, job done {run['job_done_s']} s)")
        runs.append(run)
    result["regency"] = {"runs": runs, "median_end_to_end_s": median(r["end_to_end_s"] for r in runs)}
    if not quick:
        province = synthetic.team_rows(None)
        province_file = synthetic.to_xlsx(province)
        reset(dbs)
        wait_for_quiet("import: province run")
        run = import_run(stack, dbs, province_file, "jawa-timur.xlsx", len(province), "province_admin", "*",
                         meter_for(stack))
        log(f"   province run: {run['rows']:,} rows end to end in {run['end_to_end_s']} s "
            f"(checked {run['checked_s']} s, job done {run['job_done_s']} s)")
        result["province"] = run
    reset(dbs)
    return result


def verdicts(res: dict[str, Any]) -> list[str]:
    lines = []
    if regency := res.get("regency"):
        v = regency["median_end_to_end_s"]
        lines.append(f"Import of a regency (Jombang, {regency['runs'][0]['rows']:,} rows) in a few seconds "
                     f"(<= {TARGETS_S['regency']} s): median {v} s -> {'MET' if v <= TARGETS_S['regency'] else 'NOT MET'}")
    if province := res.get("province"):
        v = province["end_to_end_s"]
        lines.append(f"Import of the province ({province['rows']:,} rows) in under {TARGETS_S['province']:.0f} s: "
                     f"{v} s -> {'MET' if v < TARGETS_S['province'] else 'NOT MET'}")
    return lines


def render(res: dict[str, Any]) -> list[str]:
    out = ["## Bulk import from a file (phase `import`)", "",
           "| run | rows | file | upload answered | rows checked | job done | both consumers done | rows/s |",
           "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    runs = [(f"Jombang {i + 1}", r) for i, r in enumerate(res.get("regency", {}).get("runs", []))]
    if "province" in res:
        runs.append(("Jawa Timur", res["province"]))
    for label, r in runs:
        out.append(f"| {label} | {r['rows']:,} | {r['file_bytes'] / 1e6:.1f} MB | {r['upload_answered_s']} s | "
                   f"{r['checked_s']} s | {r['job_done_s']} s | **{r['end_to_end_s']} s** | {r['rows_per_s']:,.0f} |")
    out.append("")
    for label, r in runs:
        cpu = ", ".join(f"{k.removeprefix('cpu_s.')} {v}" for k, v in r["cpu"].items() if k.startswith("cpu_s."))
        out.append(f"- {label}: CPU seconds {cpu}; machine {r['cpu']['machine_busy_pct']} % busy")
    out.append("")
    return out
