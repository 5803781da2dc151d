"""``bimtek-registration``: operators' commands of the registration service.

    bimtek-registration regions load --province 35 [--dir PATH]   load a province's region data
    bimtek-registration regions status                            which provinces are loaded
    bimtek-registration nik status                                how many NIKs each key sealed
    bimtek-registration nik rotate [--batch-size N]               re-seal NIKs under the active key

Without ``--dir`` the data shipped in ``registration/reference_data/regions/<province>/`` is
loaded. The files are checked completely before anything is written. Messages are in Bahasa
Indonesia, or English with ``--lang en`` (or ``LANG=en...``). The database comes from
DATABASE_URL; the migrations must have run.

Rotating the NIK key: add the new key to NIK_KEYS beside the old one, make it NIK_ACTIVE_KEY_ID,
restart the service (new NIKs are sealed with it, old ones still open), run ``nik rotate`` (a
batch per transaction, beside the running service), check ``nik status``, then drop the old key.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from sqlalchemy import create_engine
from sqlalchemy.orm import Session
from sqlalchemy.exc import OperationalError, ProgrammingError

from bimtek_shared.persistence.database import sync_url

from .adapters.nik_protector import NikProtector
from .adapters.region_files import InvalidRegionFiles, read_region_files, read_shipped
from .adapters.repository import ParticipantRepository
from .adapters.regions import LevelChanges, load_province, load_status
from .domain.regions import PROVINCES
from .settings import RegistrationSettings

MAX_LISTED = 50  # problems or retired codes printed before "... and N more"

# key -> (Bahasa Indonesia, English)
TEXT: dict[str, tuple[str, str]] = {
    "invalid": ("Berkas wilayah ditolak, tidak ada yang ditulis ({count} masalah):",
                "The region files were refused, nothing was written ({count} problems):"),
    "more": ("... dan {count} lagi", "... and {count} more"),
    "loaded": ("Provinsi {province} {name} dimuat dari {source} ({seconds:.2f} s).",
               "Province {province} {name} loaded from {source} ({seconds:.2f} s)."),
    "unchanged": ("Tidak ada perubahan: data sudah sama dengan berkas.",
                  "Nothing changed: the data already matches the files."),
    "level": ("  {label}: {rows} (baru {added}, nama/jenis diperbarui {renamed}, dipulihkan {restored}, "
              "dipensiunkan {retired})",
              "  {label}: {rows} (added {added}, name/kind refreshed {renamed}, restored {restored}, "
              "retired {retired})"),
    "retired": ("  {label} yang tidak ada lagi di berkas (disimpan, ditandai pensiun): {codes}",
                "  {label} no longer in the files (kept, marked retired): {codes}"),
    "no_tables": ("Tabel wilayah belum ada: jalankan migrasi dulu (alembic upgrade head).",
                  "The region tables do not exist: run the migrations first (alembic upgrade head)."),
    "no_database": ("Basis data tidak dapat dihubungi: {error}", "Cannot reach the database: {error}"),
    "none_loaded": ("Belum ada provinsi yang dimuat.", "No province is loaded yet."),
    "nik_keys": ("Kunci aktif: {active}. NIK tersegel per kunci: {counts}.",
                 "Active key: {active}. Sealed NIKs per key: {counts}."),
    "rotated": ("{count} NIK disegel ulang dengan kunci {active} ({seconds:.2f} s).",
                "{count} NIKs re-sealed under key {active} ({seconds:.2f} s)."),
    "status": ("{province} {name}: {regencies} kabupaten/kota, {districts} kecamatan, {villages} desa/kelurahan "
               "(pensiun: {retired})\n    sumber: {source}\n    sha256 {sha256}, dimuat {loaded_at:%Y-%m-%d %H:%M:%S %Z}",
               "{province} {name}: {regencies} regencies, {districts} kecamatan, {villages} desa/kelurahan "
               "(retired: {retired})\n    source: {source}\n    sha256 {sha256}, loaded {loaded_at:%Y-%m-%d %H:%M:%S %Z}"),
}
LEVEL_LABELS = {
    "regencies": ("kabupaten/kota", "regencies"),
    "districts": ("kecamatan", "kecamatan"),
    "villages": ("desa/kelurahan", "desa/kelurahan"),
}


def default_language() -> str:
    locale = os.environ.get("LC_ALL") or os.environ.get("LC_MESSAGES") or os.environ.get("LANG") or ""
    return "en" if locale.lower().startswith("en") else "id"


def main(argv: list[str] | None = None) -> int:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--lang", choices=["id", "en"], default=default_language(),
                        help="language of the messages (default: from LANG, else id)")
    parser = argparse.ArgumentParser(prog="bimtek-registration", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    regions = commands.add_parser("regions", help="region reference data").add_subparsers(dest="action", required=True)
    load = regions.add_parser("load", parents=[common], help="load a province's regions (idempotent)")
    load.add_argument("--province", required=True, help="province code, e.g. 35")
    load.add_argument("--dir", type=Path, help="folder with regencies.csv, districts.csv and villages.csv "
                                               "(or *_regencies.csv ...); default: the shipped data")
    regions.add_parser("status", parents=[common], help="which provinces are loaded, from what and when")
    nik = commands.add_parser("nik", help="the NIK encryption keys").add_subparsers(dest="action", required=True)
    nik.add_parser("status", parents=[common], help="how many stored NIKs each key sealed")
    rotate = nik.add_parser("rotate", parents=[common], help="re-seal every NIK under the active key (NIK_ACTIVE_KEY_ID)")
    rotate.add_argument("--batch-size", type=int, default=500, help="NIKs per transaction (default 500)")
    args = parser.parse_args(argv)
    lang = args.lang

    def say(key: str, **params: object) -> str:
        indonesian, english = TEXT[key]
        return (english if lang == "en" else indonesian).format(**params)

    settings = RegistrationSettings()
    engine = create_engine(sync_url(settings.database_url))
    try:
        if args.command == "nik":
            protector = NikProtector.from_config(settings.nameko_config())
            if args.action == "rotate":
                return _rotate(engine, protector, max(1, args.batch_size), say)
            return _nik_status(engine, protector, say)
        if args.action == "load":
            return _load(engine, args.province, args.dir, lang, say)
        return _status(engine, lang, say)
    except ProgrammingError as exc:
        if "UndefinedTable" in type(exc.orig).__name__:
            print(say("no_tables"), file=sys.stderr)
            return 2
        raise
    except OperationalError as exc:
        print(say("no_database", error=str(exc.orig).strip().splitlines()[0]), file=sys.stderr)
        return 2
    finally:
        engine.dispose()


def _load(engine, province: str, directory: Path | None, lang: str, say) -> int:
    started = time.perf_counter()
    try:
        files = read_region_files(directory, province) if directory else read_shipped(province)
    except InvalidRegionFiles as refused:
        print(say("invalid", count=len(refused.problems)), file=sys.stderr)
        for problem in refused.problems[:MAX_LISTED]:
            print("  " + problem.message(lang), file=sys.stderr)
        if len(refused.problems) > MAX_LISTED:
            print("  " + say("more", count=len(refused.problems) - MAX_LISTED), file=sys.stderr)
        return 1
    source = str(directory.resolve()) if directory else (
        f"registration/reference_data/regions/{province} (cahyadsn/wilayah, MIT; see SOURCE.md)")
    with engine.begin() as conn:
        report = load_province(conn, files, source)
    print(say("loaded", province=province, name=PROVINCES[province], source=source,
              seconds=time.perf_counter() - started))
    for level, changes in report.changes.items():
        label = LEVEL_LABELS[level][lang == "en"]
        print(say("level", label=label, rows=report.rows[level], **changes.counts()))
    for level, changes in report.changes.items():
        if changes.retired:
            print(say("retired", label=LEVEL_LABELS[level][lang == "en"], codes=_listing(changes, say)))
    if not report.changed:
        print(say("unchanged"))
    return 0


def _listing(changes: LevelChanges, say) -> str:
    codes = ", ".join(changes.retired[:MAX_LISTED])
    extra = len(changes.retired) - MAX_LISTED
    return codes + (" " + say("more", count=extra) if extra > 0 else "")


def _status(engine, lang: str, say) -> int:
    with engine.connect() as conn:
        loads = load_status(conn)
    if not loads:
        print(say("none_loaded"))
    for load in loads:
        print(say("status", province=load["province_code"], name=load["province_name"], source=load["source"],
                  sha256=load["files_sha256"][:12], loaded_at=load["loaded_at"],
                  retired="/".join(str(load["retired"][level]) for level in LEVEL_LABELS),
                  **load["live"]))
    return 0


def _nik_status(engine, protector: NikProtector, say) -> int:
    with Session(engine) as session:
        counts = ParticipantRepository(session, protector).sealed_key_counts()
    listed = ", ".join(f"{key_id}: {count}" for key_id, count in sorted(counts.items())) or "-"
    print(say("nik_keys", active=protector.active_key_id, counts=listed))
    return 0


def _rotate(engine, protector: NikProtector, batch_size: int, say) -> int:
    """Re-seal in batches, a transaction each, until a batch finds nothing left to do."""
    started, total = time.perf_counter(), 0
    while True:
        with Session(engine) as session, session.begin():
            done = ParticipantRepository(session, protector).reseal_batch(batch_size)
        total += done
        if done == 0:
            break
    print(say("rotated", count=total, active=protector.active_key_id, seconds=time.perf_counter() - started))
    return _nik_status(engine, protector, say)


if __name__ == "__main__":
    sys.exit(main())
