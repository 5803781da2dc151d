"""A real Prometheus (Debian's ``prometheus`` binary) scraping the running stack: the gateway, the
three services, RabbitMQ's own Prometheus plugin and itself, every second. Once every target is
up, a registration goes through the API, and the business gauge Prometheus holds for the regency
must come to equal the count the API reports."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.harness import REGENCY, System, participant_body, wait_until
from tests.support.servers import PrivateRabbitMQ, free_port

pytestmark = pytest.mark.integration

JOBS = ("gateway", "registration", "scheduling", "certificates")  # the stack's units, as deploy/ names them


class Prometheus:
    def __init__(self, folder: Path, targets: dict[str, str]) -> None:
        binary = shutil.which("prometheus")
        assert binary, "Debian's prometheus is missing: `make test-tools` installs it"
        self.port = free_port()
        targets = {**targets, "prometheus": f"127.0.0.1:{self.port}"}
        config = {
            "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
            "scrape_configs": [{"job_name": job, "static_configs": [{"targets": [address]}]}
                               for job, address in targets.items()],
        }
        (folder / "prometheus.yml").write_text(json.dumps(config, indent=2))  # JSON is YAML
        self.log = folder / "prometheus.log"
        with self.log.open("wb") as log:
            self._process = subprocess.Popen(
                [binary, f"--config.file={folder / 'prometheus.yml'}", f"--storage.tsdb.path={folder / 'data'}",
                 f"--web.listen-address=127.0.0.1:{self.port}", "--storage.tsdb.retention.time=1h"],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def get(self, path: str, **params: str) -> Any:
        url = f"http://127.0.0.1:{self.port}{path}?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(url, timeout=5) as answer:
            return json.load(answer)

    def ready(self) -> bool:
        assert self._process.poll() is None, self.log.read_text()[-2000:]
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=2) as answer:
                return answer.status == 200
        except OSError:
            return False

    def query(self, promql: str) -> list[dict[str, Any]]:
        answer = self.get("/api/v1/query", query=promql)
        assert answer["status"] == "success", answer
        return answer["data"]["result"]

    def close(self) -> None:
        if self._process.poll() is None:
            os.killpg(self._process.pid, signal.SIGTERM)
            try:
                self._process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self._process.pid, signal.SIGKILL)
                self._process.wait()


@pytest.fixture
def prometheus(running_system: System, rabbit_server: PrivateRabbitMQ, tmp_path: Path) -> Iterator[Prometheus]:
    ports = running_system.stack.ports
    targets = {job: f"127.0.0.1:{ports[job]}" for job in JOBS}
    targets["rabbitmq"] = f"127.0.0.1:{rabbit_server.enable_prometheus()}"
    server = Prometheus(tmp_path, targets)
    try:
        wait_until(server.ready, timeout=30, message="prometheus never became ready")
        yield server
    finally:
        server.close()


def test_prometheus_scrapes_every_target_and_holds_the_counts_the_api_reports(
        running_system: System, prometheus: Prometheus) -> None:
    def every_target_up() -> bool:
        targets = prometheus.get("/api/v1/targets")["data"]["activeTargets"]
        return len(targets) == len(JOBS) + 2 and all(target["health"] == "up" for target in targets)

    wait_until(every_target_up, timeout=30, interval=0.5,
               message=lambda: json.dumps(prometheus.get("/api/v1/targets")["data"]["activeTargets"], indent=1))
    assert {row["metric"]["job"] for row in prometheus.query("up == 1")} == {*JOBS, "rabbitmq", "prometheus"}
    # RabbitMQ's own series sit beside ours (its queues, here those the stack declared).
    assert prometheus.query('rabbitmq_queues{job="rabbitmq"} > 0')

    def api_count(figure: str = "participants_registered") -> int:
        answer = running_system.api.get("/api/v1/progress", params={"regency": REGENCY})
        assert answer.status_code == 200, answer.text
        return answer.json()["totals"][figure]

    before = api_count()
    registered = running_system.api.post("/api/v1/participants", json=participant_body())
    assert registered.status_code == 201, registered.text

    def scraped(figure: str) -> int | None:
        rows = prometheus.query(f'bimtek_{figure}{{regency="{REGENCY}"}}')
        return int(float(rows[0]["value"][1])) if rows else None

    # Gauges are recounted every PROGRESS_REFRESH_SECONDS (2 s here) and scraped every second.
    wait_until(lambda: scraped("participants_registered") == api_count(), timeout=30, interval=0.5,
               message=lambda: f"prometheus {scraped('participants_registered')}, API {api_count()}")
    assert scraped("participants_registered") >= before + 1
    row = prometheus.query(f'bimtek_participants_registered{{regency="{REGENCY}"}}')[0]["metric"]
    assert (row["job"], row["service"]) == ("registration", "registration")
    # Every service's figures reach Prometheus, each under its own service label.
    for figure, service in (("participants_scheduled", "scheduling"), ("certificates_issued", "certificates")):
        wait_until(lambda: scraped(figure) == api_count(figure), timeout=15, interval=0.5,
                   message=lambda: f"{figure}: prometheus {scraped(figure)}, API {api_count(figure)}")
        assert prometheus.query(f'bimtek_{figure}{{regency="{REGENCY}"}}')[0]["metric"]["service"] == service
