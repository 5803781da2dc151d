"""Reading an uploaded spreadsheet (CSV or XLSX) into rows of cells, and writing the import template.

Hardened for files from anywhere: the size is bounded by the caller; a CSV must be UTF-8 (with or
without the BOM Excel writes) and may use commas or semicolons (Excel in Indonesia saves
semicolons); an XLSX is opened read-only with cached values only (a formula is never evaluated:
its last computed value is read, or nothing), its workbook parts are parsed through defusedxml
(openpyxl uses it when installed) and its sheet by expat with no document type allowed (no entity
expansion bombs either way), and its unpacked size is checked before any of it is read (no zip
bombs).
"""
from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import IO, Any
from xml.parsers import expat

import openpyxl
from openpyxl.reader.excel import ExcelReader
from openpyxl.styles.stylesheet import apply_stylesheet
from openpyxl.utils.datetime import from_excel, from_ISO8601
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
        # openpyxl reads the workbook's parts (through defusedxml); the sheet itself is read by
        # _SheetReader, about ten times faster than openpyxl's read-only sheet (which builds an
        # object per cell, and parses a sheet without a <dimension> twice).
        reader = ExcelReader(io.BytesIO(content), read_only=True, data_only=True)
        reader.read_manifest()
        reader.read_strings()
        reader.read_workbook()
        apply_stylesheet(reader.archive, reader.wb)
        sheet_path = next(rel.target for _, rel in reader.parser.find_sheets()
                          if rel.target in reader.valid_files and "chartsheet" not in rel.Type)
        sheet = _SheetReader(reader.shared_strings, epoch=reader.wb.epoch, date_styles=reader.wb._date_formats,
                             timedelta_styles=reader.wb._timedelta_formats)
    except Exception:  # noqa: BLE001 - whatever a broken file raises, the answer is the same
        raise _unreadable("xlsx", "not_xlsx") from None

    def rows() -> Iterator[tuple[int, Sequence[Any]]]:
        try:
            with reader.archive.open(sheet_path) as source:
                yield from sheet.rows(source)
        except SheetProblem:
            raise
        except Exception:  # noqa: BLE001
            raise _unreadable("xlsx", "not_xlsx") from None
        finally:
            reader.archive.close()

    return rows()


class _SheetReader:
    """A worksheet's rows as (row number, cell values), as openpyxl's read-only sheet gives them
    with ``values_only`` and ``data_only`` (a formula's cached value; dates by their cell style;
    a missing row as an empty one), from the XML with expat and no document type allowed (so no
    entity expansion of any kind)."""

    _CHUNK = 256 * 1024

    def __init__(self, shared_strings: Sequence[str], *, epoch: datetime, date_styles: set[int],
                 timedelta_styles: set[int]) -> None:
        self._shared_strings = shared_strings
        self._epoch = epoch
        self._date_styles = date_styles
        self._timedelta_styles = timedelta_styles

    def rows(self, source: IO[bytes]) -> Iterator[tuple[int, Sequence[Any]]]:
        parser = expat.ParserCreate(namespace_separator=" ")
        parser.buffer_text = True
        parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        parser.StartDoctypeDeclHandler = _refuse_doctype
        parser.EntityDeclHandler = _refuse_doctype
        parser.ExternalEntityRefHandler = _refuse_doctype
        done: list[tuple[int, list[Any]]] = []
        row_number = 0
        cells: list[tuple[int, Any]] = []
        column = 0
        cell_type, style, value_text, inline_text = "n", 0, None, None
        text: list[str] | None = None  # collecting a <v> or an inline <t> now
        in_phonetic = False

        def start(name: str, attrs: dict[str, str]) -> None:
            nonlocal row_number, cells, column, cell_type, style, value_text, inline_text, text, in_phonetic
            tag = name.rpartition(" ")[2]
            if tag == "c":
                reference = attrs.get("r")
                column = _column_of(reference) if reference else column + 1
                cell_type, style = attrs.get("t", "n"), int(attrs.get("s") or 0)
                value_text = inline_text = None
            elif tag == "v":
                text = []
            elif tag == "t" and cell_type == "inlineStr" and not in_phonetic:
                text = []
            elif tag == "is":
                inline_text = ""
            elif tag == "rPh":
                in_phonetic = True
            elif tag == "row":
                number = attrs.get("r")
                row_number = int(number) if number else row_number + 1
                cells, column = [], 0

        def end(name: str) -> None:
            nonlocal text, value_text, inline_text, in_phonetic
            tag = name.rpartition(" ")[2]
            if tag == "v" and text is not None:
                value_text, text = "".join(text), None
            elif tag == "t" and text is not None:
                inline_text, text = (inline_text or "") + "".join(text), None
            elif tag == "rPh":
                in_phonetic = False
            elif tag == "c":
                cells.append((column, self._value(cell_type, style, value_text, inline_text)))
            elif tag == "row":
                done.append((row_number, cells))

        def characters(data: str) -> None:
            if text is not None:
                text.append(data)

        parser.StartElementHandler, parser.EndElementHandler = start, end
        parser.CharacterDataHandler = characters
        expected = 1
        while True:
            chunk = source.read(self._CHUNK)
            parser.Parse(chunk, not chunk)
            for number, row_cells in done:
                if number < expected:
                    continue  # out of order: openpyxl skips such a row too
                for missing in range(expected, number):
                    yield missing, ()
                expected = number + 1
                yield number, _placed(row_cells)
            done.clear()
            if not chunk:
                return

    def _value(self, cell_type: str, style: int, text: str | None, inline: str | None) -> Any:
        if cell_type == "inlineStr":
            return inline
        if not text:
            return None
        if cell_type == "n":
            number = float(text) if "." in text or "E" in text or "e" in text else int(text)
            if style in self._date_styles:
                try:
                    return from_excel(number, self._epoch, timedelta=style in self._timedelta_styles)
                except (OverflowError, ValueError):
                    return "#VALUE!"
            return number
        if cell_type == "s":
            return self._shared_strings[int(text)]
        if cell_type == "b":
            return bool(int(text))
        if cell_type == "d":
            return from_ISO8601(text)
        return text  # "str" (a formula's text), "e" (an error such as #N/A)


def _refuse_doctype(*_: Any) -> None:
    raise ValueError("a document type or entity in a worksheet")


def _column_of(reference: str) -> int:
    """1 for "A7", 27 for "AA7"."""
    column = 0
    for character in reference:
        if not "A" <= character <= "Z":
            break
        column = column * 26 + ord(character) - 64
    return column


def _placed(cells: list[tuple[int, Any]]) -> tuple[Any, ...]:
    """The row's values by column, None where a cell is missing, up to its last cell."""
    if not cells:
        return ()
    values: list[Any] = [None] * cells[-1][0]
    for column, value in cells:
        if 1 <= column <= len(values):
            values[column - 1] = value
    return tuple(values)


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
