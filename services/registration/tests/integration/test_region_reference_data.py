"""Region reference data against a real PostgreSQL with every migration applied: loading Jawa Timur
(counts, speed, idempotence, refreshed names, retired codes), the command, and the NIK checks and
lists of the use cases on top of it."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.orm import sessionmaker

from bimtek_shared.contracts.caller import Caller
from bimtek_shared.contracts.envelope import new_event
from bimtek_shared.contracts.errors import DomainError
from bimtek_shared.persistence.database import drop_database_if_exists, sync_url
from bimtek_shared.persistence.messaging_tables import MessagingTables
from registration.adapters.orm import metadata
from registration.adapters.region_files import read_region_files, read_shipped, shipped_directory
from registration.adapters.regions import RegionIndexCache, load_province
from registration.service_layer import handlers, regions
from registration.service_layer.commands import RegisterParticipant, StartParticipantImport
from registration.service_layer.unit_of_work import RegistrationUnitOfWork
from registration.settings import DEVELOPMENT_NIK_ENCRYPTION_KEY, DEVELOPMENT_NIK_LOOKUP_KEY

pytestmark = pytest.mark.integration

SERVICE_DIR = Path(__file__).resolve().parents[2]
SHIPPED_SOURCE = "shipped"
OPERATOR = Caller(user="u-operator", role="operator", regency="35.17", correlation_id="test-regions")


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    url = f"postgresql://postgres@127.0.0.1:5432/bimtek_test_regions_{uuid.uuid4().hex[:8]}"
    subprocess.run([sys.executable, "-m", "alembic", "upgrade", "head"], cwd=SERVICE_DIR, check=True,
                   env={**os.environ, "DATABASE_URL": url}, stdout=subprocess.DEVNULL)
    yield url
    drop_database_if_exists(url)


@pytest.fixture(scope="module")
def engine(database_url: str):
    engine = create_engine(sync_url(database_url))
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def jawa_timur(engine) -> None:
    """Jawa Timur as shipped, loaded once for the module (tests that change it load it back)."""
    with engine.begin() as conn:
        load_province(conn, read_shipped("35"), SHIPPED_SOURCE)


@pytest.fixture(scope="module")
def make_uow(engine):
    sessions = sessionmaker(engine, expire_on_commit=False)
    messaging = MessagingTables(outbox=metadata.tables["outbox"], processed_events=metadata.tables["processed_events"])
    dependencies = RegistrationUnitOfWork.dependencies_from_config(
        {"NIK_ENCRYPTION_KEY": DEVELOPMENT_NIK_ENCRYPTION_KEY, "NIK_LOOKUP_KEY": DEVELOPMENT_NIK_LOOKUP_KEY})
    return lambda: RegistrationUnitOfWork(sessions, messaging, correlation_id="test-regions", **dependencies)


def scalar(engine, sql: str, **params) -> int:
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


def snapshot(engine) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(row) for table in ("provinces", "regencies", "districts", "villages")
                for row in conn.execute(text(f"SELECT * FROM {table} ORDER BY code"))]


def test_loading_jawa_timur_gives_the_official_counts(engine) -> None:
    # How long it takes is a benchmark's question, not a test's (a busy machine failed a bound here).
    files = read_shipped("35")
    with engine.begin() as conn:
        report = load_province(conn, files, SHIPPED_SOURCE)

    assert report.rows == {"regencies": 38, "districts": 666, "villages": 8494}
    assert scalar(engine, "SELECT count(*) FROM regencies WHERE province_code = '35'") == 38
    assert scalar(engine, "SELECT count(*) FROM regencies WHERE kind = 'kota'") == 9
    assert scalar(engine, "SELECT count(*) FROM districts") == 666
    assert scalar(engine, "SELECT count(*) FROM villages") == 8494
    assert scalar(engine, "SELECT count(*) FROM villages WHERE kind = 'desa'") == 7721
    assert scalar(engine, "SELECT count(*) FROM villages WHERE kind = 'kelurahan'") == 773
    assert scalar(engine, "SELECT count(*) FROM districts WHERE regency_code = '35.17'") == 21
    assert scalar(engine, "SELECT count(*) FROM villages WHERE district_code LIKE '35.17.%'") == 306
    assert scalar(engine, "SELECT count(*) FROM provinces") == 38
    assert scalar(engine, "SELECT files_sha256 FROM region_loads WHERE province_code = '35'") == files.sha256


def test_loading_the_same_files_again_changes_nothing(engine, jawa_timur) -> None:
    before = snapshot(engine)
    with engine.begin() as conn:
        report = load_province(conn, read_shipped("35"), SHIPPED_SOURCE)
    assert not report.changed
    assert snapshot(engine) == before


def test_a_second_file_set_refreshes_names_and_retires_what_it_lacks(engine, jawa_timur, tmp_path) -> None:
    folder = tmp_path / "jatim-next"
    shutil.copytree(shipped_directory("35"), folder)
    villages = (folder / "villages.csv").read_text()
    assert "35.17.09.1002,35.17.09,Jombatan,kelurahan\n" in villages
    villages = villages.replace("35.17.09.1002,35.17.09,Jombatan,", "35.17.09.1002,35.17.09,Jombatan Baru,")
    assert "35.17.09.2001,35.17.09,Mojongapit,desa\n" in villages
    villages = villages.replace("35.17.09.2001,35.17.09,Mojongapit,desa\n", "")  # e.g. merged into a neighbour
    (folder / "villages.csv").write_text(villages)

    with engine.begin() as conn:
        report = load_province(conn, read_region_files(folder, "35"), str(folder))
    assert report.changes["villages"].renamed == ["35.17.09.1002"]
    assert report.changes["villages"].retired == ["35.17.09.2001"]
    assert scalar(engine, "SELECT name FROM villages WHERE code = '35.17.09.1002'") == "Jombatan Baru"
    # Kept, not deleted: something may still refer to it. The lists no longer show it.
    assert scalar(engine, "SELECT count(*) FROM villages WHERE code = '35.17.09.2001' AND retired_at IS NOT NULL") == 1
    with engine.begin() as conn:
        report = load_province(conn, read_shipped("35"), SHIPPED_SOURCE)
    assert report.changes["villages"].renamed == ["35.17.09.1002"]
    assert report.changes["villages"].restored == ["35.17.09.2001"]
    assert scalar(engine, "SELECT count(*) FROM villages WHERE retired_at IS NOT NULL") == 0


def test_the_command_loads_reports_and_refuses_broken_files_without_writing(database_url, engine, jawa_timur,
                                                                            tmp_path) -> None:
    env = {**os.environ, "DATABASE_URL": database_url, "LANG": "C.UTF-8"}

    def command(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "registration.cli", "regions", *args], env=env,
                              capture_output=True, text=True, timeout=60)

    again = command("load", "--province", "35")
    assert again.returncode == 0, again.stderr
    assert "Tidak ada perubahan" in again.stdout
    status = command("status", "--lang", "en")
    assert "35 Jawa Timur: 38 regencies, 666 kecamatan, 8494 desa/kelurahan (retired: 0/0/0)" in status.stdout

    broken = tmp_path / "broken"
    shutil.copytree(shipped_directory("35"), broken)
    with open(broken / "districts.csv", "a") as districts:
        districts.write("35.17.22,35.17,Kecamatan Baru\n35.17.23,35.17,\n")
    with open(broken / "villages.csv", "a") as villages:
        villages.write("35.17.22.2001,35.17.22,Desa Baru,kelurahan\n")
    before = snapshot(engine)
    refused = command("load", "--province", "35", "--dir", str(broken), "--lang", "en")
    assert refused.returncode == 1
    assert "nothing was written (2 problems)" in refused.stderr
    assert "districts.csv:669: the name is empty" in refused.stderr
    assert "villages.csv:8496: kind kelurahan does not match code 35.17.22.2001 (expected desa)" in refused.stderr
    assert snapshot(engine) == before
    assert "ditolak" in command("load", "--province", "35", "--dir", str(broken)).stderr


def nik(region_digits: str, serial: int) -> str:
    """The NIK of a woman born 1 July 1985, issued in the kecamatan ``region_digits`` (PPKKCC)."""
    return f"{region_digits}410785{serial:04d}"


def test_registration_checks_the_nik_region_digits_against_the_loaded_data(make_uow, jawa_timur) -> None:
    def register(region_digits: str) -> dict:
        command = RegisterParticipant(regency="35.17", nik=nik(region_digits, 1), full_name="Siti Aminah",
                                      sex="P", birth_date=date(1985, 7, 1), position="ketua")
        return handlers.register_participant(make_uow(), OPERATOR, command)

    assert register("351709")["warnings"] == []
    assert register("357801")["warnings"] == ["nik_from_other_regency"]
    assert register("331501")["warnings"] == ["nik_region_not_checked", "nik_from_other_province"]
    for region_digits, reason in (("359901", "nik_unknown_regency"), ("351799", "nik_unknown_district")):
        with pytest.raises(DomainError) as refused:
            register(region_digits)
        assert refused.value.params == {"reason": reason}


def test_a_bulk_registration_checks_every_row_without_a_query_per_row(engine, make_uow, jawa_timur) -> None:
    row = {"full_name": "Peserta", "sex": "P", "birth_date": "1985-07-01", "position": "anggota_pengurus"}
    rows = [{**row, "nik": nik("351709", 1000 + i)} for i in range(1, 40)]
    rows[4] = {**row, "nik": nik("357801", 1000)}  # item 5: from Surabaya, a warning
    rows[6] = {**row, "nik": nik("351799", 1000)}  # item 7: no such kecamatan, refused
    job = handlers.start_participant_import(make_uow(), OPERATOR,
                                            StartParticipantImport(regency="35.17", rows=rows))
    requested = new_event("participant_import.requested", {"job_id": job["id"], "total": len(rows)},
                          regency="35.17", correlation_id="test-regions")
    region_queries = []

    def count_region_queries(conn, cursor, statement, *args) -> None:
        if any(table in statement for table in ("region_loads", "regencies", "districts")):
            region_queries.append(statement)

    event.listen(engine, "before_cursor_execute", count_region_queries)
    try:
        assert handlers.run_participant_import(make_uow(), requested)
    finally:
        event.remove(engine, "before_cursor_execute", count_region_queries)

    done = handlers.get_participant_import(make_uow(), OPERATOR, job["id"])
    assert (done["done"], done["failed"]) == (38, 1)
    assert done["errors"] == [{"item": 7, "column": None, "code": "nik_invalid",
                              "params": {"reason": "nik_unknown_district"}}]
    assert done["result"]["warnings"] == [{"item": 5, "codes": ["nik_from_other_regency"]}]
    assert len(region_queries) <= 4  # the version check, and at most a rebuild: not one per row


def test_the_index_follows_a_load_of_another_province(engine, jawa_timur, tmp_path) -> None:
    cache = RegionIndexCache(recheck_seconds=0)  # the default asks at most every few seconds
    with sessionmaker(engine)() as session:
        assert cache.get(session).is_loaded("35") and not cache.get(session).is_loaded("36")
    banten = tmp_path / "banten"
    banten.mkdir()
    (banten / "regencies.csv").write_text("code,name,kind\n36.01,Kabupaten Pandeglang,kabupaten\n")
    (banten / "districts.csv").write_text("code,regency_code,name\n36.01.01,36.01,Sumur\n")
    (banten / "villages.csv").write_text("code,district_code,name,kind\n36.01.01.2001,36.01.01,Kertajaya,desa\n")
    with engine.begin() as conn:
        load_province(conn, read_region_files(banten, "36"), str(banten))
    with sessionmaker(engine)() as session:
        index = cache.get(session)
    assert index.is_loaded("36") and index.has_district("36.01.01") and index.has_district("35.17.09")


def test_the_lists_show_live_regions_of_any_regency_to_any_caller(make_uow, jawa_timur) -> None:
    regencies = regions.list_regencies(make_uow(), OPERATOR, "35")
    assert len(regencies["items"]) == 38
    assert regencies["items"][16] == {"code": "35.17", "name": "Kabupaten Jombang", "kind": "kabupaten"}
    other = Caller(user="u-sby", role="operator", regency="35.78", correlation_id="test-regions")
    assert len(regions.list_districts(make_uow(), other, "35.17")["items"]) == 21
    villages = regions.list_villages(make_uow(), OPERATOR, "35.17.09")["items"]
    assert [v["name"] for v in villages if v["kind"] == "kelurahan"] == ["Jombatan", "Kaliwungu", "Jelakombo",
                                                                       "Kepanjen"]
    for call, code in ((regions.list_districts, "35.99"), (regions.list_villages, "35.17.99")):
        with pytest.raises(DomainError) as missing:
            call(make_uow(), OPERATOR, code)
        assert missing.value.code == "region_not_found"
    with pytest.raises(DomainError) as anonymous:
        regions.list_regencies(make_uow(), None, "35")
    assert anonymous.value.code == "unauthenticated"
