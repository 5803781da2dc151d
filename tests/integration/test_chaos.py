"""Chaos: the training lifecycle (import, plan, publish, check in, close, certify) under faults,
then the invariants across all services: nothing lost, nothing doubled (``tests/support/chaos.py``).

The module has PostgreSQL and RabbitMQ of its own (``private_postgres``, ``private_rabbitmq``):
the injector crashes and restarts both, which no other module's stack may feel.

- ``test_chaos_reduced`` runs in ``make test``: three kecamatan of Jombang, every fault kind once
  (a SIGKILL of each unit, a RabbitMQ crash, a PostgreSQL crash, a stalled service).
- ``test_chaos_province`` is ``make chaos``: ``CHAOS_REGENCIES`` regencies of Jawa Timur whole
  (38: the province, about 68,000 people), faults repeated until the workload is done.

``CHAOS_SEED`` repeats a run's fault schedule and absences (the seed is printed and reported);
the figures go to ``var/chaos/<label>.json`` and ``.md``. The module takes about 80 s on two
cores (40 s of it starting the servers and the stack).
"""
from __future__ import annotations

import json
import os
import random
import uuid
from collections.abc import Iterator

import psycopg2
import pytest

from tests.integration.harness import System, wait_until
from tests.support.chaos import RETRY_DELAYS_MS, ChaosPlan, province_regencies, run_chaos
from tests.support.fixtures import private_postgres, private_rabbitmq  # noqa: F401 - fixtures
from tests.support.servers import PrivatePostgres, PrivateRabbitMQ
from tests.support.synthetic import JOMBANG

pytestmark = pytest.mark.integration
PROVINCE_SCALE = "CHAOS_REGENCIES" in os.environ


def _seed() -> int:
    return int(os.environ.get("CHAOS_SEED") or random.SystemRandom().randrange(1, 10**6))


@pytest.fixture(scope="module")
def chaos_system(private_postgres: PrivatePostgres, private_rabbitmq: PrivateRabbitMQ,  # noqa: F811
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    running = System.up(
        state_dir=tmp_path_factory.mktemp("chaos-stack"), amqp_uri=private_rabbitmq.amqp_uri,
        postgres_url=private_postgres.url("").rstrip("/"), database_prefix="chaos",
        extra_env={
            "RETRY_DELAYS_MS": json.dumps(RETRY_DELAYS_MS),
            # A killed gateway's claim on an Idempotency-Key lapses in seconds, not a minute: the
            # retries of the request it was running go through within the run. A province's plan
            # previews take longer than the suite's 2 s RPC timeout.
            **({"RPC_TIMEOUT_SECONDS": "10", "IDEMPOTENCY_LOCK_SECONDS": "15"} if PROVINCE_SCALE
               else {"IDEMPOTENCY_LOCK_SECONDS": "5"}),
        },
    )
    try:
        yield running
    finally:
        running.close()


def _assert_clean(result) -> None:
    report = result.report
    broken = {name: check for name, check in report["invariants"].items() if check["lost"] or check["doubled"]}
    assert (result.lost, result.doubled) == (0, 0), json.dumps(broken, indent=2)
    # Dead letters are allowed only where an outage explains them, and only until replayed.
    assert all(letter["explained"] for letter in report["dead_letters"]), report["dead_letters"]
    assert report["dead_letters_left"] == [], report["dead_letters_left"]
    assert report["unexpected_exits"] == [], report["unexpected_exits"]


def test_chaos_reduced(chaos_system: System, private_rabbitmq: PrivateRabbitMQ,  # noqa: F811
                       private_postgres: PrivatePostgres) -> None:  # noqa: F811
    plan = ChaosPlan(label="reduced", seed=_seed(), regencies=(JOMBANG,), districts_per_regency=3,
                     venue_capacity=60, fault_gap_seconds=(0.2, 1.0), quiescence_timeout=120, workload_timeout=300)
    result = run_chaos(plan, chaos_system, private_rabbitmq, private_postgres)
    kinds = result.report["faults_by_kind"]
    assert all(kinds.get(f"sigkill:{unit}") for unit in ("registration", "scheduling", "certificates", "gateway"))
    assert kinds.get("restart:rabbitmq") and kinds.get("restart:postgres") and kinds.get("stall:service"), kinds
    assert result.report["completed"] > 0 and result.report["not_completed"] > 0
    _assert_clean(result)


@pytest.mark.skipif(not PROVINCE_SCALE, reason="the province-scale run: `make chaos`")
def test_chaos_province(chaos_system: System, private_rabbitmq: PrivateRabbitMQ,  # noqa: F811
                        private_postgres: PrivatePostgres) -> None:  # noqa: F811
    regencies = province_regencies(int(os.environ["CHAOS_REGENCIES"]))
    plan = ChaosPlan(label=f"province-{len(regencies)}", seed=_seed(), regencies=regencies,
                     districts_per_regency=None, fault_gap_seconds=(3.0, 15.0), repeat_faults=True,
                     parallel_regencies=int(os.environ.get("CHAOS_PARALLEL", "3")),
                     quiescence_timeout=600, workload_timeout=6 * 3600)
    result = run_chaos(plan, chaos_system, private_rabbitmq, private_postgres)
    _assert_clean(result)


def test_a_write_whose_answer_came_too_late_is_not_done_again_on_retry(chaos_system: System) -> None:
    """The window the chaos run opens only by luck (a service stalled or a database slow between a
    request's receipt and its commit), opened on purpose: the venues table is locked, so
    scheduling's ``create_venue`` waits past the gateway's RPC timeout; the gateway answers 504 and
    keeps no answer for the key (5xx are not kept); the lock goes, the venue is committed; the
    client retries with the same Idempotency-Key."""
    system = chaos_system
    system.ensure_running()
    system.sign_in()  # afresh: the chaos run may have outlived the first access token
    # Its last fault may have restarted the broker just now: running processes are not yet consuming
    # again, and the request below must reach scheduling, not find no consumer (503).
    wait_until(lambda: system.api.get("/api/v1/venues").status_code == 200, timeout=60, interval=0.5,
               message="scheduling did not answer again after the chaos run")
    name, key = f"Aula uji kunci {uuid.uuid4().hex[:8]}", str(uuid.uuid4())
    body = {"name": name, "capacity": 40, "available": [{"start": "2025-07-01", "end": "2025-07-31"}]}
    headers = {"Idempotency-Key": key}
    venues = lambda: system.count("scheduling", "venues", "name = %s", (name,))  # noqa: E731

    blocker = psycopg2.connect(system.dsn("scheduling"))
    try:
        with blocker.cursor() as cursor:
            cursor.execute("LOCK TABLE venues IN SHARE ROW EXCLUSIVE MODE")  # inserts wait, reads go on
        lost = system.api.post("/api/v1/venues", json=body, headers=headers)
    finally:
        blocker.rollback()
        blocker.close()
    assert lost.status_code == 504, lost.text
    wait_until(venues, timeout=30, message="the first request never committed")  # it ran; its answer came late

    retried = system.api.post("/api/v1/venues", json=body, headers=headers)
    assert retried.status_code == 201, retried.text
    assert venues() == 1, "one intended write made two venues"
