"""A unit run as several processes: each instance has its own name, pid file, log and port."""
from __future__ import annotations

from pathlib import Path

import pytest

from bimtek_shared.ops.local_stack import UNITS, LocalStack, instance_name

SCHEDULING = next(u for u in UNITS if u.name == "scheduling")


def test_the_first_instance_keeps_the_units_name_and_later_ones_are_numbered() -> None:
    assert instance_name("scheduling") == "scheduling"
    assert instance_name("scheduling", 2) == "scheduling-2"
    with pytest.raises(ValueError):
        instance_name("scheduling", 0)


def test_each_instance_gets_its_own_port_pid_file_and_log(tmp_path: Path) -> None:
    stack = LocalStack(state_dir=tmp_path, ports={"scheduling": 9102, "scheduling-2": 9202})
    assert stack.env_for(SCHEDULING)["OPS_HTTP_PORT"] == "9102"
    assert stack.env_for(SCHEDULING, 2)["OPS_HTTP_PORT"] == "9202"
    assert stack.pid_path("scheduling-2") != stack.pid_path("scheduling")
    assert stack.log_path("scheduling-2").name == "scheduling-2.log"
    assert stack.ready_url("scheduling-2") == "http://127.0.0.1:9202/readyz"


def test_a_second_instance_without_a_port_is_refused_by_name(tmp_path: Path) -> None:
    stack = LocalStack(state_dir=tmp_path, ports={"scheduling": 9102})
    with pytest.raises(KeyError, match="scheduling-2"):
        stack.env_for(SCHEDULING, 2)


def test_instances_lists_the_units_processes_by_pid_file_first_one_first(tmp_path: Path) -> None:
    stack = LocalStack(state_dir=tmp_path)
    (tmp_path / "run").mkdir()
    for name in ("scheduling-10", "scheduling", "scheduling-2", "certificates-2"):
        stack.pid_path(name).write_text("1")
    assert stack.instances("scheduling") == ["scheduling", "scheduling-2", "scheduling-10"]
    assert stack.instances("certificates") == ["certificates-2"]
    assert stack.instances("registration") == []
