"""Reading an uploaded spreadsheet (CSV or XLSX) into rows of cells, and writing the import template.

Hardened for files from anywhere: the size is bounded by the caller; a CSV must be UTF-8 (with or
without the BOM Excel writes) and may use commas or semicolons (Excel in Indonesia saves
semicolons); an XLSX is opened read-only with cached values only (a formula is never evaluated:
its last computed value is read, or nothing), its XML is parsed through defusedxml (openpyxl uses
it when installed: no entity expansion bombs) and its unpacked size is checked before any of it is
read (no zip bombs).
"""
from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator, Sequence
from datetime import date
from typing import Any

import openpyxl
from openpyxl.xml import DEFUSEDXML

from ..domain.bulk_import import ACCEPTED_POSITION_TITLES, COLUMNS, SheetProblem, row_error

FORMATS = ("csv", "xlsx")
MAX_UNPACKED_BYTES = 256 * 1024 * 1024  # an XLSX of 100,000 rows unpacks to well under this
MAX_COMPRESSION_RATIO = 200  # honest XLSX compress 5-20 times; a bomb far more
XLSX_MAGIC = b"PK\x03\x04"

if not DEFUSEDXML:  # pragma: no cover - the dependency is pinned; refuse to run unprotected
    raise ImportError("defusedxml must be installed: openpyxl would parse uploaded XML unprotected")


def file_format_of(file_name: str, content: bytes) -> str | None:
    """'csv' or 'xlsx' from the file's name, or from its first bytes when the name says neither."""
    name = file_name.lower().strip()
    if name.endswith(".xlsx"):
        return "xlsx"
    if name.endswith((".csv", ".txt")):
        return "csv"
    if name.endswith((".xls", ".ods", ".numbers")):
        return None  # another spreadsheet format: the office must save it as XLSX or CSV
    return "xlsx" if content.startswith(XLSX_MAGIC) else "csv"


def read_sheet(content: bytes, file_format: str) -> tuple[Sequence[Any], Iterator[tuple[int, Sequence[Any]]]]:
    """The heading row's cells, and the following rows as (spreadsheet row number, cells)."""
    rows = _csv_rows(content) if file_format == "csv" else _xlsx_rows(content)
    try:
        _, headings = next(rows)
    except StopIteration:
        raise _unreadable(file_format, "empty") from None
    return headings, rows


def _unreadable(file_format: str, reason: str) -> SheetProblem:
    return SheetProblem([row_error(1, None, "import_file_unreadable", file_format=file_format.upper(), reason=reason)])


def _csv_rows(content: bytes) -> Iterator[tuple[int, Sequence[Any]]]:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise _unreadable("csv", "not_utf8") from None
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)

    def rows() -> Iterator[tuple[int, Sequence[Any]]]:
        try:
            for number, cells in enumerate(reader, start=1):
                yield number, cells
        except csv.Error:
            raise _unreadable("csv", "csv_malformed") from None

    return rows()


def _xlsx_rows(content: bytes) -> Iterator[tuple[int, Sequence[Any]]]:
    _refuse_zip_bombs(content)
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
    except Exception:  # noqa: BLE001 - whatever a broken file raises, the answer is the same
        raise _unreadable("xlsx", "not_xlsx") from None

    def rows() -> Iterator[tuple[int, Sequence[Any]]]:
        try:
            for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
                yield number, cells
        except SheetProblem:
            raise
        except Exception:  # noqa: BLE001
            raise _unreadable("xlsx", "not_xlsx") from None
        finally:
            workbook.close()

    return rows()


def _refuse_zip_bombs(content: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError):
        raise _unreadable("xlsx", "not_xlsx") from None
    if unpacked > MAX_UNPACKED_BYTES or unpacked > MAX_COMPRESSION_RATIO * max(len(content), 1):
        raise _unreadable("xlsx", "xlsx_too_large_unpacked")


# -- the template ---------------------------------------------------------------------------------
def template(file_format: str) -> bytes:
    """An empty import file: the headings and one example row (and, in XLSX, a sheet of the
    accepted position names and one explaining each column)."""
    example = [column.example.strftime("%d-%m-%Y") if isinstance(column.example, date) else column.example
               for column in COLUMNS]
    if file_format == "csv":
        out = io.StringIO()
        writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
        writer.writerow([column.heading for column in COLUMNS])
        writer.writerow(example)
        return ("\ufeff" + out.getvalue()).encode("utf-8")  # the BOM makes Excel read it as UTF-8
    workbook = openpyxl.Workbook(write_only=True)
    people = workbook.create_sheet("Peserta")
    people.append([column.heading for column in COLUMNS])
    people.append([column.example for column in COLUMNS])
    positions = workbook.create_sheet("Jabatan")
    positions.append(["jabatan"])
    for title in ACCEPTED_POSITION_TITLES:
        positions.append([title])
    guide = workbook.create_sheet("Petunjuk")
    guide.append(["kolom", "wajib", "keterangan"])
    for column in COLUMNS:
        guide.append([column.heading, "ya" if column.required else "tidak", column.description])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
