"""Region reference files: find them, read them and check every row before anything is written.

A province's data is three UTF-8 CSV files with a header row (see
``reference_data/regions/SOURCE.md``): ``regencies.csv`` (``code,name,kind``), ``districts.csv``
(``code,regency_code,name``) and ``villages.csv`` (``code,district_code,name,kind``). In a folder
given by an operator each may also carry a prefix, e.g. ``jatim_villages.csv``.

Problems are reported all at once, each with its file and line, in Bahasa Indonesia or English.
"""
from __future__ import annotations

import csv
import hashlib
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..domain.regions import PROVINCES

SHIPPED_REGIONS = Path(__file__).resolve().parent.parent / "reference_data" / "regions"

MAX_NAME_LENGTH = 100  # the name columns' size
LEVELS = ("regencies", "districts", "villages")  # parents first
HEADERS = {
    "regencies": ("code", "name", "kind"),
    "districts": ("code", "regency_code", "name"),
    "villages": ("code", "district_code", "name", "kind"),
}
CODE_PATTERNS = {
    "regencies": re.compile(r"^\d{2}\.\d{2}$"),
    "districts": re.compile(r"^\d{2}\.\d{2}\.\d{2}$"),
    "villages": re.compile(r"^\d{2}\.\d{2}\.\d{2}\.\d{4}$"),
}
CODE_EXAMPLES = {"regencies": "35.17", "districts": "35.17.09", "villages": "35.17.09.2001"}
KINDS = {"regencies": ("kabupaten", "kota"), "villages": ("desa", "kelurahan")}
PARENT_LEVEL = {"districts": "regencies", "villages": "districts"}

# Problem code -> (Bahasa Indonesia, English); the templates take the problem's params.
MESSAGES: dict[str, tuple[str, str]] = {
    "unknown_province": ("kode provinsi {province} tidak dikenal", "unknown province code {province}"),
    "no_shipped_data": ("tidak ada data bawaan untuk provinsi {province}; pakai --dir",
                        "no data is shipped for province {province}; use --dir"),
    "folder_missing": ("folder {path} tidak ada", "folder {path} does not exist"),
    "file_missing": ("berkas {level}.csv (atau *_{level}.csv) tidak ada",
                     "file {level}.csv (or *_{level}.csv) is missing"),
    "file_ambiguous": ("lebih dari satu berkas untuk {level}: {found}", "more than one file for {level}: {found}"),
    "not_utf8": ("bukan teks UTF-8", "not UTF-8 text"),
    "not_csv": ("bukan CSV yang sah: {error}", "not valid CSV: {error}"),
    "empty_file": ("berkas kosong", "the file is empty"),
    "bad_header": ("baris judul harus {expected}, bukan {found}", "the header must be {expected}, not {found}"),
    "no_rows": ("tidak ada baris data", "no data rows"),
    "column_count": ("{found} kolom, seharusnya {expected}", "{found} columns instead of {expected}"),
    "bad_code": ("kode {code} tidak berbentuk seperti {example}", "code {code} is not shaped like {example}"),
    "other_province": ("kode {code} bukan kode provinsi {province}", "code {code} is not in province {province}"),
    "duplicate_code": ("kode {code} sudah ada di baris {first}", "code {code} already appears on line {first}"),
    "parent_mismatch": ("induk {parent} tidak sesuai dengan kode {code}", "parent {parent} does not match code {code}"),
    "parent_missing": ("induk {parent} tidak ada di berkas {level}", "parent {parent} is not in the {level} file"),
    "bad_kind": ("jenis {kind} tidak dikenal (harus salah satu dari {allowed})",
                 "unknown kind {kind} (must be one of {allowed})"),
    "kind_mismatch": ("jenis {kind} tidak sesuai dengan kode {code} (seharusnya {expected})",
                      "kind {kind} does not match code {code} (expected {expected})"),
    "bad_name": ("nama kosong atau lebih dari {limit} karakter", "the name is empty or longer than {limit} characters"),
}


@dataclass(frozen=True)
class FileProblem:
    code: str  # a key of MESSAGES
    params: dict[str, Any] = field(default_factory=dict)
    file: str | None = None
    line: int | None = None

    def message(self, language: str = "id") -> str:
        indonesian, english = MESSAGES[self.code]
        text = (english if language == "en" else indonesian).format(**self.params)
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {text}" if where else text


class InvalidRegionFiles(Exception):
    """The files were refused; nothing was written."""

    def __init__(self, problems: list[FileProblem]) -> None:
        super().__init__(f"{len(problems)} problem(s) in the region files")
        self.problems = problems


@dataclass(frozen=True)
class RegionFileSet:
    """A province's checked rows, keyed by code, in file order."""

    province: str
    regencies: dict[str, dict[str, str]]  # code -> {code, name, kind}
    districts: dict[str, dict[str, str]]  # code -> {code, regency_code, name}
    villages: dict[str, dict[str, str]]  # code -> {code, district_code, name, kind}
    sha256: str  # of the three files' bytes, in LEVELS order

    def rows(self, level: str) -> dict[str, dict[str, str]]:
        return getattr(self, level)


def shipped_directory(province: str) -> Path:
    return SHIPPED_REGIONS / province


def read_shipped(province: str) -> RegionFileSet:
    if province in PROVINCES and not shipped_directory(province).is_dir():
        raise InvalidRegionFiles([FileProblem("no_shipped_data", {"province": province})])
    return read_region_files(shipped_directory(province), province)


def read_region_files(directory: Path, province: str) -> RegionFileSet:
    """Read and check a province's three files; raises :class:`InvalidRegionFiles` listing every problem."""
    if province not in PROVINCES:
        raise InvalidRegionFiles([FileProblem("unknown_province", {"province": province})])
    paths = _locate(directory)
    problems: list[FileProblem] = []
    rows: dict[str, dict[str, dict[str, str]]] = {}
    digest = hashlib.sha256()
    for level in LEVELS:
        content = paths[level].read_bytes()
        digest.update(content)
        rows[level] = _check_level(level, paths[level].name, content, province, rows, problems)
    if problems:
        raise InvalidRegionFiles(problems)
    return RegionFileSet(province=province, sha256=digest.hexdigest(), **rows)


def _locate(directory: Path) -> dict[str, Path]:
    if not directory.is_dir():
        raise InvalidRegionFiles([FileProblem("folder_missing", {"path": str(directory)})])
    found: dict[str, Path] = {}
    problems = []
    for level in LEVELS:
        exact = directory / f"{level}.csv"
        candidates = [exact] if exact.is_file() else sorted(directory.glob(f"*_{level}.csv"))
        if len(candidates) == 1:
            found[level] = candidates[0]
        elif not candidates:
            problems.append(FileProblem("file_missing", {"level": level}, file=str(directory)))
        else:
            names = ", ".join(path.name for path in candidates)
            problems.append(FileProblem("file_ambiguous", {"level": level, "found": names}, file=str(directory)))
    if problems:
        raise InvalidRegionFiles(problems)
    return found


def _check_level(
    level: str, name: str, content: bytes, province: str,
    parents: dict[str, dict[str, dict[str, str]]], problems: list[FileProblem],
) -> dict[str, dict[str, str]]:
    """The rows of one file, keyed by code; what is wrong goes to ``problems``."""
    def problem(kind: str, line: int | None = None, /, **params: Any) -> None:
        problems.append(FileProblem(kind, params, file=name, line=line))

    try:
        text = content.decode("utf-8-sig")  # a byte-order mark from a spreadsheet is harmless
    except UnicodeDecodeError:
        problem("not_utf8")
        return {}
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        records = [(reader.line_num, record) for record in reader]
    except csv.Error as exc:
        problem("not_csv", reader.line_num, error=str(exc))
        return {}
    if not records:
        problem("empty_file")
        return {}
    header = tuple(column.strip() for column in records[0][1])
    expected = HEADERS[level]
    if header != expected:
        problem("bad_header", 1, expected=",".join(expected), found=",".join(header))
        return {}
    if len(records) == 1:
        problem("no_rows", 1)

    pattern, kinds = CODE_PATTERNS[level], KINDS.get(level)
    parent_level = PARENT_LEVEL.get(level)
    parent_column = expected[1] if parent_level else None
    rows: dict[str, dict[str, str]] = {}
    first_line: dict[str, int] = {}
    for line, record in records[1:]:
        if not any(value.strip() for value in record):
            continue  # a blank line
        if len(record) != len(expected):
            problem("column_count", line, found=len(record), expected=len(expected))
            continue
        row = {column: value.strip() for column, value in zip(expected, record)}
        code = row["code"]
        if not pattern.match(code):
            problem("bad_code", line, code=code, example=CODE_EXAMPLES[level])
            continue
        if not code.startswith(province + "."):
            problem("other_province", line, code=code, province=province)
            continue
        if code in first_line:
            problem("duplicate_code", line, code=code, first=first_line[code])
            continue
        first_line[code] = line
        if not row["name"] or len(row["name"]) > MAX_NAME_LENGTH:
            problem("bad_name", line, limit=MAX_NAME_LENGTH)
        if parent_level and parent_column:
            parent = row[parent_column]
            if parent != code.rsplit(".", 1)[0]:
                problem("parent_mismatch", line, parent=parent, code=code)
            elif parent not in parents.get(parent_level, {}):
                problem("parent_missing", line, parent=parent, level=parent_level)
        if kinds:
            if row["kind"] not in kinds:
                problem("bad_kind", line, kind=row["kind"], allowed="/".join(kinds))
            else:
                expected_kind = _kind_by_code(level, code)
                if expected_kind and expected_kind != row["kind"]:
                    problem("kind_mismatch", line, kind=row["kind"], code=code, expected=expected_kind)
        rows[code] = row
    return rows


def _kind_by_code(level: str, code: str) -> str | None:
    """What the Kemendagri coding rules say the kind is: kabupaten 01-69 and kota 71-99; village
    numbers 1xxx kelurahan and 2xxx desa (other first digits are not checked)."""
    if level == "regencies":
        return "kota" if int(code[-2:]) >= 71 else "kabupaten"
    return {"1": "kelurahan", "2": "desa"}.get(code.rsplit(".", 1)[1][0])
