"""``make pdp-audit``: the personal-data leak audit of a whole workload (UU PDP, issue 9).

Starts a stack of its own on private PostgreSQL and RabbitMQ servers (``tests/support/servers.py``:
nothing shared is touched, the firehose traces nobody else), logging at DEBUG and every request
line; runs the workload under ``tests/support/pdp_audit.py``'s capture (every log line, every
metric, every message through the broker, every URL); then searches all of it for the NIK, name
and phone number of everyone registered (the registration database's people, NIKs opened with the
service's keys, and whoever the registration calls carried), and writes the report to
``var/pdp-audit/report.json``.

    python scripts/pdp_audit.py               # the Jombang Bimtek of scripts/demo.py (2,448 people)
    python scripts/pdp_audit.py -- CMD ARG..  # any command against the audited stack

A command gets ``BIMTEK_GATEWAY`` (the gateway's address) and ``BIMTEK_USERNAME`` /
``BIMTEK_PASSWORD`` (an operator of Kabupaten Jombang) in its environment.

Exit status 1 if a NIK was found anywhere but in the calls that carry a new registration to the
registration service, or a name or phone number in a log line, a metric or a URL.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from bimtek_shared.ops import local_stack  # noqa: E402
from tests.support import pdp_audit  # noqa: E402
from tests.support.servers import PrivatePostgres, PrivateRabbitMQ, free_port  # noqa: E402

OUT = REPO_ROOT / "var" / "pdp-audit"
VHOST = "pdp-audit"
JOMBANG = "35.17"


def main() -> int:
    options = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    options.add_argument("--out", type=Path, default=OUT, help="where the report and the capture go")
    options.add_argument("command", nargs=argparse.REMAINDER, help="-- CMD ARG...: a workload of your own")
    args = options.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    started_at = datetime.now(timezone.utc)
    rabbit = PrivateRabbitMQ(Path(tempfile.mkdtemp(prefix="bimtek-pdp-rabbit-")))
    postgres = PrivatePostgres(Path(tempfile.mkdtemp(prefix="bimtek-pdp-pg-")))  # reachable by the postgres user
    stack = None
    try:
        say("Private PostgreSQL and RabbitMQ, a stack on them (LOG_LEVEL=DEBUG, ACCESS_LOG=true)")
        postgres.start()
        rabbit.start()
        demo = None if command else load_demo()
        stack = audited_stack(out / "stack", rabbit.add_vhost(VHOST), postgres.url("").rstrip("/"), demo)
        stack.up()
        if demo is not None:
            users = demo.create_users(stack)
            workload = "scripts/demo.py (the Jombang Bimtek)"
        else:
            operator = create_operator(stack)
            workload = " ".join(command)
        say(f"Running the workload under capture: {workload}")
        with pdp_audit.capture(stack, lambda on: rabbit.trace(VHOST, on), out / "capture") as captured:
            if demo is not None:
                outcome = demo.Bimtek(stack, users, out / "artefacts").run(0.0)
            else:
                outcome = subprocess.run(command, env={**os.environ, "BIMTEK_GATEWAY": stack.gateway_url,
                                                       "BIMTEK_USERNAME": operator[0],
                                                       "BIMTEK_PASSWORD": operator[1]}).returncode
        say("Searching everything captured")
        searching = time.monotonic()
        registration = next(unit for unit in local_stack.UNITS if unit.name == "registration")
        # Both: the calls hold the erased and the names as first given, the database the corrections.
        people = [*pdp_audit.people_in_registration_calls(captured.tap.messages()),
                  *pdp_audit.people_in_registration_database(
                      stack.database_url("registration"), pdp_audit.registration_nik_config(stack.env_for(registration)))]
        report = captured.audit(people,
                                pdf_text=pdp_audit.pdftotext if pdp_audit.have_pdftotext() else None)
        report = {"workload": workload, "workload_exit_status": outcome, "started_at": started_at.isoformat(),
                  "search_seconds": round(time.monotonic() - searching, 1), **report}
        (out / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
        print("\n" + pdp_audit.summary(report) + f"\nreport: {out / 'report.json'}")
        return 0 if pdp_audit.clean(report) and outcome == 0 else 1
    finally:
        if stack is not None:
            stack.down()
        rabbit.close()
        postgres.close()


def load_demo():
    """scripts/demo.py as a module: its stack settings, users and the Bimtek itself."""
    spec = importlib.util.spec_from_file_location("bimtek_demo", REPO_ROOT / "scripts" / "demo.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def audited_stack(state_dir: Path, amqp_uri: str, postgres_url: str, demo) -> local_stack.LocalStack:
    """The demo's own stack settings (or plain ones), on the private servers, logging everything."""
    ports = {unit.name: free_port() for unit in local_stack.UNITS}
    if demo is not None:
        base = demo.demo_stack(state_dir.parent / "demo")
        extra = {**base.extra_env}
    else:
        extra = {}
    extra["CERTIFICATE_PUBLIC_BASE_URL"] = f"http://127.0.0.1:{ports['gateway']}"
    return local_stack.LocalStack(state_dir=state_dir, amqp_uri=amqp_uri, postgres_url=postgres_url,
                                  database_prefix="pdp", ports=ports, extra_env={**extra, **pdp_audit.STACK_ENV})


def create_operator(stack: local_stack.LocalStack) -> tuple[str, str]:
    gateway = next(unit for unit in local_stack.UNITS if unit.name == "gateway")
    username, password = f"operator.audit.{secrets.token_hex(3)}", secrets.token_urlsafe(18)
    subprocess.run([sys.executable, "-m", "bimtek_gateway.cli", "create-user", username, "--role", "operator",
                    "--regency", JOMBANG], env={**stack.env_for(gateway), "BIMTEK_PASSWORD": password}, check=True,
                   stdout=subprocess.DEVNULL, cwd=REPO_ROOT / gateway.folder)
    return username, password


def say(text: str) -> None:
    print(f"\n== {text}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
