"""Reading and checking region reference files: the shipped data, and broken files refused with
every problem named by file and line, in Bahasa Indonesia or English."""
from collections import Counter
from pathlib import Path

import pytest

from registration.adapters.region_files import (
    FileProblem, InvalidRegionFiles, read_region_files, read_shipped, shipped_directory,
)

REGENCIES = "code,name,kind\n35.17,Kabupaten Jombang,kabupaten\n35.78,Kota Surabaya,kota\n"
DISTRICTS = "code,regency_code,name\n35.17.09,35.17,Jombang\n35.78.01,35.78,Karang Pilang\n"
VILLAGES = ("code,district_code,name,kind\n35.17.09.1002,35.17.09,Jombatan,kelurahan\n"
            "35.17.09.2001,35.17.09,Mojongapit,desa\n35.78.01.1001,35.78.01,Karang Pilang,kelurahan\n")


def write_files(folder: Path, regencies: str = REGENCIES, districts: str = DISTRICTS,
                villages: str | bytes = VILLAGES, prefix: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{prefix}regencies.csv").write_text(regencies, encoding="utf-8")
    (folder / f"{prefix}districts.csv").write_text(districts, encoding="utf-8")
    path = folder / f"{prefix}villages.csv"
    path.write_bytes(villages if isinstance(villages, bytes) else villages.encode())
    return folder


def problems_of(folder: Path, province: str = "35") -> list[FileProblem]:
    with pytest.raises(InvalidRegionFiles) as refused:
        read_region_files(folder, province)
    return refused.value.problems


def test_the_shipped_jawa_timur_data_is_complete_and_valid():
    files = read_shipped("35")
    assert (len(files.regencies), len(files.districts), len(files.villages)) == (38, 666, 8494)
    assert Counter(r["kind"] for r in files.regencies.values()) == {"kabupaten": 29, "kota": 9}
    assert Counter(v["kind"] for v in files.villages.values()) == {"desa": 7721, "kelurahan": 773}
    jombang = [d for d in files.districts.values() if d["regency_code"] == "35.17"]
    assert len(jombang) == 21
    assert sum(v["district_code"][:5] == "35.17" for v in files.villages.values()) == 306
    assert files.regencies["35.17"]["name"] == "Kabupaten Jombang"
    assert (shipped_directory("35").parent / "SOURCE.md").read_text().count("Copyright (c) 2017-2025 Cahya DSN") == 1


def test_prefixed_file_names_are_found_and_a_small_set_reads(tmp_path):
    files = read_region_files(write_files(tmp_path, prefix="jatim_"), "35")
    assert list(files.villages) == ["35.17.09.1002", "35.17.09.2001", "35.78.01.1001"]
    assert files.districts["35.78.01"] == {"code": "35.78.01", "regency_code": "35.78", "name": "Karang Pilang"}
    assert len(files.sha256) == 64


@pytest.mark.parametrize("change, file, line, code", [
    (dict(villages="code,name,district_code,kind\n"), "villages.csv", 1, "bad_header"),
    (dict(regencies=REGENCIES + "35.1,Kabupaten Salah,kabupaten\n"), "regencies.csv", 4, "bad_code"),
    (dict(regencies=REGENCIES + "33.17,Kabupaten Karanganyar,kabupaten\n"), "regencies.csv", 4, "other_province"),
    (dict(districts=DISTRICTS + "35.17.09,35.17,Jombang Lagi\n"), "districts.csv", 4, "duplicate_code"),
    (dict(districts=DISTRICTS + "35.17.10,35.78,Peterongan\n"), "districts.csv", 4, "parent_mismatch"),
    (dict(villages=VILLAGES + "35.17.99.2001,35.17.99,Entah,desa\n"), "villages.csv", 5, "parent_missing"),
    (dict(villages=VILLAGES + "35.17.09.2002,35.17.09,Candimulyo,kecamatan\n"), "villages.csv", 5, "bad_kind"),
    (dict(regencies=REGENCIES + "35.79,Kota Batu,kabupaten\n"), "regencies.csv", 4, "kind_mismatch"),
    (dict(villages=VILLAGES + "35.17.09.1003,35.17.09,Kaliwungu,desa\n"), "villages.csv", 5, "kind_mismatch"),
    (dict(districts=DISTRICTS + "35.17.10,35.17, \n"), "districts.csv", 4, "bad_name"),
    (dict(districts=DISTRICTS + "35.17.10,35.17," + "x" * 101 + "\n"), "districts.csv", 4, "bad_name"),
    (dict(villages=VILLAGES + "35.17.09.2002,35.17.09,Candimulyo\n"), "villages.csv", 5, "column_count"),
    (dict(villages=VILLAGES.encode() + "35.17.09.2002,35.17.09,Candimulyo,desa\n".encode("utf-16")),
     "villages.csv", None, "not_utf8"),
    (dict(villages="code,district_code,name,kind\n"), "villages.csv", 1, "no_rows"),
    (dict(regencies=""), "regencies.csv", None, "empty_file"),
])
def test_broken_files_are_refused_with_the_file_and_line(tmp_path, change, file, line, code):
    problems = problems_of(write_files(tmp_path, **change))
    assert (problems[0].file, problems[0].line, problems[0].code) == (file, line, code)


def test_every_problem_is_reported_at_once_in_either_language(tmp_path):
    folder = write_files(tmp_path, villages=VILLAGES + "35.17.09.2002,35.17.09,Candimulyo,kecamatan\n"
                                                     "35.17.09.2002,35.17.09,Lagi,desa\n")
    problems = problems_of(folder)
    assert [p.code for p in problems] == ["bad_kind", "duplicate_code"]
    assert problems[0].message() == ("villages.csv:5: jenis kecamatan tidak dikenal "
                                      "(harus salah satu dari desa/kelurahan)")
    assert problems[1].message("en") == "villages.csv:6: code 35.17.09.2002 already appears on line 5"


def test_missing_ambiguous_or_unknown_inputs_are_refused(tmp_path):
    assert [p.code for p in problems_of(tmp_path / "nowhere")] == ["folder_missing"]
    folder = write_files(tmp_path / "two")
    (folder / "villages.csv").rename(folder / "a_villages.csv")
    (folder / "b_villages.csv").write_text(VILLAGES)
    (folder / "districts.csv").unlink()
    assert [(p.code, p.params["level"]) for p in problems_of(folder)] == [
        ("file_missing", "districts"), ("file_ambiguous", "villages")]
    assert [p.code for p in problems_of(write_files(tmp_path / "ok"), province="99")] == ["unknown_province"]
    with pytest.raises(InvalidRegionFiles) as refused:
        read_shipped("33")
    assert refused.value.problems[0].message("en") == "no data is shipped for province 33; use --dir"
