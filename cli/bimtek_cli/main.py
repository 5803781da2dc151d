"""``bimtek``: the operators' command line, over the public gateway API (``bimtek_cli.api``).

    bimtek login [--username NAME]             sign in; keeps the gateway and a refresh token
    bimtek logout
    bimtek status                              the gateway, who you are, imports, programmes, sessions
    bimtek import FILE [--dry-run] [--valid-rows-only] [--regency CODE]
    bimtek plan [--programme ID] [--publish]   preview a programme's plan (and publish that preview)
    bimtek plan (--programme ID --programme ID ... | --all) [--publish]
                                               several programmes planned (and published) together
    bimtek sessions [--programme ID]           the published sessions, with their ids
    bimtek device-token issue --label L (--session ID | --venue ID | --from DAY --until DAY)
    bimtek checkins sync FILE [--device-token T]   a phone's offline scans (JSON or CSV), 500 per upload
    bimtek certificates export DIR [--district CODE | --cooperative ID | --session ID]

Every command takes ``--gateway URL`` (or ``BIMTEK_GATEWAY``; else the address of the last
login, else http://127.0.0.1:8000) and ``--lang en`` (or ``BIMTEK_LANG``; Bahasa Indonesia by
default), which also chooses the language of the gateway's error messages. The login keeps no
password: ``$XDG_CONFIG_HOME/bimtek/config.json`` (mode 0600) holds the address and the refresh
token, renewed on each use. ``BIMTEK_USERNAME`` and ``BIMTEK_PASSWORD`` sign in without a prompt
(scripts).
Exit status: 0 done, 1 refused or failed (the reason is printed), 2 wrong usage.
"""
from __future__ import annotations

import argparse
import csv
import getpass
import io
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

from . import config
from .api import ApiProblem, BimtekApi

DEFAULT_GATEWAY = "http://127.0.0.1:8000"

MESSAGES: dict[str, dict[str, str]] = {
    "signed_in": {"id": "Berhasil masuk ke {gateway} sebagai {username} ({role}, wilayah {regency}).",
                  "en": "Signed in to {gateway} as {username} ({role}, regency {regency})."},
    "signed_out": {"id": "Sudah keluar.", "en": "Signed out."},
    "not_signed_in": {"id": "Belum masuk: jalankan `bimtek login` dahulu.",
                      "en": "Not signed in: run `bimtek login` first."},
    "username": {"id": "Nama pengguna: ", "en": "Username: "},
    "password": {"id": "Kata sandi: ", "en": "Password: "},
    "uploading": {"id": "Mengunggah {name} ({size} KB)...", "en": "Uploading {name} ({size} KB)..."},
    "checking": {"id": "Memeriksa dan mendaftarkan", "en": "Checking and registering"},
    "dry_run_ok": {"id": "Uji coba selesai: {valid} baris valid, {invalid} tidak valid, {coops} koperasi baru "
                             "akan dibuat. Belum ada yang didaftarkan.",
                   "en": "Dry run done: {valid} valid rows, {invalid} invalid, {coops} new cooperatives would "
                         "be created. Nothing was registered."},
    "imported": {"id": "Impor selesai: {done} peserta terdaftar, {failed} gagal, {coops} koperasi baru.",
                 "en": "Import done: {done} participants registered, {failed} failed, {coops} new cooperatives."},
    "already_imported": {"id": "Berkas yang sama sudah pernah diimpor (pekerjaan {id}); tidak diimpor lagi.",
                         "en": "The same file was imported before (job {id}); nothing imported again."},
    "import_failed": {"id": "Impor ditolak: {invalid} baris bermasalah (tidak ada yang didaftarkan):",
                      "en": "Import refused: {invalid} rows are wrong (nothing was registered):"},
    "row_error": {"id": "  baris {item}, kolom {column}: {message}", "en": "  row {item}, column {column}: {message}"},
    "more_errors": {"id": "  ... dan {count} lagi", "en": "  ... and {count} more"},
    "choose_programme": {"id": "Ada {count} program; pilih dengan --programme:",
                         "en": "There are {count} programmes; choose one with --programme:"},
    "no_programme": {"id": "Belum ada program pelatihan.", "en": "No training programme yet."},
    "preview": {"id": "Pratinjau {id}: {sessions} sesi (batas bawah {lower}), {participants} peserta, "
                      "{split} kecamatan terpecah, selesai {finish}.",
                "en": "Preview {id}: {sessions} sessions (lower bound {lower}), {participants} participants, "
                      "{split} kecamatan split, finishing {finish}."},
    "preview_of": {"id": "{regency}: pratinjau {id}: {sessions} sesi (batas bawah {lower}), {participants} peserta, "
                         "{unplaced} koperasi tanpa sesi, selesai {finish}.",
                   "en": "{regency}: preview {id}: {sessions} sessions (lower bound {lower}), {participants} "
                         "participants, {unplaced} cooperatives without a session, finishing {finish}."},
    "published_of": {"id": "{regency}: jadwal diterbitkan (revisi {revision}).",
                     "en": "{regency}: plan published (revision {revision})."},
    "nothing_to_plan": {"id": "Semua program sudah mempunyai jadwal terbit.",
                        "en": "Every programme has a published plan already."},
    "unplaced": {"id": "{count} koperasi tidak mendapat sesi.", "en": "{count} cooperatives got no session."},
    "published": {"id": "Jadwal diterbitkan (revisi {revision}).", "en": "Plan published (revision {revision})."},
    "not_published": {"id": "Belum diterbitkan: jalankan lagi dengan --publish.",
                      "en": "Not published: run again with --publish."},
    "device_token": {"id": "Token perangkat (hanya ditampilkan sekali, simpan di ponsel): {token}",
                     "en": "Device token (shown this once, put it on the phone): {token}"},
    "device_token_needed": {"id": "Perlu token perangkat: --device-token atau BIMTEK_DEVICE_TOKEN.",
                            "en": "A device token is needed: --device-token or BIMTEK_DEVICE_TOKEN."},
    "scans_read": {"id": "{count} pindaian dibaca dari {name}.", "en": "{count} scans read from {name}."},
    "uploading_scans": {"id": "Mengunggah pindaian", "en": "Uploading scans"},
    "sync_result": {"id": "Hasil: {counts}", "en": "Results: {counts}"},
    "bad_scan_file": {"id": "Berkas pindaian tidak dikenali: {reason}", "en": "Scan file not understood: {reason}"},
    "exporting": {"id": "Mengunduh sertifikat", "en": "Downloading certificates"},
    "exported": {"id": "{files} arsip ZIP ({size} KB) di {folder}", "en": "{files} ZIP archives ({size} KB) in {folder}"},
    "gateway": {"id": "Gateway {gateway}: {state}", "en": "Gateway {gateway}: {state}"},
    "ready": {"id": "siap", "en": "ready"},
    "not_ready": {"id": "belum siap ({failing})", "en": "not ready ({failing})"},
    "whoami": {"id": "Masuk sebagai peran {role}, wilayah {regency}.", "en": "Signed in with role {role}, regency {regency}."},
    "last_import": {"id": "Impor terakhir: {status}, {done}/{total} baris ({created}).",
                    "en": "Last import: {status}, {done}/{total} rows ({created})."},
    "programme_line": {"id": "Program {title}: {state}", "en": "Programme {title}: {state}"},
    "plan_published": {"id": "terbit (revisi {revision}), {sessions} sesi, {closed} ditutup",
                       "en": "published (revision {revision}), {sessions} sessions, {closed} closed"},
    "plan_none": {"id": "belum ada jadwal terbit", "en": "no published plan"},
    "totals": {"id": "Koperasi {coops}, peserta {participants}, sertifikat {certificates}.",
               "en": "Cooperatives {coops}, participants {participants}, certificates {certificates}."},
    "unreachable": {"id": "Gateway {gateway} tidak dapat dihubungi: {detail}",
                    "en": "The gateway {gateway} cannot be reached: {detail}"},
    "refused": {"id": "Ditolak ({status} {code}): {detail}", "en": "Refused ({status} {code}): {detail}"},
}


class Output:
    """Messages in the chosen language, on stdout; problems on stderr."""

    def __init__(self, language: str) -> None:
        self.language = language

    def text(self, key: str, **values: Any) -> str:
        entry = MESSAGES[key]
        return entry.get(self.language, entry["id"]).format(**values)

    def say(self, key: str, **values: Any) -> None:
        print(self.text(key, **values), flush=True)

    def warn(self, key: str, **values: Any) -> None:
        print(self.text(key, **values), file=sys.stderr, flush=True)


# -- commands ---------------------------------------------------------------------------------------
def cmd_login(args: argparse.Namespace, out: Output) -> int:
    username = args.username or os.environ.get("BIMTEK_USERNAME") or input(out.text("username")).strip()
    password = os.environ.get("BIMTEK_PASSWORD") or getpass.getpass(out.text("password"))
    api = BimtekApi(args.gateway, language=out.language)
    with api:
        pair = api.sign_in(username, password)
        claims = api.caller()
    config.save({"gateway": args.gateway, "username": username, "refresh_token": pair["refresh_token"],
                 "language": out.language})
    out.say("signed_in", gateway=args.gateway, username=username, role=claims.get("role", "?"),
            regency=claims.get("regency", "?"))
    return 0


def cmd_logout(args: argparse.Namespace, out: Output) -> int:
    settings = config.load()
    if settings.get("refresh_token"):
        with BimtekApi(args.gateway, refresh_token=settings["refresh_token"], language=out.language) as api:
            try:
                api.logout()
            except ApiProblem:
                pass  # already spent or revoked: forgetting it locally is what is left to do
    config.forget_tokens()
    out.say("signed_out")
    return 0


def cmd_status(args: argparse.Namespace, out: Output) -> int:
    with BimtekApi(args.gateway, language=out.language) as public:
        ready = public.ready()
    failing = ", ".join(ready.get("failing", [])) or "?"
    out.say("gateway", gateway=args.gateway,
            state=out.text("ready") if ready["ready"] else out.text("not_ready", failing=failing))
    api = signed_in(args, out)
    with api:
        claims = api.caller()
        out.say("whoami", role=claims.get("role", "?"), regency=claims.get("regency", "?"))
        regency = claims.get("regency")
        province = regency in (None, "*")
        for job in api.list_imports():
            out.say("last_import", status=job["status"], done=job["done"], total=job["total"],
                    created=job["created_at"])
            break
        for programme in api.list_programmes():
            state = out.text("plan_none")
            if programme.get("published"):
                sessions = list(api.list_sessions(programme_id=programme["id"]))
                closed = sum(1 for s in sessions if s["status"] == "closed")
                state = out.text("plan_published", revision=api.get_programme(programme["id"])["plan"]["revision"],
                                 sessions=len(sessions), closed=closed)
            out.say("programme_line", title=programme["title"], state=state)
        if not province:
            totals = api.cooperative_statistics()["totals"]
            certificates = sum(1 for c in api.list_certificates(status="valid"))
            out.say("totals", coops=totals["cooperatives"], participants=totals["participants"],
                    certificates=certificates)
    return 0


def cmd_import(args: argparse.Namespace, out: Output) -> int:
    path = Path(args.file)
    content = path.read_bytes()
    with signed_in(args, out) as api:
        out.say("uploading", name=path.name, size=len(content) // 1024)
        job = api.start_import(content, path.name, dry_run=args.dry_run,
                               import_valid_rows_only=args.valid_rows_only, regency=args.regency)
        if job["already_uploaded"]:
            out.say("already_imported", id=job["id"])
        if job["status"] not in ("succeeded", "failed"):
            with tqdm(total=job["total"] or None, desc=out.text("checking"), unit=" baris", disable=args.quiet) as bar:
                def progress(current: dict[str, Any]) -> None:
                    if current["total"] and bar.total != current["total"]:
                        bar.total = current["total"]
                    bar.update(current["done"] + current["failed"] - bar.n)

                job = api.wait_for_job(job, on_progress=progress)
    return report_import(job, out, args)


def report_import(job: dict[str, Any], out: Output, args: argparse.Namespace) -> int:
    """The outcome and each wrong row; exit status 1 if nothing was imported because of them, or a
    dry run found any (so a script can stop before the real import)."""
    result = job.get("result") or {}
    if args.json:
        print(json.dumps(job, indent=2, ensure_ascii=False))
    invalid = result.get("invalid_rows", 0)
    if job["status"] == "failed":
        out.warn("import_failed", invalid=invalid or len(job["errors"]))
    elif result.get("dry_run"):
        out.say("dry_run_ok", valid=result.get("valid_rows", 0), invalid=invalid,
                coops=result.get("cooperatives_to_create", 0))
    else:
        out.say("imported", done=job["done"], failed=job["failed"], coops=result.get("cooperatives_created", 0))
    for error in job["errors"][:20]:
        out.warn("row_error", item=error["item"], column=error.get("column") or "-", message=error["message"])
    if len(job["errors"]) > 20:
        out.warn("more_errors", count=len(job["errors"]) - 20)
    refused = job["status"] == "failed" or (result.get("dry_run") and invalid and not args.valid_rows_only)
    return 1 if refused else 0


def cmd_plan(args: argparse.Namespace, out: Output) -> int:
    if args.all or len(args.programme or []) > 1:
        return plan_together(args, out)
    with signed_in(args, out) as api:
        programme_id = args.programme[0] if args.programme else None
        if not programme_id:
            programmes = list(api.list_programmes())
            if not programmes:
                out.warn("no_programme")
                return 1
            if len(programmes) > 1:
                out.warn("choose_programme", count=len(programmes))
                for programme in programmes:
                    print(f"  {programme['id']}  {programme['regency']}  {programme['title']}", file=sys.stderr)
                return 2
            programme_id = programmes[0]["id"]
        preview = api.preview_plan(programme_id)
        figures = preview.get("figures") or {}
        out.say("preview", id=preview["id"], sessions=figures.get("sessions", 0),
                lower=figures.get("sessions_lower_bound", 0), participants=preview["participants"],
                split=figures.get("districts_split", 0), finish=figures.get("finish") or "-")
        print_sessions(preview["sessions"])
        if preview["unplaced"]:
            out.warn("unplaced", count=len(preview["unplaced"]))
        if not args.publish:
            out.say("not_published")
            return 0
        plan = api.publish_plan(programme_id, preview["id"])
        out.say("published", revision=plan.get("revision"))
    return 0


def plan_together(args: argparse.Namespace, out: Output) -> int:
    """Several programmes in one planner run (their resource persons' days decided together), and
    published in one transaction: all of them or none."""
    with signed_in(args, out) as api:
        programme_ids = args.programme
        if args.all:
            programme_ids = [p["id"] for p in api.list_programmes() if not p["published"]]
            if not programme_ids:
                out.say("nothing_to_plan")
                return 0
        previews = api.preview_plans(programme_ids)
        for preview in previews:
            figures = preview.get("figures") or {}
            out.say("preview_of", regency=preview["regency"], id=preview["id"], sessions=preview["session_count"],
                    lower=figures.get("sessions_lower_bound", 0), participants=preview["participants"],
                    unplaced=preview["unplaced_count"], finish=figures.get("finish") or "-")
        if not args.publish:
            out.say("not_published")
            return 0
        for plan in api.publish_plans([preview["id"] for preview in previews]):
            out.say("published_of", regency=plan["regency"], revision=plan["revision"])
    return 0


def print_sessions(sessions: list[dict[str, Any]]) -> None:
    for session in sessions:
        districts = sorted({d for c in session["cooperatives"] for d in ([c["district"]] if c.get("district") else [])})
        print(f"  {session['number']:3d}  {', '.join(session['days']):12s}  {session['venue']['name'][:24]:24s}  "
              f"{session['participants']:4d}  {', '.join(districts)}")


def cmd_sessions(args: argparse.Namespace, out: Output) -> int:
    with signed_in(args, out) as api:
        sessions = list(api.list_sessions(programme_id=args.programme))
    for session in sessions:
        print(f"{session['id']}  {session['number']:3d}  {', '.join(session['days'])}  {session['status']:9s}  "
              f"{session['participants']:4d}  {session['venue']['name']}")
    if args.json:
        print(json.dumps(sessions, indent=2, ensure_ascii=False))
    return 0


def cmd_device_token(args: argparse.Namespace, out: Output) -> int:
    with signed_in(args, out) as api:
        issued = api.issue_device_token(args.label, session_id=args.session, venue_id=args.venue,
                                        valid_from=args.valid_from, valid_until=args.valid_until)
    out.say("device_token", token=issued["token"])
    return 0


def cmd_checkins_sync(args: argparse.Namespace, out: Output) -> int:
    token = args.device_token or os.environ.get("BIMTEK_DEVICE_TOKEN")
    if not token:
        out.warn("device_token_needed")
        return 2
    path = Path(args.file)
    try:
        scans = read_scans(path.read_text(encoding="utf-8-sig"))
    except ValueError as exc:
        out.warn("bad_scan_file", reason=exc)
        return 1
    out.say("scans_read", count=len(scans), name=path.name)
    with BimtekApi(args.gateway, device_token=token, language=out.language) as phone, \
            tqdm(total=len(scans), desc=out.text("uploading_scans"), unit=" scan", disable=args.quiet) as bar:
        answer = phone.sync_check_ins(scans, on_batch=bar.update)
    if args.json:
        print(json.dumps(answer, indent=2))
    out.say("sync_result", counts=", ".join(f"{name} {count}" for name, count in sorted(answer["counts"].items())))
    return 0


def read_scans(text: str) -> list[dict[str, Any]]:
    """A phone's export: JSON (a list of scans, or ``{"scans": [...]}``) or CSV with the headings
    ``nonce,qr,scanned_at`` and optionally ``session_id``."""
    stripped = text.lstrip()
    if stripped.startswith(("[", "{")):
        data = json.loads(stripped)
        scans = data.get("scans") if isinstance(data, dict) else data
        if not isinstance(scans, list):
            raise ValueError("JSON without a list of scans")
    else:
        reader = csv.DictReader(io.StringIO(text), delimiter=";" if text.split("\n", 1)[0].count(";") else ",")
        scans = [{k: v for k, v in row.items() if k and v} for row in reader]
    for number, scan in enumerate(scans, 1):
        if not isinstance(scan, dict) or not {"nonce", "qr", "scanned_at"} <= scan.keys():
            raise ValueError(f"scan {number} lacks nonce, qr or scanned_at")
    return scans


def cmd_certificates_export(args: argparse.Namespace, out: Output) -> int:
    folder = Path(args.dir)
    folder.mkdir(parents=True, exist_ok=True)
    with signed_in(args, out) as api:
        if args.cooperative or args.session or args.district:
            name = args.cooperative or args.session or args.district
            scopes = [({"cooperative_id": args.cooperative, "session_id": args.session, "district": args.district},
                       f"sertifikat-{name}.zip")]
        else:  # the whole regency: one archive per kecamatan with a certificate
            scopes = [({"district": d["code"]}, f"sertifikat-{d['code']}-{slug(d['name'])}.zip")
                      for d in api.cooperative_statistics()["districts"] if d["participants"]]
        total = 0
        with tqdm(total=len(scopes), desc=out.text("exporting"), unit=" zip", disable=args.quiet) as bar:
            for scope, file_name in scopes:
                api.export_certificates(folder / file_name, **scope)
                total += (folder / file_name).stat().st_size
                bar.update(1)
    out.say("exported", files=len(scopes), size=total // 1024, folder=folder)
    return 0


def slug(name: str) -> str:
    return "".join(ch.lower() if ch.isalnum() else "-" for ch in name).strip("-")


# -- plumbing ---------------------------------------------------------------------------------------
def signed_in(args: argparse.Namespace, out: Output) -> BimtekApi:
    settings = config.load()
    token = settings.get("refresh_token") if settings.get("gateway", args.gateway) == args.gateway else None
    if not token:
        raise ApiProblem(401, {"code": "not_signed_in", "detail": out.text("not_signed_in")})

    def keep(pair: dict[str, Any]) -> None:  # a refresh token works once: keep the newest
        config.save({**config.load(), "refresh_token": pair["refresh_token"]})

    return BimtekApi(args.gateway, refresh_token=token, language=out.language, on_tokens=keep)


def parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: an option given before the command is not overwritten by the command's own default.
    common.add_argument("--gateway", default=argparse.SUPPRESS,
                        help="the gateway's address (BIMTEK_GATEWAY; default: the last login's)")
    common.add_argument("--lang", choices=("id", "en"), default=argparse.SUPPRESS,
                        help="language of messages (BIMTEK_LANG; default id)")
    common.add_argument("--quiet", action="store_true", default=argparse.SUPPRESS, help="no progress bars")
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="also print the API's answer as JSON")

    top = argparse.ArgumentParser(prog="bimtek", description="Bimtek KDMP: the operators' command line.",
                                  parents=[common])
    commands = top.add_subparsers(dest="command", required=True)
    login = commands.add_parser("login", parents=[common], help="sign in and keep a refresh token")
    login.add_argument("--username")
    login.set_defaults(run=cmd_login)
    commands.add_parser("logout", parents=[common], help="end the session").set_defaults(run=cmd_logout)
    commands.add_parser("status", parents=[common], help="where things stand").set_defaults(run=cmd_status)

    spreadsheet = commands.add_parser("import", parents=[common], help="import participants from XLSX or CSV")
    spreadsheet.add_argument("file")
    spreadsheet.add_argument("--dry-run", action="store_true", help="check and report, register nothing")
    spreadsheet.add_argument("--valid-rows-only", action="store_true", help="register the valid rows even if "
                                                                            "some are wrong")
    spreadsheet.add_argument("--regency", help="province administrators: the file's regency")
    spreadsheet.set_defaults(run=cmd_import)

    plan = commands.add_parser("plan", parents=[common], help="preview a programme's plan, and publish it")
    plan.add_argument("--programme", action="append",
                      help="the programme's id (needed when there are several); more than one: planned together")
    plan.add_argument("--all", action="store_true",
                      help="every programme without a published plan, planned together (a whole province)")
    plan.add_argument("--publish", action="store_true", help="publish the preview just made")
    plan.set_defaults(run=cmd_plan)

    sessions = commands.add_parser("sessions", parents=[common], help="the published sessions, with their ids")
    sessions.add_argument("--programme", help="only this programme's")
    sessions.set_defaults(run=cmd_sessions)

    device = commands.add_parser("device-token", parents=[common], help="check-in phones' tokens")
    device_commands = device.add_subparsers(dest="device_command", required=True)
    issue = device_commands.add_parser("issue", parents=[common], help="issue a token for a check-in phone")
    issue.add_argument("--label", required=True)
    issue.add_argument("--session")
    issue.add_argument("--venue")
    issue.add_argument("--from", dest="valid_from")
    issue.add_argument("--until", dest="valid_until")
    issue.set_defaults(run=cmd_device_token)

    checkins = commands.add_parser("checkins", parents=[common], help="check-ins from phones")
    checkin_commands = checkins.add_subparsers(dest="checkins_command", required=True)
    sync = checkin_commands.add_parser("sync", parents=[common], help="upload a phone's offline scans")
    sync.add_argument("file")
    sync.add_argument("--device-token", help="the phone's token (BIMTEK_DEVICE_TOKEN)")
    sync.set_defaults(run=cmd_checkins_sync)

    certificates = commands.add_parser("certificates", parents=[common], help="certificates")
    certificate_commands = certificates.add_subparsers(dest="certificates_command", required=True)
    export = certificate_commands.add_parser("export", parents=[common], help="download certificates as ZIPs")
    export.add_argument("dir")
    scope = export.add_mutually_exclusive_group()
    scope.add_argument("--district", help="one kecamatan (default: each kecamatan of your regency)")
    scope.add_argument("--cooperative")
    scope.add_argument("--session")
    export.set_defaults(run=cmd_certificates_export)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    for option in ("gateway", "lang"):
        setattr(args, option, getattr(args, option, None))
    for flag in ("quiet", "json"):
        setattr(args, flag, getattr(args, flag, False))
    settings = config.load()
    args.gateway = (args.gateway or os.environ.get("BIMTEK_GATEWAY") or settings.get("gateway")
                    or DEFAULT_GATEWAY).rstrip("/")
    language = args.lang or os.environ.get("BIMTEK_LANG") or settings.get("language") or "id"
    out = Output(language if language in ("id", "en") else "id")
    started = time.monotonic()
    try:
        return args.run(args, out)
    except ApiProblem as problem:
        if problem.code == "gateway_unreachable":
            out.warn("unreachable", gateway=args.gateway, detail=problem.detail)
        else:
            out.warn("refused", status=problem.status, code=problem.code, detail=problem.detail)
            for error in problem.errors[:10]:
                print(f"  {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    finally:
        if not args.quiet and time.monotonic() - started > 5:
            print(f"({time.monotonic() - started:.1f} s)", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
