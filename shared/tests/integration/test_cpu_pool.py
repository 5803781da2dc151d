"""CPU-heavy work in the CpuPool leaves a service responsive; on the hub it would not."""
import asyncio
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from bimtek_gateway.rpc import NamekoRpcClient
from bimtek_shared.persistence.database import create_database_if_missing, drop_database_if_exists

pytestmark = pytest.mark.integration

HERE = Path(__file__).parent
AMQP_URI = "amqp://guest:guest@127.0.0.1:5672/"


@pytest.fixture(scope="module")
def drill_service():
    database_url = f"postgresql://postgres@127.0.0.1:5432/bimtek_test_cpu_{uuid.uuid4().hex[:8]}"
    create_database_if_missing(database_url)
    port = 20000 + os.getpid() % 5000
    env = {**os.environ, "DATABASE_URL": database_url, "OPS_HTTP_PORT": str(port), "CPU_WORKERS": "1",
           "PYTHONPATH": f"{HERE}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    process = subprocess.Popen(
        [sys.executable, "-c", "from bimtek_shared.service_main import main; "
                               "main('cpu_service:CpuDrill', 'cpu_service:CpuDrillSettings')"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=20)
    drop_database_if_exists(database_url)


async def slowest_health_answer_during(base_url: str, method: str, seconds: float) -> float:
    async with NamekoRpcClient(AMQP_URI, default_timeout=30) as rpc:
        await rpc.call("cpu_drill", "crunch_in_pool", kwargs={"seconds": 0.01})  # warm the pool up
        call = asyncio.create_task(rpc.call("cpu_drill", method, kwargs={"seconds": seconds}))
        slowest = 0.0
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
            await asyncio.sleep(0.2)
            while not call.done():
                started = time.perf_counter()
                assert (await http.get("/healthz")).status_code == 200
                slowest = max(slowest, time.perf_counter() - started)
                await asyncio.sleep(0.05)
        assert await call > 0
        return slowest


def test_work_in_the_pool_leaves_health_checks_answering(drill_service):
    assert asyncio.run(slowest_health_answer_during(drill_service, "crunch_in_pool", 2.0)) < 0.5


def test_the_same_work_on_the_hub_would_stall_them(drill_service):
    # The control: proves the check above can fail.
    assert asyncio.run(slowest_health_answer_during(drill_service, "crunch_on_hub", 2.0)) > 1.0
