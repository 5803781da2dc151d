"""Audit every pinned dependency (constraints.txt: the services', the gateway's and the tools') for
known vulnerabilities with pip-audit, against PyPI's advisory data (OSV records per release).

    python scripts/audit_dependencies.py      # `make audit`, which `make test` runs

- The pins are audited as written (``--no-deps``: constraints.txt pins every package installed),
  without building a virtualenv (``--disable-pip``), and ``--strict``: a pin that could not be
  audited fails the run instead of passing unseen.
- A vulnerability may be accepted only in ``ACCEPTED`` below, by its id, with the reason.
- pip-audit asks PyPI about each release (``/pypi/<name>/<version>/json``). Where that is not
  reachable (a mirror that serves only packages, no network), the audit cannot run: it says so
  loudly and exits 0, unless ``AUDIT_REQUIRED=1`` (set it where the network is known to be there)
  makes that a failure too.
"""
from __future__ import annotations

import os
import subprocess
import sys
import urllib.error
import urllib.request
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYPI = "https://pypi.org/pypi"
# Vulnerability id -> why it does not affect us (or what we wait for). Keep it empty when possible.
ACCEPTED: dict[str, str] = {}


def advisory_data_reachable() -> str | None:
    """None if PyPI answers per-release metadata (what pip-audit reads), else why not."""
    probe = f"{PYPI}/pip-audit/{version('pip-audit')}/json"
    try:
        with urllib.request.urlopen(probe, timeout=15) as answer:
            return None if answer.status == 200 else f"HTTP {answer.status} from {probe}"
    except (urllib.error.URLError, OSError) as error:
        return f"{probe}: {error}"


def main() -> int:
    unreachable = advisory_data_reachable()
    if unreachable:
        required = os.environ.get("AUDIT_REQUIRED") == "1"
        print(f"dependency audit NOT RUN: PyPI's per-release advisory data is unreachable ({unreachable})",
              file=sys.stderr)
        return 1 if required else 0
    command = [sys.executable, "-m", "pip_audit", "--requirement", str(ROOT / "constraints.txt"), "--no-deps",
               "--disable-pip", "--strict", "--progress-spinner", "off", "--desc", "on",
               *[argument for vulnerability in ACCEPTED for argument in ("--ignore-vuln", vulnerability)]]
    return subprocess.run(command, cwd=ROOT).returncode


if __name__ == "__main__":
    sys.exit(main())
