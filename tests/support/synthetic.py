"""Synthetic but realistic import files: every cooperative of a regency (or of the province) with a
complete team of eight, people with Indonesian names and NIKs consistent with their kecamatan,
birth date and sex.

One module for every user of such data: the integration tests, the benchmark (``bench/``) and the
Jombang demo import it (the latter two put the repository root on ``sys.path``). It reads the
region reference data shipped with the registration unit, so the villages are the real ones
(Kabupaten Jombang: 21 kecamatan, 306 villages; Jawa Timur: 8,494 villages).
"""
from __future__ import annotations

import csv
import io
import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

REGIONS = Path(__file__).resolve().parents[2] / "services/registration/registration/reference_data/regions/35"
JOMBANG = "35.17"
HEADINGS = ("kode_desa", "nama_koperasi", "nik", "nama_lengkap", "jenis_kelamin", "tanggal_lahir", "no_hp", "jabatan")
# A complete team: five core pengurus, a ketua pengawas and two anggota pengawas (5 and 3: odd).
TEAM = ("Ketua", "Wakil Ketua Bidang Usaha", "Wakil Ketua Bidang Keanggotaan", "Sekretaris", "Bendahara",
        "Ketua Pengawas", "Anggota Pengawas", "Anggota Pengawas")

MALE_NAMES = ("Agus", "Bambang", "Budi", "Dwi", "Eko", "Fajar", "Hadi", "Heru", "Imam", "Joko", "Muhammad",
              "Nur", "Rudi", "Slamet", "Sugeng", "Suparman", "Teguh", "Wahyu", "Yusuf", "Ahmad", "Arif",
              "Bagus", "Hendra", "Iwan", "Mochamad", "Rizky", "Sutrisno", "Wawan", "Yoga", "Zainal")
FEMALE_NAMES = ("Ani", "Dewi", "Endang", "Fitri", "Indah", "Kartini", "Lestari", "Mega", "Nurul", "Puji", "Rina",
                "Siti", "Sri", "Tri", "Umi", "Wahyuni", "Yuli", "Anik", "Dian", "Eka", "Ika", "Lilik", "Nanik",
                "Ratna", "Sulastri", "Titik", "Utami", "Winarti", "Yanti", "Zulaikha")
FAMILY_NAMES = ("Santoso", "Wijaya", "Rahayu", "Prasetyo", "Hidayat", "Setiawan", "Susanti", "Purnomo",
                "Kurniawan", "Handayani", "Saputra", "Lestari", "Nugroho", "Wulandari", "Hartono", "Maulana",
                "Rahmawati", "Firmansyah", "Sulistyo", "Anggraini", "Hakim", "Mubarok", "Fauzi", "Ningsih")


@dataclass(frozen=True)
class Village:
    code: str
    district: str
    name: str


def villages(regency: str | None = None) -> list[Village]:
    """The live villages of a regency (``None``: of the whole province), in code order."""
    with (REGIONS / "villages.csv").open(newline="", encoding="utf-8") as f:
        found = [Village(row["code"], row["district_code"], row["name"]) for row in csv.DictReader(f)]
    return [v for v in found if regency is None or v.district.startswith(regency + ".")]


def team_rows(regency: str | None = None, *, people_per_village: int = 8, seed: int = 35,
              first_birth_year: int = 1961, first_serial: int = 1) -> list[dict[str, object]]:
    """One complete team per village (``people_per_village`` of ``TEAM``'s positions, in order), as
    rows of the import file (``tanggal_lahir`` a ``date``). The same seed gives the same people.

    NIKs are unique within the result: the kecamatan of the village, the birth date (+40 on the
    day for women) and a serial counted per kecamatan and birth date. Birth years start at
    ``first_birth_year``, so they never meet the tests' own NIK factory (born 1960); serials at
    ``first_serial``, so two calls with distinct ranges never give the same NIK.
    """
    rng = random.Random(seed)
    serials: dict[tuple[str, date], int] = defaultdict(int)
    rows = []
    span = (date(2000, 12, 31) - date(first_birth_year, 1, 1)).days
    for village in villages(regency):
        for position in TEAM[:people_per_village]:
            female = rng.random() < 0.4
            birth = date(first_birth_year, 1, 1) + timedelta(days=rng.randrange(span))
            serial = first_serial + serials[(village.district, birth)]
            serials[(village.district, birth)] += 1
            district_digits = village.district.replace(".", "")
            nik = f"{district_digits}{birth.day + (40 if female else 0):02d}{birth.month:02d}{birth.year % 100:02d}" \
                  f"{serial:04d}"
            first = rng.choice(FEMALE_NAMES if female else MALE_NAMES)
            rows.append({
                "kode_desa": village.code,
                "nama_koperasi": "",
                "nik": nik,
                "nama_lengkap": f"{first} {rng.choice(FAMILY_NAMES)}",
                "jenis_kelamin": "P" if female else "L",
                "tanggal_lahir": birth,
                "no_hp": f"08{rng.choice((12, 13, 21, 22, 52, 53, 56, 57, 81, 95))}-{rng.randrange(10**4):04d}-"
                         f"{rng.randrange(10**4):04d}",
                "jabatan": position,
            })
    return rows


def to_csv(rows: list[dict[str, object]], *, delimiter: str = ";", bom: bool = True) -> bytes:
    """An import file as Excel in Indonesia saves CSV: semicolons, UTF-8 with a BOM, dd-mm-yyyy."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(HEADINGS)
    for row in rows:
        writer.writerow([value.strftime("%d-%m-%Y") if isinstance(value, date) else value
                         for value in (row[heading] for heading in HEADINGS)])
    return (("\ufeff" if bom else "") + out.getvalue()).encode("utf-8")


def to_xlsx(rows: list[dict[str, object]]) -> bytes:
    """An import file as XLSX: real date cells, NIKs as text."""
    import openpyxl  # only the XLSX writers need it

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("Peserta")
    sheet.append(list(HEADINGS))
    for row in rows:
        sheet.append([row[heading] for heading in HEADINGS])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
