"""One metric scheme for every process, and alert rules that name only metrics the code exports.

The metrics are read from prometheus_client's registry after importing every module that defines
one (deploy/grafana/check_dashboards.py finds them), so a metric added anywhere is checked here too.
"""
import importlib.util
from pathlib import Path

import pytest
import yaml
from prometheus_client import REGISTRY
from prometheus_client.metrics import MetricWrapperBase

from bimtek_shared.contracts.progress import FIGURES

ROOT = Path(__file__).resolve().parents[2]
RULES = sorted((ROOT / "deploy/prometheus/rules").glob("*.yml"))

# Every label a metric of ours may carry; each is bounded by the code, the catalogue or the route
# table. Anything else (an id, a NIK, a name, a raw path) is refused.
BOUNDED_LABELS = {"service", "regency", "route", "method", "status", "event_type", "outcome", "queue", "reason",
                  "rule", "target_service"}
PROGRESS_GAUGES = {f"bimtek_{figure}" for figures in FIGURES.values() for figure in figures}


def load_dashboards_check():
    spec = importlib.util.spec_from_file_location("check_dashboards", ROOT / "deploy/grafana/check_dashboards.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def dashboards_check():
    return load_dashboards_check()


@pytest.fixture(scope="module")
def our_metrics(dashboards_check) -> dict[str, tuple[str, ...]]:
    dashboards_check.metric_names_in_code()  # imports every module that defines a metric
    return {collector._name: tuple(collector._labelnames) for collector in list(REGISTRY._collector_to_names)
            if isinstance(collector, MetricWrapperBase) and collector._name.startswith("bimtek_")}


def test_every_metric_is_labelled_by_service_with_bounded_labels_only(our_metrics):
    assert len(our_metrics) >= 20  # the registry was filled: shared, services and gateway
    for name, labels in our_metrics.items():
        assert labels[:1] == ("service",), f"{name}: `service` must come first, has {labels}"
        assert set(labels) <= BOUNDED_LABELS, f"{name}: unbounded or unknown labels {set(labels) - BOUNDED_LABELS}"


def test_regency_labels_the_business_progress_gauges_only(our_metrics):
    with_regency = {name for name, labels in our_metrics.items() if "regency" in labels}
    assert with_regency == PROGRESS_GAUGES
    assert all(our_metrics[name] == ("service", "regency") for name in PROGRESS_GAUGES)


def test_the_queue_gauges_join_the_event_counter_on_service_and_event_type(our_metrics):
    # BimtekConsumerStalled joins them `on (service, event_type)`.
    events = set(our_metrics["bimtek_events_handled"])
    for gauge in ("bimtek_consumer_queue_messages", "bimtek_dead_letter_messages"):
        assert {"service", "event_type"} <= set(our_metrics[gauge]) & events


@pytest.mark.parametrize("rules_file", RULES, ids=lambda path: path.name)
def test_alert_rules_name_only_metrics_the_code_exports(rules_file, dashboards_check):
    known = dashboards_check.metric_names_in_code()
    rules = [rule for group in yaml.safe_load(rules_file.read_text())["groups"] for rule in group["rules"]]
    assert rules
    for rule in rules:
        for name in dashboards_check.metrics_in(rule["expr"]):
            if name == "up" or name.startswith("rabbitmq_"):
                continue  # Prometheus' own, and RabbitMQ's exporter
            assert name in known, f"{rule.get('alert')}: no metric {name} in the code"
