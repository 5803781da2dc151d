"""Reading import files and checking their rows: formats, headings, every kind of bad row."""
from __future__ import annotations

import io
import uuid
import zipfile
from datetime import date, datetime

import openpyxl
import pytest

from registration.adapters import spreadsheets
from registration.adapters.regions import RegionIndex
from registration.domain.bulk_import import (
    HEADINGS, POSITION_NAMES, CheckedFile, SheetProblem, check_rows, cross_check,
)
from registration.domain.cooperatives import Village
from registration.service_layer.file_imports import check_file

JOMBANG = "35.17"
DIWEK = Village("35.17.09.2001", "35.17.09", "Bandung", "desa")
CUKIR = Village("35.17.09.2002", "35.17.09", "Cukir", "desa")
OLD = Village("35.17.09.2099", "35.17.09", "Lama", "desa", retired=True)
VILLAGES = {v.code: v for v in (DIWEK, CUKIR, OLD)}
REGIONS = RegionIndex(frozenset({"35"}), frozenset({"35.17", "35.16"}), frozenset({"35.17.09", "35.16.01"}))
TODAY = date(2026, 11, 28)
# Siti Rahayu, born 2 March 1985 in kecamatan 35.17.09 (a woman: 40 added to the day).
GOOD = ["35.17.09.2001", "", "3517094203850001", "Siti  Rahayu", "P", "02-03-1985", "0812-3456-7890", "Bendahara"]


def csv_file(*rows: list[str], delimiter: str = ";", bom: bool = True, headings: tuple[str, ...] = HEADINGS) -> bytes:
    lines = [delimiter.join(headings)] + [delimiter.join(row) for row in rows]
    return (("\ufeff" if bom else "") + "\r\n".join(lines) + "\r\n").encode("utf-8")


def xlsx_file(*rows: list[object], headings: tuple[str, ...] = HEADINGS) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(list(headings))
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def check(content: bytes, file_format: str = "csv", scope: str = JOMBANG) -> CheckedFile:
    return check_file(content, file_format, scope, VILLAGES, REGIONS, TODAY)


def errors_of(result: CheckedFile) -> list[tuple[int, str | None, str, dict]]:
    return [(e.row, e.column, e.code, dict(e.params)) for e in result.errors]


@pytest.mark.parametrize("delimiter", [";", ","])
@pytest.mark.parametrize("bom", [True, False])
def test_csv_with_either_delimiter_and_with_or_without_bom(delimiter: str, bom: bool) -> None:
    result = check(csv_file(GOOD, delimiter=delimiter, bom=bom))
    assert result.errors == [] and result.total == 1
    row = result.rows[0]
    assert (row.row, row.village, row.nik, row.full_name, row.sex) == (2, DIWEK.code, GOOD[2], "Siti Rahayu", "P")
    assert (row.birth_date, row.phone, row.position, row.regency) == (date(1985, 3, 2), "+6281234567890",
                                                                      "bendahara", JOMBANG)


def test_xlsx_with_real_dates_and_numbers_excel_made() -> None:
    # A date cell, the NIK typed as a number, the phone number losing its leading zero.
    cells = ["35.17.09.2001", None, 3517094203850001, "Siti Rahayu", "p", datetime(1985, 3, 2), 81234567890, "bendahara"]
    result = check(xlsx_file(cells), "xlsx")
    assert result.errors == []
    assert (result.rows[0].nik, result.rows[0].birth_date, result.rows[0].phone) == (
        GOOD[2], date(1985, 3, 2), "+6281234567890")


@pytest.mark.parametrize("written", ["02-03-1985", "02/03/1985", "1985-03-02", "31108"])
def test_dates_in_every_accepted_form(written: str) -> None:
    # 31108: the Excel serial of 2 March 1985, as a date cell read without its format.
    cell: object = int(written) if written.isdigit() else written
    result = check(xlsx_file([*GOOD[:5], cell, *GOOD[6:]]), "xlsx")
    assert result.errors == [] and result.rows[0].birth_date == date(1985, 3, 2)


@pytest.mark.parametrize("written, position", [
    ("Ketua", "ketua"), ("WAKIL KETUA BIDANG USAHA", "wakil_ketua_usaha"),
    ("wakil ketua  bidang keanggotaan", "wakil_ketua_keanggotaan"), (" Sekretaris ", "sekretaris"),
    ("Bendahara", "bendahara"), ("Anggota Pengurus", "anggota_pengurus"), ("Ketua Pengawas", "ketua_pengawas"),
    ("anggota pengawas", "anggota_pengawas"), ("wakil_ketua_usaha", "wakil_ketua_usaha"),
])
def test_position_names_as_people_write_them(written: str, position: str) -> None:
    result = check(csv_file([*GOOD[:7], written]))
    assert result.errors == [] and result.rows[0].position == position
    assert set(POSITION_NAMES.values()) == {"ketua", "wakil_ketua_usaha", "wakil_ketua_keanggotaan", "sekretaris",
                                            "bendahara", "anggota_pengurus", "ketua_pengawas", "anggota_pengawas"}


def test_a_formula_is_read_as_its_stored_value_never_evaluated() -> None:
    # openpyxl writes the formula without a cached value: read as empty, so the column is missing.
    cells = [*GOOD[:3], '=CONCATENATE("Siti"," Rahayu")', *GOOD[4:]]
    result = check(xlsx_file(cells), "xlsx")
    assert errors_of(result) == [(2, "nama_lengkap", "import_value_required", {})]


BAD_ROWS = [
    (["", *GOOD[1:]], "kode_desa", "import_value_required", {}),
    (["35.17.09", *GOOD[1:]], "kode_desa", "import_value_invalid", {"reason": "village_code_format"}),
    (["35.17.09.2999", *GOOD[1:]], "kode_desa", "village_not_found", {"village": "35.17.09.2999"}),
    (["35.17.09.2099", *GOOD[1:]], "kode_desa", "village_not_found", {"village": "35.17.09.2099"}),
    (["35.16.01.2001", *GOOD[1:]], "kode_desa", "village_out_of_regency",
     {"village": "35.16.01.2001", "regency": JOMBANG}),
    ([GOOD[0], "KD", *GOOD[2:]], "nama_koperasi", "import_value_invalid", {"reason": "cooperative_name_length"}),
    ([*GOOD[:2], "351709420385", *GOOD[3:]], "nik", "nik_invalid", {"reason": "nik_not_16_digits"}),
    ([*GOOD[:2], "3599094203850001", *GOOD[3:]], "nik", "nik_invalid", {"reason": "nik_unknown_regency"}),
    ([*GOOD[:2], "3517094203850000", *GOOD[3:]], "nik", "nik_invalid", {"reason": "nik_serial_zero"}),
    ([*GOOD[:3], "  ", *GOOD[4:]], "nama_lengkap", "import_value_required", {}),
    ([*GOOD[:4], "X", *GOOD[5:]], "jenis_kelamin", "import_value_invalid", {"reason": "sex_value"}),
    ([*GOOD[:4], "L", *GOOD[5:]], "jenis_kelamin", "nik_invalid", {"reason": "nik_sex_mismatch"}),
    ([*GOOD[:5], "1985.03.02", *GOOD[6:]], "tanggal_lahir", "import_value_invalid", {"reason": "date_format"}),
    ([*GOOD[:5], "03-03-1985", *GOOD[6:]], "tanggal_lahir", "nik_invalid", {"reason": "nik_birth_date_mismatch"}),
    ([*GOOD[:6], "12345", GOOD[7]], "no_hp", "import_value_invalid", {"reason": "phone_format"}),
    ([*GOOD[:7], "Direktur"], "jabatan", "import_value_invalid", {"reason": "position_unknown"}),
]


@pytest.mark.parametrize("row, column, code, params", BAD_ROWS, ids=[f"{c}-{code}" for _, c, code, _ in BAD_ROWS])
def test_every_kind_of_bad_row_is_reported_by_row_and_column(row: list[str], column: str, code: str,
                                                              params: dict) -> None:
    result = check(csv_file(GOOD, row))
    assert errors_of(result) == [(3, column, code, params)]
    assert [r.row for r in result.rows] == [2] and result.total == 2


def test_every_error_of_a_row_at_once_and_empty_rows_skipped() -> None:
    result = check(csv_file(GOOD, [""] * 8, ["35.17.09.2001", "", "123", "", "X", "", "", "Raja"]))
    assert result.total == 2
    assert errors_of(result) == [
        (4, "nik", "nik_invalid", {"reason": "nik_not_16_digits"}),
        (4, "nama_lengkap", "import_value_required", {}),
        (4, "jenis_kelamin", "import_value_invalid", {"reason": "sex_value"}),
        (4, "tanggal_lahir", "import_value_required", {}),
        (4, "jabatan", "import_value_invalid", {"reason": "position_unknown"}),
    ]


def test_a_nik_from_another_regency_is_a_warning() -> None:
    other = [*GOOD[:2], "3516014203850001", *GOOD[3:]]
    result = check(csv_file(other))
    assert result.errors == [] and result.rows[0].warnings == ["nik_from_other_regency"]


def test_a_province_wide_file_takes_each_villages_regency() -> None:
    result = check(csv_file(GOOD, ["36.01.01.2001", *GOOD[1:]]), scope="35")
    assert result.rows[0].regency == JOMBANG
    assert errors_of(result) == [(3, "kode_desa", "village_out_of_regency", {"village": "36.01.01.2001",
                                                                             "regency": "35"})]


@pytest.mark.parametrize("headings, errors", [
    (("kode_desa", "nik", "nama_lengkap", "jenis_kelamin", "tanggal_lahir", "jabatan"), []),
    (("Kode Desa", "NIK", "Nama Lengkap", "jenis-kelamin", "tanggal_lahir", "jabatan"), []),
    (("kode_desa", "nik", "nama", "jenis_kelamin", "tanggal_lahir", "jabatan"),
     [(1, "nama", "import_column_unknown"), (1, "nama_lengkap", "import_column_missing")]),
    (("kode_desa", "nik", "nik", "nama_lengkap", "jenis_kelamin", "tanggal_lahir", "jabatan"),
     [(1, "nik", "import_column_repeated")]),
])
def test_headings(headings: tuple[str, ...], errors: list[tuple]) -> None:
    values = dict(zip(HEADINGS, GOOD))
    row = [values.get("_".join(h.lower().replace("-", " ").split()), "") for h in headings]
    result = check(csv_file(row, headings=headings))
    assert [(e.row, e.column, e.code) for e in result.errors] == errors
    assert result.total == (0 if errors else 1)


def test_files_that_are_not_what_they_say() -> None:
    assert errors_of(check(b"\xff\xfe k;o", "csv")) == [
        (1, None, "import_file_unreadable", {"file_format": "CSV", "reason": "not_utf8"})]
    assert errors_of(check(b"not a zip", "xlsx")) == [
        (1, None, "import_file_unreadable", {"file_format": "XLSX", "reason": "not_xlsx"})]
    assert errors_of(check(b"", "csv")) == [
        (1, None, "import_file_unreadable", {"file_format": "CSV", "reason": "empty"})]
    assert errors_of(check(csv_file())) == [(2, None, "import_file_empty", {})]


def test_a_zip_bomb_is_refused_before_it_is_unpacked() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"<" + b"a" * 50_000_000)
    assert errors_of(check(out.getvalue(), "xlsx")) == [
        (1, None, "import_file_unreadable", {"file_format": "XLSX", "reason": "xlsx_too_large_unpacked"})]


def openpyxl_rows(content: bytes) -> list[tuple[int, tuple]]:
    """What openpyxl's own read-only sheet gives, trailing empty cells left out (it pads rows to
    the sheet's <dimension>, when there is one)."""
    sheet = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True).worksheets[0]
    rows = []
    for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
        cells = list(cells)
        while cells and cells[-1] is None:
            cells.pop()
        rows.append((number, tuple(cells)))
    return rows


@pytest.mark.parametrize("write_only", [False, True])  # shared strings and <dimension>, or inline strings
def test_the_sheet_reader_reads_what_openpyxl_reads(write_only: bool) -> None:
    workbook = openpyxl.Workbook(write_only=write_only)
    sheet = workbook.create_sheet("Peserta") if write_only else workbook.active
    rows = [list(HEADINGS), ["35.17.09.2001", None, "3517094203850001", " Siti  Rahayu ", "P", date(1985, 3, 2),
                             81234567890, "Bendahara"],
            [], [True, 12.5, 1e20, datetime(2020, 1, 2, 3, 4), "=1+1", "#N/A", "Ketua"], [None, None, None, "x"]]
    for row in rows:
        sheet.append(row)
    if not write_only:
        sheet["B8"] = "after a gap"
        workbook.create_sheet("Jabatan").append(["not read"])
    out = io.BytesIO()
    workbook.save(out)
    ours = []
    for number, cells in spreadsheets.read_sheet(out.getvalue(), "xlsx")[1]:
        cells = list(cells)
        while cells and cells[-1] is None:
            cells.pop()
        ours.append((number, tuple(cells)))
    assert [(1, tuple(HEADINGS))] + ours == openpyxl_rows(out.getvalue())


def test_a_sheet_declaring_entities_is_refused_unexpanded() -> None:
    workbook = openpyxl.Workbook(write_only=True)  # inline strings: the headings are in the sheet's XML
    workbook.create_sheet("Peserta").append(list(HEADINGS))
    out = io.BytesIO()
    workbook.save(out)
    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as source:
        parts = {info.filename: source.read(info) for info in source.infolist()}
    sheet_path = next(name for name in parts if name.startswith("xl/worksheets/"))

    def with_sheet(xml: bytes) -> bytes:
        rebuilt = io.BytesIO()
        with zipfile.ZipFile(rebuilt, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, data in parts.items():
                archive.writestr(name, xml if name == sheet_path else data)
        return rebuilt.getvalue()

    assert errors_of(check(with_sheet(parts[sheet_path]), "xlsx")) == [(2, None, "import_file_empty", {})]
    bomb = b'<!DOCTYPE w [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    xml = parts[sheet_path]
    declaration_end = xml.find(b"?>") + 2 if xml.startswith(b"<?xml") else 0
    entities = xml[:declaration_end] + bomb + xml[declaration_end:].replace(b"nama_koperasi", b"&b;")
    assert errors_of(check(with_sheet(entities), "xlsx")) == [
        (1, None, "import_file_unreadable", {"file_format": "XLSX", "reason": "not_xlsx"})]


def test_too_many_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    from registration.domain import bulk_import

    monkeypatch.setattr(bulk_import, "MAX_ROWS", 2)
    headings, rows = spreadsheets.read_sheet(csv_file(GOOD, GOOD, GOOD), "csv")
    with pytest.raises(SheetProblem) as problem:
        check_rows(headings, rows, scope=JOMBANG, villages=VILLAGES, regions=REGIONS, today=TODAY)
    assert [(e.row, e.code, dict(e.params)) for e in problem.value.errors] == [(4, "import_too_many_rows", {"limit": 2})]


def test_format_from_name_or_content() -> None:
    assert spreadsheets.file_format_of("Data Jombang.XLSX", b"") == "xlsx"
    assert spreadsheets.file_format_of("data.csv", b"PK\x03\x04") == "csv"
    assert spreadsheets.file_format_of("upload", b"PK\x03\x04...") == "xlsx"
    assert spreadsheets.file_format_of("upload", b"kode_desa;nik") == "csv"
    assert spreadsheets.file_format_of("lama.xls", b"") is None


def test_the_template_reads_back_as_a_valid_file() -> None:
    for file_format in spreadsheets.FORMATS:
        result = check(spreadsheets.template(file_format), file_format)
        assert result.errors == [] and result.total == 1, file_format
    sheets = openpyxl.load_workbook(io.BytesIO(spreadsheets.template("xlsx")), read_only=True).sheetnames
    assert sheets == ["Peserta", "Jabatan", "Petunjuk"]


# -- rows against each other and what is registered ---------------------------------------------------
def rows_of(*cells: list[str]):
    return check(csv_file(*cells)).rows


def test_cross_check_refuses_the_later_of_two_and_what_is_registered() -> None:
    ketua = [*GOOD[:7], "Ketua"]
    second_ketua = ["35.17.09.2001", "", "3517090101700001", "Budi Santoso", "L", "01-01-1970", "", "ketua"]
    same_nik = [*GOOD[:7], "Anggota Pengurus"]
    registered_elsewhere = ["35.17.09.2002", "", "3517090202700002", "Agus Wijaya", "L", "02-02-1970", "", "Ketua"]
    ketua_in_cukir = ["35.17.09.2002", "", "3517090303700003", "Eko Prasetyo", "L", "03-03-1970", "", "Sekretaris"]
    cukir = uuid.uuid4()
    passed, errors = cross_check(
        rows_of(ketua, second_ketua, same_nik, registered_elsewhere, ketua_in_cukir),
        registered_niks={"3517090202700002"}, cooperative_of_village={CUKIR.code: cukir},
        positions_held={cukir: {"sekretaris", "anggota_pengurus"}})
    assert [row.row for row in passed] == [2]
    assert [(e.row, e.column, e.code, dict(e.params)) for e in errors] == [
        (3, "jabatan", "import_position_repeated", {"title": "ketua", "village": DIWEK.code, "other_row": 2}),
        (4, "nik", "import_nik_repeated", {"other_row": 2}),
        (5, "nik", "participant_already_registered", {}),
        (6, "jabatan", "import_position_held", {"title": "sekretaris", "village": CUKIR.code}),
    ]
