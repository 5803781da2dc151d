"""Smoke tests of the pinned nameko/eventlet stack: cheap, no servers, and they fail loudly when an
upgrade (setuptools, eventlet, greenlet, psycopg2) breaks what the services stand on."""
import subprocess
import sys

import pytest

from bimtek_shared.nameko_ext.database import assert_cooperative_driver


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-W", "ignore", "-c", code], capture_output=True, text=True, timeout=60)


def test_the_nameko_command_still_starts():
    # `nameko` imports pkg_resources, which setuptools 82 removed: constraints pin setuptools<82.
    result = subprocess.run([sys.executable, "-W", "ignore", "-m", "nameko", "--help"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "run" in result.stdout


def test_monkey_patching_makes_psycopg2_cooperative():
    result = run_python(
        "import eventlet; eventlet.monkey_patch()\n"
        "import psycopg2.extensions\n"
        "from bimtek_shared.nameko_ext.database import assert_cooperative_driver\n"
        "assert_cooperative_driver(); print('green')"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "green"


def test_without_patching_the_database_provider_refuses_to_start():
    # This test process is not monkey-patched, so psycopg2 would block the hub.
    with pytest.raises(RuntimeError, match="not cooperative"):
        assert_cooperative_driver()


def test_a_service_refuses_to_run_unpatched():
    result = run_python(
        "from bimtek_shared.nameko_ext.runtime import run_service\n"
        "from bimtek_shared.service_settings import ServiceSettings\n"
        "class S(ServiceSettings):\n    database_url: str = 'postgresql://x/y'\n    ops_http_port: int = 0\n"
        "class Svc:\n    name = 'x'\n"
        "run_service(Svc, S())"
    )
    assert result.returncode != 0
    assert "monkey_patch" in result.stderr


def test_service_settings_refuse_default_secrets_outside_development():
    result = run_python(
        "from registration.settings import RegistrationSettings\n"
        "RegistrationSettings(environment='production', amqp_uri='amqp://u:p@h:5672/')"
    )
    assert result.returncode != 0
    assert "NIK_ENCRYPTION_KEY" in result.stderr and "NIK_LOOKUP_KEY" in result.stderr
