"""Bulk import of cooperatives' teams from a spreadsheet: its columns, how each cell is read, and
every rule the rows must pass before anything is written.

One row per person. The cooperative is named by its village (``kode_desa``): the cooperative that
serves that village, or a new one for it (named ``nama_koperasi`` if the file gives one, else the
official default name) when no cooperative serves it yet. Rows are numbered as the spreadsheet
numbers them: the heading is row 1, the first person row 2.

The rules run in two steps. :func:`check_rows` decides everything a row says by itself against
the region reference data (pure CPU work: the service runs it in a worker process).
:func:`cross_check` then compares rows with each other and with what is registered already (NIKs
twice, a single-holder position held twice in one cooperative).
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from bimtek_shared.contracts.errors import DomainError

from .cooperatives import MAX_NAME_LENGTH, MIN_NAME_LENGTH, POSITION_TITLES, SINGLE_HOLDER, Village
from .model import POSITIONS, normalise_phone
from .nik import parse_nik
from .regions import RegionDirectory, check_nik_region

MAX_ROWS = 100_000  # a province's whole roster (Jawa Timur: about 68,000) with room to spare
MAX_FULL_NAME = 200


@dataclass(frozen=True)
class Column:
    heading: str
    required: bool
    example: Any
    description: str  # Bahasa Indonesia: the template is read by regency offices


COLUMNS: tuple[Column, ...] = (
    Column("kode_desa", True, "35.17.09.2001", "Kode desa/kelurahan Kemendagri tempat koperasi berada"),
    Column("nama_koperasi", False, "", "Boleh kosong: nama koperasi baru bila desa ini belum punya koperasi"),
    Column("nik", True, "3517094203850001", "NIK 16 angka (tulis sebagai teks agar angka nol tidak hilang)"),
    Column("nama_lengkap", True, "Siti Rahayu", "Nama lengkap sesuai KTP"),
    Column("jenis_kelamin", True, "P", "L atau P"),
    Column("tanggal_lahir", True, date(1985, 3, 2), "Tanggal lahir: 31-12-1980, 31/12/1980 atau 1980-12-31"),
    Column("no_hp", False, "0812-3456-7890", "Nomor HP, boleh kosong"),
    Column("jabatan", True, "Bendahara", "Jabatan, lihat lembar Jabatan"),
)
HEADINGS = tuple(column.heading for column in COLUMNS)
REQUIRED = frozenset(column.heading for column in COLUMNS if column.required)

# Official titles first (what the template lists), then the shorter ways people write them.
_POSITION_ALIASES = {
    "wakil ketua usaha": "wakil_ketua_usaha",
    "wakil ketua keanggotaan": "wakil_ketua_keanggotaan",
    "waka bidang usaha": "wakil_ketua_usaha",
    "waka bidang keanggotaan": "wakil_ketua_keanggotaan",
    "anggota": "anggota_pengurus",
}


def _squeeze(text: str) -> str:
    return " ".join(text.lower().replace("_", " ").replace("-", " ").split())


POSITION_NAMES: dict[str, str] = {
    **{_squeeze(title): position for position, title in POSITION_TITLES.items()},
    **{_squeeze(position): position for position in POSITIONS},
    **_POSITION_ALIASES,
}
ACCEPTED_POSITION_TITLES = tuple(title.title() for title in POSITION_TITLES.values())

_VILLAGE_CODE = re.compile(r"^(\d{2})\.?(\d{2})\.?(\d{2})\.?(\d{4})$")
_DATE_FORMATS = ("%d-%m-%Y", "%d/%m/%Y", "%Y-%m-%d")
_EXCEL_EPOCH = date(1899, 12, 30)  # Excel's day 0 (1900 date system, leap-year bug included)
_SEX = {"l": "L", "laki laki": "L", "lk": "L", "pria": "L", "p": "P", "perempuan": "P", "pr": "P", "wanita": "P"}


@dataclass(frozen=True, order=True)
class RowError:
    row: int  # spreadsheet row number (1: the heading)
    column: str | None  # the heading, or None for the whole row or file
    code: str  # a key of ERRORS
    params: tuple[tuple[str, Any], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"item": self.row, "column": self.column, "code": self.code, "params": dict(self.params)}


def row_error(row: int, column: str | None, code: str, **params: Any) -> RowError:
    return RowError(row, column, code, tuple(sorted(params.items())))


@dataclass
class CheckedRow:
    """A row that passed every check it can pass alone, its values as they will be stored."""

    row: int
    village: str
    cooperative_name: str | None
    nik: str
    full_name: str
    sex: str
    birth_date: date
    phone: str | None
    position: str
    regency: str  # the village's
    warnings: list[str] = field(default_factory=list)


@dataclass
class CheckedFile:
    total: int  # person rows in the file (empty rows not counted)
    rows: list[CheckedRow]
    errors: list[RowError]


class SheetProblem(Exception):
    """The file as a whole cannot be imported (unreadable, wrong headings, too many rows)."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__("sheet problem")
        self.errors = errors


# -- headings ---------------------------------------------------------------------------------------
def heading_positions(headings: Sequence[Any]) -> dict[str, int]:
    """Where each known column is (heading -> index); every problem with the headings at once."""
    positions: dict[str, int] = {}
    errors = []
    for index, raw in enumerate(headings):
        text = _cell_text(raw)
        if not text:
            continue  # a blank heading: a column nobody uses (its cells are ignored)
        heading = "_".join(text.lower().replace("-", " ").split())
        if heading not in HEADINGS:
            errors.append(row_error(1, text, "import_column_unknown", accepted=", ".join(HEADINGS)))
        elif heading in positions:
            errors.append(row_error(1, heading, "import_column_repeated"))
        else:
            positions[heading] = index
    errors += [row_error(1, heading, "import_column_missing") for heading in HEADINGS
               if heading in REQUIRED and heading not in positions]
    if errors:
        raise SheetProblem(errors)
    return positions


# -- one row ---------------------------------------------------------------------------------------
def check_rows(
    headings: Sequence[Any],
    rows: Iterable[tuple[int, Sequence[Any]]],
    *,
    scope: str,
    villages: Mapping[str, Village],
    regions: RegionDirectory,
    today: date | None = None,
) -> CheckedFile:
    """Check every row (``(row number, cells)``) of a sheet for an import into ``scope``: a regency
    code, or a province code for a province-wide file. ``villages``: the scope's villages."""
    positions = heading_positions(headings)
    checked, errors, total = [], [], 0
    for number, cells in rows:
        values = {heading: (cells[index] if index < len(cells) else None) for heading, index in positions.items()}
        if all(_cell_text(value) == "" for value in values.values()):
            continue  # an empty row between teams is no error
        total += 1
        if total > MAX_ROWS:
            raise SheetProblem([row_error(number, None, "import_too_many_rows", limit=MAX_ROWS)])
        row, row_errors = check_row(number, values, scope=scope, villages=villages, regions=regions, today=today)
        if row_errors:
            errors += row_errors
        else:
            assert row is not None
            checked.append(row)
    if total == 0:
        raise SheetProblem([row_error(2, None, "import_file_empty")])
    return CheckedFile(total=total, rows=checked, errors=errors)


def check_row(number: int, values: Mapping[str, Any], *, scope: str, villages: Mapping[str, Village],
              regions: RegionDirectory, today: date | None = None) -> tuple[CheckedRow | None, list[RowError]]:
    """One row's values (heading -> cell) read and checked; every error of the row, column by column."""
    errors: list[RowError] = []

    def read(heading: str, reader: Any) -> Any:
        text = _cell_text(values.get(heading))
        if text == "":
            if heading in REQUIRED:
                errors.append(row_error(number, heading, "import_value_required"))
            return None
        try:
            return reader(values[heading], text)
        except DomainError as error:
            errors.append(row_error(number, heading, error.code, **error.params))
            return None

    village = read("kode_desa", lambda _, text: _village(text, scope, villages))
    cooperative_name = read("nama_koperasi", lambda _, text: _cooperative_name(text))
    nik = read("nik", lambda value, text: _nik_text(value, text))
    full_name = read("nama_lengkap", lambda _, text: _full_name(text))
    sex = read("jenis_kelamin", lambda _, text: _sex(text))
    birth_date = read("tanggal_lahir", _birth_date)
    phone = read("no_hp", _phone)
    position = read("jabatan", lambda _, text: _position(text))
    warnings: list[str] = []
    if nik is not None:
        try:
            facts = parse_nik(nik, today=today)
            if village is not None:
                warnings = check_nik_region(facts, village.regency, regions)
        except DomainError as error:
            errors.append(row_error(number, "nik", error.code, **error.params))
        else:
            if sex is not None and facts.sex != sex:
                errors.append(row_error(number, "jenis_kelamin", "nik_invalid", reason="nik_sex_mismatch"))
            if birth_date is not None and facts.birth_date != birth_date:
                errors.append(row_error(number, "tanggal_lahir", "nik_invalid", reason="nik_birth_date_mismatch"))
    if errors:
        return None, sorted(errors, key=lambda error: HEADINGS.index(error.column))  # in column order
    return CheckedRow(
        row=number, village=village.code, cooperative_name=cooperative_name, nik=nik, full_name=full_name,
        sex=sex, birth_date=birth_date, phone=phone, position=position, regency=village.regency, warnings=warnings,
    ), []


def _invalid(reason: str) -> DomainError:
    return DomainError("import_value_invalid", {"reason": reason})


def _cell_text(value: Any) -> str:
    """A cell as text: numbers without a spurious ``.0``, dates as ISO, text stripped."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return str(value).strip()


def _village(text: str, scope: str, villages: Mapping[str, Village]) -> Village:
    match = _VILLAGE_CODE.match(text.replace(" ", ""))
    if match is None:
        raise _invalid("village_code_format")
    code = ".".join(match.groups())
    village = villages.get(code)
    if village is not None and not village.retired:
        return village
    if village is None and not code.startswith(scope + "."):
        # Another regency's (or province's) code: which of the two it is tells the office what to fix.
        raise DomainError("village_out_of_regency", {"village": code, "regency": scope})
    raise DomainError("village_not_found", {"village": code})


def _cooperative_name(text: str) -> str:
    cleaned = " ".join(text.split())
    if not MIN_NAME_LENGTH <= len(cleaned) <= MAX_NAME_LENGTH:
        raise _invalid("cooperative_name_length")
    return cleaned


def _nik_text(value: Any, text: str) -> str:
    # Excel shows a long number as 3.51709E+15 and may have kept it as a float: exact below 2**53.
    if isinstance(value, float) and not value.is_integer():
        raise DomainError("nik_invalid", {"reason": "nik_not_16_digits"})
    return re.sub(r"[\s.\-']", "", text)


def _full_name(text: str) -> str:
    cleaned = " ".join(text.split())
    if len(cleaned) > MAX_FULL_NAME:
        raise _invalid("full_name_too_long")
    return cleaned


def _sex(text: str) -> str:
    sex = _SEX.get(_squeeze(text))
    if sex is None:
        raise _invalid("sex_value")
    return sex


def _birth_date(value: Any, text: str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        # An Excel date serial (a date cell read without its format, or pasted as a number).
        if 1 <= value < 80_000:
            return _EXCEL_EPOCH + timedelta(days=int(value))
        raise _invalid("date_format")
    for pattern in _DATE_FORMATS:
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise _invalid("date_format")


def _phone(value: Any, text: str) -> str | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        text = "0" + text  # a number cell lost the leading zero: 81234567890
    try:
        return normalise_phone(text)
    except DomainError:
        raise _invalid("phone_format") from None


def _position(text: str) -> str:
    position = POSITION_NAMES.get(_squeeze(text))
    if position is None:
        raise _invalid("position_unknown")
    return position


# -- rows against each other and against what is registered ------------------------------------------
def cross_check(rows: list[CheckedRow], *, registered_niks: set[str],
                cooperative_of_village: Mapping[str, Any],
                positions_held: Mapping[Any, Iterable[str]]) -> tuple[list[CheckedRow], list[RowError]]:
    """The rows that pass, and the errors of those that do not: a NIK already registered or given
    twice in the file (the later row is refused), a single-holder position (ketua, sekretaris, ...)
    given twice for one cooperative in the file, or already held there by a registered participant.

    ``cooperative_of_village``: the cooperative serving each village (villages without one get a
    cooperative of their own); ``positions_held``: the positions registered participants hold in
    each cooperative."""
    passed, errors = [], []
    first_row_of_nik: dict[str, int] = {}
    holder_row: dict[tuple[Any, str], int] = {}
    for row in rows:
        cooperative = cooperative_of_village.get(row.village) or ("new", row.village)
        if row.nik in registered_niks:
            errors.append(row_error(row.row, "nik", "participant_already_registered"))
            continue
        if row.nik in first_row_of_nik:
            errors.append(row_error(row.row, "nik", "import_nik_repeated", other_row=first_row_of_nik[row.nik]))
            continue
        if row.position in SINGLE_HOLDER:
            title = POSITION_TITLES[row.position]
            if row.position in set(positions_held.get(cooperative, ())):
                errors.append(row_error(row.row, "jabatan", "import_position_held", title=title, village=row.village))
                continue
            if (cooperative, row.position) in holder_row:
                errors.append(row_error(row.row, "jabatan", "import_position_repeated", title=title,
                                        village=row.village, other_row=holder_row[(cooperative, row.position)]))
                continue
            holder_row[(cooperative, row.position)] = row.row
        first_row_of_nik[row.nik] = row.row
        passed.append(row)
    return passed, errors
