"""The installed ``bimtek`` command against the real gateway of the session's stack: it signs in
and keeps only a refresh token (renewed on each use) in a private file, checks a spreadsheet with
a dry run in Bahasa Indonesia or English, reports a wrong row by its row and column, and tells
where things stand. Dry runs register nobody, so the shared stack is left as it was."""
from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.harness import System
from tests.support import synthetic

pytestmark = pytest.mark.integration

BIMTEK = shutil.which("bimtek", path=str(Path(sys.executable).parent)) or "bimtek"


def bimtek(system: System, home: Path, *args: str, password: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "XDG_CONFIG_HOME": str(home), "BIMTEK_GATEWAY": system.stack.gateway_url}
    env.pop("BIMTEK_LANG", None)
    if password is not None:
        env["BIMTEK_PASSWORD"] = password
    return subprocess.run([BIMTEK, *args, "--quiet"], env=env, capture_output=True, text=True, timeout=120)


def stored(home: Path) -> dict:
    return json.loads((home / "bimtek" / "config.json").read_text())


def test_login_dry_run_import_and_status(running_system: System, tmp_path: Path) -> None:
    system, home = running_system, tmp_path / "config"
    # Two teams for villages no cooperative serves yet, with NIK serials no other test uses: a dry
    # run of them is clean whatever ran before.
    free = {code for (code,) in system.query(
        "registration", "SELECT v.code FROM villages v JOIN districts d ON d.code = v.district_code WHERE "
        "d.regency_code = %s AND NOT EXISTS (SELECT 1 FROM cooperative_villages c WHERE c.village_code = v.code)",
        (synthetic.JOMBANG,))}
    rows = [row for row in synthetic.team_rows(synthetic.JOMBANG, seed=88, first_serial=8_000)
            if row["kode_desa"] in free][:16]
    assert len({row["kode_desa"] for row in rows}) == 2
    good, bad = tmp_path / "dua-koperasi.csv", tmp_path / "satu-salah.csv"
    good.write_bytes(synthetic.to_csv(rows))
    rows[3]["jenis_kelamin"] = "P" if rows[3]["jenis_kelamin"] == "L" else "L"  # contradicts the NIK
    bad.write_bytes(synthetic.to_csv(rows))
    registered = system.count("registration", "participants")

    login = bimtek(system, home, "login", "--username", system.username, password=system.password)
    assert login.returncode == 0, login.stderr
    assert f"sebagai {system.username} (operator, wilayah 35.17)" in login.stdout
    config_file = home / "bimtek" / "config.json"
    assert stat.S_IMODE(config_file.stat().st_mode) == 0o600
    assert system.password not in config_file.read_text()
    first_token = stored(home)["refresh_token"]
    assert first_token.startswith("bkr_") and stored(home)["gateway"] == system.stack.gateway_url

    checked = bimtek(system, home, "import", str(good), "--dry-run")
    assert checked.returncode == 0, checked.stderr
    assert "Uji coba selesai: 16 baris valid, 0 tidak valid" in checked.stdout
    assert stored(home)["refresh_token"] != first_token  # single use: the newest is kept

    english = bimtek(system, home, "import", str(bad), "--dry-run", "--lang", "en")
    assert english.returncode == 1, english.stdout + english.stderr
    assert "Dry run done: 15 valid rows, 1 invalid" in english.stdout
    assert "row 5, column jenis_kelamin: Invalid NIK: the sex does not match the NIK." in english.stderr
    assert system.count("registration", "participants") == registered  # dry runs register nobody

    status = bimtek(system, home, "status")
    assert status.returncode == 0, status.stderr
    assert f"Gateway {system.stack.gateway_url}: siap" in status.stdout
    assert "Masuk sebagai peran operator, wilayah 35.17." in status.stdout
    assert "Impor terakhir: succeeded, 0/16 baris" in status.stdout  # the newest: a dry run registers nobody

    assert bimtek(system, home, "logout").returncode == 0
    after = bimtek(system, home, "status")
    assert after.returncode == 1 and "bimtek login" in after.stderr
