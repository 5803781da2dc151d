#!/usr/bin/env bash
# Validate Prometheus' files with Debian's promtool (package `prometheus`, 2.42 on Debian 12):
#   - promtool check config prometheus.yml (compose) and prometheus-k8s.yml (Kubernetes);
#   - promtool check rules rules/*.yml;
#   - promtool test rules tests/*.yml: every alert fires when it should and stays silent otherwise;
#   - the alerts' own rules: a severity (critical or warning), a summary, a description and a
#     runbook_url whose section exists in docs/runbook.md, and a test where each alert fires;
#   - the scrape jobs are exactly gateway, registration, scheduling, certificates, rabbitmq and
#     prometheus in both files;
#   - shellcheck lints this script (where deploy/check.sh installed it).
# Debian's Prometheus is built without Kubernetes service discovery, so prometheus-k8s.yml is checked
# with each kubernetes_sd_configs replaced by static targets carrying the labels Kubernetes discovery
# would give pods of deploy/k8s/; its relabelling must then turn them into the expected targets,
# which a Prometheus started for a few seconds on a spare loopback port reports.
#
# Installs the package where promtool is missing (as root), without letting its postinst start a
# daemon. `--install-only` just does that (Makefile: test-tools). Exit 0 when all pass, 1 otherwise,
# 2 when a tool cannot be installed.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
SYSTEM_PYTHON=/usr/bin/python3  # Debian's, with python3-yaml

die() { printf 'deploy/prometheus/check.sh: %s\n' "$*" >&2; exit 2; }

ensure_tools() {
    local missing=()
    command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
    "$SYSTEM_PYTHON" -c 'import yaml' >/dev/null 2>&1 || missing+=(python3-yaml)
    ((${#missing[@]} == 0)) && return 0
    ((EUID == 0)) || die "need root to apt-get install ${missing[*]}"
    # The package's postinst starts its daemon on :9090 unless policy-rc.d forbids it: forbid it for
    # this install only, where the machine has no such policy already.
    local policy=/usr/sbin/policy-rc.d added_policy=""
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy" && added_policy=1
    fi
    local log status=0
    log="$(mktemp)"
    { DEBIAN_FRONTEND=noninteractive apt-get update -qq \
        && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; } \
        >"$log" 2>&1 || status=$?
    [[ -n $added_policy ]] && rm -f "$policy"
    if ((status != 0)); then
        cat "$log" >&2
        die "apt-get install ${missing[*]} failed"
    fi
    rm -f "$log"
    # On a machine run by systemd the package enabled its unit for the next boot: only the tools are wanted.
    if [[ -d /run/systemd/system ]] && command -v systemctl >/dev/null 2>&1; then
        systemctl disable --now prometheus >/dev/null 2>&1 || true
    fi
}

ensure_tools
[[ ${1:-} == --install-only ]] && exit 0

cd "$HERE"
failures=0
fail() { printf 'FAIL: %s\n' "$*"; failures=$((failures + 1)); }
ok() { printf 'ok:   %s\n' "$*"; }
run() {  # run "description" command...: ok or FAIL with the command's output
    local what=$1 out
    shift
    if out=$("$@" 2>&1); then ok "$what"; else fail "$what"; printf '%s\n' "$out"; fi
}

WORK="$(mktemp -d)"
PROMETHEUS_PID=""
cleanup() {
    if [[ -n $PROMETHEUS_PID ]]; then kill "$PROMETHEUS_PID" 2>/dev/null || true; wait "$PROMETHEUS_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

if command -v shellcheck >/dev/null 2>&1; then run "shellcheck deploy/prometheus/check.sh" shellcheck check.sh; fi
version="$(promtool --version 2>&1 | head -n1)"
run "promtool check config prometheus.yml ($version)" promtool check config prometheus.yml
run "promtool check rules rules/*.yml" promtool check rules rules/*.yml
run "promtool test rules tests/*.yml" promtool test rules tests/*.yml

# --- prometheus-k8s.yml, its discovery simulated, and the alerts' own rules ----------------------
set +e
"$SYSTEM_PYTHON" - "$ROOT" "$WORK" <<'PY'
import json
import re
import sys
from pathlib import Path

import yaml

root, work = Path(sys.argv[1]), Path(sys.argv[2])
here = root / "deploy/prometheus"
failures = 0
JOBS = {"gateway", "registration", "scheduling", "certificates", "rabbitmq", "prometheus"}


def fail(msg):
    global failures
    failures += 1
    print(f"FAIL: {msg}")


def ok(msg):
    print(f"ok:   {msg}")


def jobs_of(config):
    """The job label each scrape config gives its targets (a relabelling may set it)."""
    jobs = set()
    for scrape in config.get("scrape_configs", []):
        job = scrape["job_name"]
        for rule in scrape.get("relabel_configs", []):
            if rule.get("target_label") == "job" and "source_labels" not in rule:
                job = rule.get("replacement", job)
        jobs.add(job)
    return jobs


# Pods as deploy/k8s/ labels them (and RabbitMQ's cluster operator its own), with what Kubernetes
# discovery would say of each container port; then the targets the relabelling must make of them.
def pod(name, unit, component, port_name, port, phase="Running", part_of="bimtek"):
    labels = {
        "__address__": f"10.1.0.{len(name)}:{port}",
        "__meta_kubernetes_namespace": "bimtek",
        "__meta_kubernetes_pod_name": name,
        "__meta_kubernetes_pod_phase": phase,
        "__meta_kubernetes_pod_label_app_kubernetes_io_name": unit,
        "__meta_kubernetes_pod_label_app_kubernetes_io_component": component,
        "__meta_kubernetes_pod_label_app_kubernetes_io_part_of": part_of,
        "__meta_kubernetes_pod_container_port_name": port_name,
        "__meta_kubernetes_pod_container_port_number": str(port),
    }
    return {"targets": [labels.pop("__address__")], "labels": labels}


PODS = [
    pod("gateway-7d9f-abcde", "gateway", "gateway", "http", 8000),
    pod("registration-5c4b-fghij", "registration", "service", "ops", 8080),
    pod("scheduling-6f5d-klmno", "scheduling", "service", "ops", 8080),
    pod("scheduling-6f5d-pqrst", "scheduling", "service", "ops", 8080),
    pod("certificates-8a7b-uvwxy", "certificates", "service", "ops", 8080),
    pod("bimtek-rabbitmq-server-0", "bimtek-rabbitmq", "rabbitmq", "amqp", 5672, part_of="rabbitmq"),
    pod("bimtek-rabbitmq-server-0", "bimtek-rabbitmq", "rabbitmq", "prometheus", 15692, part_of="rabbitmq"),
    # Never scraped: a migration Job's pod, a pod still starting, a finished one, another app.
    pod("scheduling-migrate-zz9x", "scheduling-migrate", "setup", "", 0, phase="Succeeded"),
    pod("certificates-8a7b-zzzzz", "certificates", "service", "ops", 8080, phase="Pending"),
    pod("redis-0", "redis", "cache", "redis", 6379),
]
EXPECTED_TARGETS = {
    ("gateway", "gateway-7d9f-abcde", "/metrics", ""),
    ("registration", "registration-5c4b-fghij", "/metrics", ""),
    ("scheduling", "scheduling-6f5d-klmno", "/metrics", ""),
    ("scheduling", "scheduling-6f5d-pqrst", "/metrics", ""),
    ("certificates", "certificates-8a7b-uvwxy", "/metrics", ""),
    ("rabbitmq", "bimtek-rabbitmq-server-0", "/metrics", "node"),
    ("rabbitmq", "bimtek-rabbitmq-server-0", "/metrics/detailed", "queues"),
    ("prometheus", "localhost:9090", "/metrics", ""),
}

compose = yaml.safe_load((here / "prometheus.yml").read_text())
k8s = yaml.safe_load((here / "prometheus-k8s.yml").read_text())
for name, config in (("prometheus.yml", compose), ("prometheus-k8s.yml", k8s)):
    jobs = jobs_of(config)
    if jobs == JOBS:
        ok(f"{name}: jobs {', '.join(sorted(jobs))}")
    else:
        fail(f"{name}: jobs are {sorted(jobs)}, not {sorted(JOBS)}")
    if config.get("rule_files") != ["rules/*.yml"]:
        fail(f"{name}: rule_files must be rules/*.yml (mounted beside the configuration)")

simulated = yaml.safe_load((here / "prometheus-k8s.yml").read_text())
for scrape in simulated["scrape_configs"]:
    sd = scrape.pop("kubernetes_sd_configs", None)
    if sd is None:
        continue
    if [c.get("role") for c in sd] != ["pod"] or not all((c.get("namespaces") or {}).get("own_namespace") for c in sd):
        fail(f"prometheus-k8s.yml: {scrape['job_name']} must discover pods in Prometheus' own namespace")
    scrape["static_configs"] = PODS
(work / "rules").mkdir()
for rules in (here / "rules").glob("*.yml"):
    (work / "rules" / rules.name).write_text(rules.read_text())
(work / "prometheus-k8s-simulated.yml").write_text(yaml.safe_dump(simulated, sort_keys=False))
(work / "expected-targets.json").write_text(json.dumps(sorted(EXPECTED_TARGETS)))

# --- the alerts' own rules ------------------------------------------------------------------------
runbook = (root / "docs/runbook.md").read_text() if (root / "docs/runbook.md").is_file() else ""
anchors = {re.sub(r"[^a-z0-9 -]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
           for line in runbook.splitlines() if line.startswith("#")}
tested_firing = set()
for test_file in (here / "tests").glob("*.yml"):
    for test in yaml.safe_load(test_file.read_text()).get("tests", []):
        for case in test.get("alert_rule_test", []):
            if case.get("exp_alerts"):
                tested_firing.add(case["alertname"])
alerts = [rule for path in sorted((here / "rules").glob("*.yml"))
          for group in yaml.safe_load(path.read_text())["groups"] for rule in group["rules"] if "alert" in rule]
before = failures
for rule in alerts:
    name = rule["alert"]
    if rule.get("labels", {}).get("severity") not in ("critical", "warning"):
        fail(f"{name}: severity must be critical or warning")
    annotations = rule.get("annotations", {})
    for key in ("summary", "description", "runbook_url"):
        if not annotations.get(key):
            fail(f"{name}: no {key} annotation")
    url = annotations.get("runbook_url", "")
    if not url.startswith("docs/runbook.md#") or url.partition("#")[2] not in anchors:
        fail(f"{name}: runbook_url {url!r} names no section of docs/runbook.md")
    if name not in tested_firing:
        fail(f"{name}: no test in tests/ where it fires")
if failures == before:
    ok(f"{len(alerts)} alerts: severity, summary, description, a runbook section and a firing test each")
sys.exit(min(failures, 100))
PY
py_status=$?
set -e
failures=$((failures + py_status))

if [[ -f $WORK/prometheus-k8s-simulated.yml ]]; then
    run "promtool check config prometheus-k8s.yml (Kubernetes discovery simulated)" \
        promtool check config "$WORK/prometheus-k8s-simulated.yml"
    # Start Prometheus on a spare loopback port with the simulated discovery and compare its targets.
    port="$("$SYSTEM_PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    prometheus --config.file="$WORK/prometheus-k8s-simulated.yml" --storage.tsdb.path="$WORK/data" \
        --web.listen-address="127.0.0.1:$port" --log.level=error >"$WORK/prometheus.log" 2>&1 &
    PROMETHEUS_PID=$!
    set +e
    "$SYSTEM_PYTHON" - "$port" "$WORK/expected-targets.json" <<'PY'
import json
import sys
import time
import urllib.request

port, expected = sys.argv[1], {tuple(t) for t in json.load(open(sys.argv[2]))}
deadline, got = time.monotonic() + 20, None
while time.monotonic() < deadline:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/targets?state=active", timeout=2) as r:
            active = json.load(r)["data"]["activeTargets"]
        got = {(t["labels"]["job"], t["labels"]["instance"], t["discoveredLabels"].get("__metrics_path__", ""),
                t["labels"].get("endpoint", "")) for t in active}
        if got == expected:
            break
    except OSError:
        pass
    time.sleep(0.3)
if got == expected:
    print(f"ok:   prometheus-k8s.yml: the relabelling turns deploy/k8s/'s pods into {len(expected)} targets "
          "(gateway, services, both RabbitMQ endpoints; no Job, pending or foreign pod)")
    sys.exit(0)
print("FAIL: prometheus-k8s.yml: the relabelling does not give the expected targets")
print("  missing:", sorted(expected - (got or set())))
print("  unexpected:", sorted((got or set()) - expected))
sys.exit(1)
PY
    status=$?
    set -e
    if ((status != 0)); then failures=$((failures + 1)); cat "$WORK/prometheus.log"; fi
fi

if ((failures)); then
    printf 'deploy/prometheus/check.sh: FAILED (%d check(s) failed)\n' "$failures"
    exit 1
fi
printf 'deploy/prometheus/check.sh: all Prometheus checks passed\n'
