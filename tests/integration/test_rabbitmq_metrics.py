"""RabbitMQ's Prometheus plugin, scraped as deploy/prometheus/prometheus.yml scrapes it, exports every
rabbitmq_* series the alert rules read, with the labels they join on. A real node of its own
(enabling the plugin sets a node-wide port), so a renamed metric or family fails here, not in
production."""
from __future__ import annotations

import importlib.util
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml
from kombu import Connection, Queue
from prometheus_client.parser import text_string_to_metric_families

from tests.support.fixtures import private_rabbitmq  # noqa: F401 (a fixture)
from tests.support.servers import PrivateRabbitMQ

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy/prometheus"
WAITING = "evt-metricstest-thing.happened--nobody.handle_thing"  # a consumer queue nobody consumes
ALARMS = {"rabbitmq_alarms_memory_used_watermark", "rabbitmq_alarms_free_disk_space_watermark",
          "rabbitmq_alarms_file_descriptor_limit"}  # BimtekBrokerResourceAlarm reads rabbitmq_alarms_.+


def rabbitmq_scrapes() -> list[dict]:
    """The compose configuration's scrape configs whose targets get job="rabbitmq"."""
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    return [scrape for scrape in config["scrape_configs"]
            if scrape["job_name"] == "rabbitmq"
            or any(rule.get("target_label") == "job" and rule.get("replacement") == "rabbitmq"
                   for rule in scrape.get("relabel_configs", []))]


def scrape(port: int, config: dict) -> list:
    query = urllib.parse.urlencode(config.get("params", {}), doseq=True)
    url = f"http://127.0.0.1:{port}{config.get('metrics_path', '/metrics')}" + (f"?{query}" if query else "")
    with urllib.request.urlopen(url, timeout=10) as answer:
        return [sample for family in text_string_to_metric_families(answer.read().decode())
                for sample in family.samples]


def metrics_named_by_the_rules() -> set[str]:
    """The metric names in the alert expressions, found as the dashboards' check finds them."""
    spec = importlib.util.spec_from_file_location("check_dashboards", ROOT / "deploy/grafana/check_dashboards.py")
    check_dashboards = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(check_dashboards)
    return {name for path in sorted((PROMETHEUS / "rules").glob("*.yml"))
            for group in yaml.safe_load(path.read_text())["groups"] for rule in group["rules"]
            for name in check_dashboards.metrics_in(rule["expr"])}


def test_the_plugin_exports_what_the_alert_rules_read(private_rabbitmq: PrivateRabbitMQ):  # noqa: F811
    port = private_rabbitmq.enable_prometheus()
    with Connection(private_rabbitmq.amqp_uri) as conn:
        Queue(WAITING, durable=True)(conn.default_channel).declare()
        with conn.Producer() as producer:
            for _ in range(2):
                producer.publish({"n": 1}, routing_key=WAITING, serializer="json")
    scrapes = rabbitmq_scrapes()
    assert [config.get("metrics_path", "/metrics") for config in scrapes] == ["/metrics", "/metrics/detailed"]

    def of_waiting(samples: list, name: str) -> list:
        return [s for s in samples if s.name == name and s.labels.get("queue") == WAITING]

    # The broker refreshes its queue statistics every few seconds.
    deadline = time.monotonic() + 20
    samples = [s for config in scrapes for s in scrape(port, config)]
    while [s.value for s in of_waiting(samples, "rabbitmq_detailed_queue_messages_ready")] != [2.0]:
        assert time.monotonic() < deadline, of_waiting(samples, "rabbitmq_detailed_queue_messages_ready")
        time.sleep(0.5)
        samples = [s for config in scrapes for s in scrape(port, config)]

    exported = {sample.name for sample in samples}
    read = {name for name in metrics_named_by_the_rules() if name.startswith("rabbitmq_")}
    assert read >= {"rabbitmq_detailed_queue_messages_ready", "rabbitmq_detailed_queue_consumers"}
    assert read <= exported, read - exported
    assert ALARMS <= exported
    # BimtekQueueWithoutConsumer joins the two on (vhost, queue): both carry them.
    [consumers] = of_waiting(samples, "rabbitmq_detailed_queue_consumers")
    assert consumers.value == 0 and consumers.labels["vhost"] == "/"
    [ready] = of_waiting(samples, "rabbitmq_detailed_queue_messages_ready")
    assert ready.labels["vhost"] == "/"
