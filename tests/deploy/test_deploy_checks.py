"""The deployment checks of deploy/check.sh catch what they are meant to catch.

deploy/check.sh runs them on the committed files; these tests break the files on purpose (in memory
or in a temporary copy) and expect a failure naming the problem. No server needed; the manifest
tests need kubectl (deploy/check.sh needs it too).
"""
from __future__ import annotations

import copy
import importlib.util
import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def load(path: str):
    spec = importlib.util.spec_from_file_location(Path(path).stem, ROOT / path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


dashboards = load("deploy/grafana/check_dashboards.py")
manifests = load("deploy/k8s/check_manifests.py")


# -- dashboards -------------------------------------------------------------------------------------
@pytest.mark.parametrize("expr, names", [
    ('histogram_quantile(0.99, sum by (le, route) (rate(bimtek_http_request_duration_seconds_bucket'
     '{status=~"5..", route!="/x"}[$__rate_interval])))', {"bimtek_http_request_duration_seconds_bucket"}),
    ('count(up{job=~"gateway|registration"} == 0) or vector(0)', {"up"}),
    ("sum(rate(a_total[5m] offset 1h)) / clamp_min(sum(b:recorded_5m), 1e-9) > bool 0.5", {"a_total", "b:recorded_5m"}),
    ("x and on (queue) max without (instance) (y) unless ignoring (job) group_left (z) w", {"x", "y", "w"}),
    ("label_values(bimtek_participants_registered, regency)", {"bimtek_participants_registered"}),
])
def test_metric_names_are_read_from_promql(expr, names):
    assert dashboards.metrics_in(expr) == names


@pytest.fixture(scope="module")
def known_metrics():
    return dashboards.metric_names_in_code()


def test_the_code_defines_the_metrics_the_dashboards_rely_on(known_metrics):
    # Built in a loop (observability.metrics.PROGRESS) and in the gateway's modules alike.
    assert {"bimtek_certificates_awaiting_issue", "bimtek_http_requests_total",
            "bimtek_http_request_duration_seconds_bucket", "bimtek_outbox_backlog"} <= known_metrics
    assert "bimtek_http_requests" not in known_metrics  # a counter is exposed with _total


def progress_board():
    return json.loads((ROOT / "deploy/grafana/dashboards/training-progress.json").read_text())


def test_the_committed_progress_dashboard_passes(known_metrics):
    assert dashboards.check(progress_board(), known_metrics, "prometheus", ["participants_completed"]) == []


def test_an_unknown_metric_a_lost_variable_and_a_foreign_data_source_fail(known_metrics):
    board = progress_board()
    panel = next(p for p in board["panels"] if p.get("targets"))
    panel["targets"][0]["expr"] = "sum(bimtek_participants_enroled)"
    panel["targets"][0]["datasource"] = {"type": "prometheus", "uid": "elsewhere"}
    problems = dashboards.check(board, known_metrics, "prometheus", ["participants_enroled"])
    assert any("no metric bimtek_participants_enroled in the code" in p for p in problems)
    assert any("ignores the regency variable" in p for p in problems)
    assert any("is not the provisioned one" in p for p in problems)


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool (Debian's prometheus package) not installed")
def test_promtool_refuses_a_query_that_does_not_parse():
    assert dashboards.promql_problems([("panel 1 'ok'", "sum(rate(x[$__rate_interval]))")]) == []
    problems = dashboards.promql_problems([("panel 7 'broken'", "sum(rate(x[5m])")])
    assert problems and "panel 7 'broken'" in problems[0]


# -- Kubernetes manifests ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def rendered():
    if shutil.which("kubectl") is None:
        pytest.skip("kubectl not installed")
    out = subprocess.run(["kubectl", "kustomize", str(ROOT / "deploy/k8s/overlays/jawa-timur")],
                         capture_output=True, text=True, check=True).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def run_check(docs, tmp_path, capsys):
    source = tmp_path / "rendered.yaml"
    source.write_text(yaml.safe_dump_all(docs))
    failures = manifests.main(source, tmp_path / "core.yaml")
    return failures, capsys.readouterr().out


def find(docs, kind, name):
    return next(d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name)


def test_the_committed_overlay_passes_and_keeps_custom_resources_apart(rendered, tmp_path, capsys):
    failures, out = run_check(rendered, tmp_path, capsys)
    assert failures == 0, out
    core_kinds = {d["kind"] for d in yaml.safe_load_all((tmp_path / "core.yaml").read_text())}
    assert "Deployment" in core_kinds and not core_kinds & {"RabbitmqCluster", "Cluster", "Database"}


def test_broken_manifests_fail(rendered, tmp_path, capsys):
    docs = copy.deepcopy(rendered)
    scheduling = find(docs, "Deployment", "scheduling")["spec"]["template"]["spec"]["containers"][0]
    scheduling["readinessProbe"]["httpGet"]["path"] = "/healthz"
    scheduling["env"].append({"name": "QR_SIGNING_KEYS", "value": "1:abc"})
    del find(docs, "Deployment", "gateway")["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]
    next(d for d in docs if d["kind"] == "RabbitmqCluster")["spec"]["rabbitmq"]["additionalConfig"] = ""
    docs = [d for d in docs if not (d["kind"] == "HorizontalPodAutoscaler" and d["metadata"]["name"] == "certificates")]
    docs.append({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "leaked"}, "stringData": {"k": "v"}})
    failures, out = run_check(docs, tmp_path, capsys)
    for expected in ("readinessProbe GETs '/healthz', not /readyz",
                     "QR_SIGNING_KEYS is not read from a Secret",
                     "container gateway: no cpu and memory limits",
                     "does not make quorum the default queue type",
                     "Deployment certificates has no autoscaling/v2 HorizontalPodAutoscaler",
                     "a Secret is committed: leaked"):
        assert expected in out
    assert failures == 6


def test_a_stale_prometheus_copy_fails(rendered, tmp_path, capsys):
    docs = copy.deepcopy(rendered)
    config = next(d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("prometheus-config-"))
    config["data"]["prometheus.yml"] += "# edited in the copy only\n"
    failures, out = run_check(docs, tmp_path, capsys)
    assert failures == 1 and "ConfigMap prometheus-config differs from deploy/prometheus/" in out
