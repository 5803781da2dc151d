"""Bulk import from a file, through the gateway, into all three services: the real structure of
Kabupaten Jombang (21 kecamatan, 306 villages, a team of eight each: 2,448 rows), a dry run, the
same file twice, and a file with one bad row (refused whole unless valid rows only are asked for).
"""
from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.integration.harness import System, wait_until
from tests.support import synthetic

pytestmark = pytest.mark.integration

API = "/api/v1"
IMPORTS = f"{API}/participant-imports"
JOMBANG = synthetic.JOMBANG
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture(scope="module")
def running_system(own_system: System) -> System:
    """Its own stack: the import serves every village of Jombang (see ``own_system``)."""
    return own_system


def upload(system: System, content: bytes, file_name: str, **options: bool) -> httpx.Response:
    mime = XLSX if file_name.endswith(".xlsx") else "text/csv"
    return system.api.post(IMPORTS, files={"file": (file_name, content, mime)},
                           data={name: str(value).lower() for name, value in options.items()}, timeout=60)


def finished(system: System, answer: httpx.Response, timeout: float = 180) -> dict[str, Any]:
    assert answer.status_code in (200, 202), answer.text
    location = answer.headers["location"]

    def done() -> dict[str, Any] | None:
        job = system.api.get(location).json()
        return job if job["status"] in ("succeeded", "failed") else None

    return wait_until(done, timeout, interval=0.5, message=f"import {location} did not finish")


def statistics(system: System) -> dict[str, Any]:
    answer = system.api.get(f"{API}/cooperatives/statistics", params={"regency": JOMBANG})
    assert answer.status_code == 200, answer.text
    return answer.json()


def registered(system: System) -> int:
    return system.count("registration", "participants", "regency = %s", (JOMBANG,))


def wait_until_consumed(system: System) -> None:
    """Scheduling and certificates hold every participant of the regency that registration holds."""
    def consumed() -> bool:
        want = registered(system)
        return all(system.count(unit, table, "regency = %s", (JOMBANG,)) == want
                   for unit, table in (("scheduling", "participants"), ("certificates", "roster")))

    wait_until(consumed, 180, interval=0.5, message="the imported participants did not reach both consumers")


def test_the_jombang_structure_imports_once(running_system: System) -> None:
    system = running_system
    rows = synthetic.team_rows(JOMBANG)
    assert len(rows) == 2_448 and len({row["kode_desa"] for row in rows}) == 306
    content = synthetic.to_xlsx(rows)
    served_before = statistics(system)["totals"]["villages_with_cooperative"]
    participants_before = registered(system)

    dry = finished(system, upload(system, content, "jombang.xlsx", dry_run=True))
    assert dry["status"] == "succeeded", dry
    assert dry["result"]["dry_run"] is True and dry["result"]["valid_rows"] == 2_448
    assert dry["result"]["cooperatives_to_create"] == 306 - served_before
    assert dry["total"] == 2_448 and dry["done"] == 0 and dry["errors"] == []
    assert registered(system) == participants_before, "a dry run registered someone"

    first_answer = upload(system, content, "jombang.xlsx")
    assert first_answer.status_code == 202, first_answer.text
    job = finished(system, first_answer)
    assert job["status"] == "succeeded", job
    assert (job["total"], job["done"], job["failed"], job["progress"]) == (2_448, 2_448, 0, 1.0)
    assert job["result"]["cooperatives_created"] == 306 - served_before
    wait_until_consumed(system)
    # The new cooperatives' announcements carry the region names certificates print.
    cooperatives = system.count("registration", "cooperatives", "regency = %s", (JOMBANG,))
    wait_until(lambda: system.count("certificates", "cooperatives", "regency = %s AND village_name IS NOT NULL AND "
                                    "district_name IS NOT NULL AND regency_name = 'Kabupaten Jombang'",
                                    (JOMBANG,)) == cooperatives, 60,
               message="certificates did not learn the imported cooperatives' names")

    after = statistics(system)
    assert len(after["districts"]) == 21
    assert after["totals"]["villages"] == after["totals"]["villages_with_cooperative"] == 306
    assert all(d["villages_with_cooperative"] == d["villages"] for d in after["districts"])
    assert after["totals"]["participants"] + after["totals"]["participants_without_cooperative"] \
        == participants_before + 2_448
    # Every team of eight is complete (5 pengurus, 3 pengawas, each single position held once) unless
    # another test put someone more into the same cooperative.
    assert after["totals"]["cooperatives_with_complete_team"] >= 306 - served_before

    again = upload(system, content, "jombang-lagi.xlsx")
    assert again.status_code == 200, again.text
    assert again.json()["id"] == job["id"] and again.headers["location"] == first_answer.headers["location"]
    assert registered(system) == participants_before + 2_448
    assert statistics(system)["totals"] == after["totals"]


def test_a_file_with_one_bad_row_imports_nothing_unless_asked(running_system: System) -> None:
    system = running_system
    rows = synthetic.team_rows(JOMBANG, seed=7, first_serial=5_000)[:10]
    for row in rows:
        row["jabatan"] = "anggota  PENGURUS"  # as people write it; a position many may hold
    rows[3]["jenis_kelamin"] = "P" if rows[3]["jenis_kelamin"] == "L" else "L"  # contradicts the NIK
    content = synthetic.to_csv(rows)
    before = registered(system)

    refused = finished(system, upload(system, content, "sepuluh.csv"))
    assert refused["status"] == "failed", refused
    assert refused["result"]["imported"] == 0 and refused["result"]["invalid_rows"] == 1
    assert [(e["item"], e["column"], e["code"]) for e in refused["errors"]] == [(5, "jenis_kelamin", "nik_invalid")]
    assert refused["errors"][0]["message"] == "NIK tidak valid: jenis kelamin tidak sesuai dengan NIK."
    assert registered(system) == before

    english = system.api.get(f"{IMPORTS}/{refused['id']}", headers={"Accept-Language": "en"}).json()
    assert english["errors"][0]["message"] == "Invalid NIK: the sex does not match the NIK."

    valid_only = finished(system, upload(system, content, "sepuluh.csv", import_valid_rows_only=True))
    assert valid_only["status"] == "succeeded", valid_only
    assert (valid_only["done"], valid_only["failed"]) == (9, 1)
    assert registered(system) == before + 9
    wait_until_consumed(system)


def test_the_template_lists_the_headings(running_system: System) -> None:
    answer = running_system.api.get(f"{IMPORTS}/template.csv")
    assert answer.status_code == 200, answer.text
    assert answer.content.decode("utf-8-sig").splitlines()[0].split(";") == list(synthetic.HEADINGS)
    xlsx = running_system.api.get(f"{IMPORTS}/template.xlsx")
    assert xlsx.status_code == 200 and xlsx.content.startswith(b"PK")
