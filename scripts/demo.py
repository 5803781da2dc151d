"""``make demo``: the Jombang Bimtek, start to finish, through the public API.

Set-up: a fresh RabbitMQ virtual host (``bimtek-demo``, via ``rabbitmqctl``) and fresh databases
(``bimtek_demo_<unit>``), both dropped and made again on every run so every count below is exact
and a second run works like the first; the stack (``bimtek_shared.ops.local_stack``) on its own
ports, its logs in the run's folder, never disturbing a ``make up`` stack; a province
administrator and an operator of Kabupaten Jombang (``bimtek-gateway create-user``).

Then the Bimtek itself, timed, as web and mobile clients do it (``bimtek_cli.api`` only):

1. the spreadsheet of the real 21 kecamatan and 306 villages of Jombang, a team of eight per
   village (5 pengurus, 3 pengawas; ``tests/support/synthetic.py``): 2,448 people, checked by a
   dry run, then imported;
2. two resource persons of the provincial training unit, the programme (one-day sessions of 8 JP
   in October 2025, the whole day required), the hall Ruang Bung Tomo (250 seats); a preview on
   working days, published;
3. every participant's invitation read (as their phone would); per session a check-in phone with
   its device token uploads its scans; one phone was offline, so its batch is uploaded twice (the
   second time every scan answers ``duplicate``); a few people stay away; one person's day is set
   by hand (the paper sheet); the attendance sheets printed; the sessions closed;
4. certificates issued; Kecamatan Jombang's as one ZIP (every kecamatan's would take minutes of
   rendering: ``bimtek certificates export DIR``); a sample's QR code read off its PDF (pdftoppm +
   zbarimg) and its public verification page opened.

It ends with a table per kecamatan and leaves its artefacts in ``var/demo/<time>/``. The stack is
stopped unless KEEP=1 (``python scripts/demo.py --down`` stops a kept one).
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import random
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from tqdm import tqdm

from bimtek_cli.api import ApiProblem, BimtekApi
from bimtek_shared.ops import local_stack

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))
from tests.support import synthetic  # noqa: E402  (the one generator of synthetic import files)

JOMBANG = synthetic.JOMBANG
DEMO_FOLDER = REPO_ROOT / "var" / "demo"
VHOST = "bimtek-demo"
DATABASE_PREFIX = "bimtek_demo"
JAKARTA = ZoneInfo("Asia/Jakarta")
OCTOBER_2025 = [{"start": "2025-10-01", "end": "2025-10-31"}]
TOPICS = [{"topic": "Perkoperasian dan tata kelola KDMP", "hours": 4},
          {"topic": "Manajemen usaha dan keuangan koperasi", "hours": 4}]
RESOURCE_PERSONS = ("Dra. Sri Wahyuni, M.M.", "Drs. Bambang Hartono, M.Si.")  # UPT Pelatihan Provinsi Jawa Timur
ABSENTEES = 7
EXPORTED_DISTRICT = "35.17.09"  # Kecamatan Jombang
PEOPLE = 2_448
READERS = 8  # participants' phones reading their invitations at once
SCANS_PER_SYNC = 125  # a phone with signal uploads as it goes (the API takes up to 500 at once)


def main() -> int:
    options = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    options.add_argument("--down", action="store_true", help="stop a demo stack kept running with KEEP=1")
    if options.parse_args().down:
        stop_earlier_demos()
        return 0
    started = time.monotonic()
    run_folder = DEMO_FOLDER / datetime.now().strftime("%Y%m%d-%H%M%S")
    stack = demo_stack(run_folder)
    say(f"Set-up: fresh virtual host {VHOST!r} and databases {DATABASE_PREFIX}_*; the stack (logs in "
        f"{run_folder.relative_to(REPO_ROOT)}/stack/log)")
    stop_earlier_demos()
    fresh_vhost()
    drop_databases(stack)
    try:
        stack.up()
        print(local_stack.describe(stack))
        users = create_users(stack)
        setup_seconds = time.monotonic() - started
        print(f"set-up took {setup_seconds:.1f} s")
        return Bimtek(stack, users, run_folder / "artefak").run(setup_seconds)
    finally:
        if os.environ.get("KEEP") == "1":
            print(f"\nThe stack keeps running: gateway {stack.gateway_url} (API docs {stack.gateway_url}/docs). "
                  f"Operator {users_note(run_folder)}; stop it with `.venv/bin/python scripts/demo.py --down`.")
        else:
            say("Stopping the stack (KEEP=1 leaves it running)")
            stack.down()


# -- the stack ------------------------------------------------------------------------------------------
def demo_stack(run_folder: Path) -> local_stack.LocalStack:
    base = local_stack.from_environment()
    ports = {name: free_port() for name in local_stack.DEFAULT_PORTS}
    if port_is_free(local_stack.DEFAULT_PORTS["gateway"]):
        ports["gateway"] = local_stack.DEFAULT_PORTS["gateway"]
    gateway = f"http://127.0.0.1:{ports['gateway']}"
    return local_stack.LocalStack(
        state_dir=run_folder / "stack", amqp_uri=vhost_uri(base.amqp_uri), postgres_url=base.postgres_url,
        database_prefix=DATABASE_PREFIX, ports=ports,
        extra_env={
            "CERTIFICATE_PUBLIC_BASE_URL": gateway,  # the QR codes point at this gateway
            "CERTIFICATE_SIGNATORIES": json.dumps({JOMBANG: [
                {"name": "Drs. Agus Prasetyo, M.Si.", "title": "Kepala Dinas Koperasi dan Usaha Mikro "
                 "Kabupaten Jombang", "employee_number": "19700512 199603 1 004"}]}),
        })


def vhost_uri(amqp_uri: str) -> str:
    scheme, _, rest = amqp_uri.partition("://")
    authority = rest.split("/", 1)[0]
    return f"{scheme}://{authority}/{VHOST}"


def fresh_vhost() -> None:
    """Deletes the demo's virtual host (queues and messages of an earlier run with it) and makes it again."""
    if not shutil.which("rabbitmqctl"):
        raise SystemExit("rabbitmqctl is needed to give the demo a fresh virtual host (apt-get install rabbitmq-server)")
    user = os.environ.get("AMQP_USER", "guest")
    subprocess.run(["rabbitmqctl", "-q", "delete_vhost", VHOST], capture_output=True)  # absent the first time
    for command in (["add_vhost", VHOST], ["set_permissions", "-p", VHOST, user, ".*", ".*", ".*"]):
        subprocess.run(["rabbitmqctl", "-q", *command], check=True, capture_output=True)


def drop_databases(stack: local_stack.LocalStack) -> None:
    import psycopg2  # the services' driver, in the virtualenv

    conn = psycopg2.connect(f"{stack.postgres_url}/postgres")
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            for unit in local_stack.UNITS:
                database = stack.database_url(unit.name).rsplit("/", 1)[1]
                cur.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
    finally:
        conn.close()


def stop_earlier_demos() -> None:
    """A demo kept running (KEEP=1) holds the virtual host and the databases: stop it first."""
    for run_dir in sorted(DEMO_FOLDER.glob("*/stack")):
        if any((run_dir / "run").glob("*.pid")):
            local_stack.LocalStack(state_dir=run_dir).down()


def create_users(stack: local_stack.LocalStack) -> dict[str, tuple[str, str]]:
    gateway = next(u for u in local_stack.UNITS if u.name == "gateway")
    users = {"province": ("admin.provinsi.jatim", "province_admin", None),
             "operator": ("operator.jombang", "operator", JOMBANG)}
    made = {}
    for key, (username, role, regency) in users.items():
        password = secrets.token_urlsafe(18)
        subprocess.run([sys.executable, "-m", "bimtek_gateway.cli", "create-user", username, "--role", role,
                        *(["--regency", regency] if regency else [])],
                       env={**stack.env_for(gateway), "BIMTEK_PASSWORD": password}, check=True,
                       stdout=subprocess.DEVNULL, cwd=REPO_ROOT / gateway.folder)
        made[key] = (username, password)
    (stack.state_dir / "operator.json").write_text(json.dumps(
        {"username": made["operator"][0], "password": made["operator"][1], "gateway": stack.gateway_url}))
    os.chmod(stack.state_dir / "operator.json", 0o600)
    return made


def users_note(run_folder: Path) -> str:
    return f"sign-in in {(run_folder / 'stack' / 'operator.json').relative_to(REPO_ROOT)}"


# -- the Bimtek -------------------------------------------------------------------------------------------
class Bimtek:
    def __init__(self, stack: local_stack.LocalStack, users: dict[str, tuple[str, str]], artefacts: Path) -> None:
        self.stack = stack
        self.users = users
        self.artefacts = artefacts
        artefacts.mkdir(parents=True, exist_ok=True)
        self.clock = time.monotonic()

    def step(self, title: str) -> None:
        say(f"[{time.monotonic() - self.clock:5.1f} s] {title}")

    def run(self, setup_seconds: float) -> int:
        self.clock = time.monotonic()
        base = self.stack.gateway_url
        with BimtekApi.signed_in(base, *self.users["operator"]) as api, \
                BimtekApi.signed_in(base, *self.users["province"]) as province:
            self.api, self.province = api, province
            self.import_spreadsheet()
            plan = self.plan()
            people = self.seated(plan)
            qrs = self.invitations(people)
            absent = self.check_in(plan, people, qrs)
            self.close(plan)
            certified = self.certificates(len(people) - len(absent))
            self.export_and_verify(people, certified)
            lifecycle = time.monotonic() - self.clock
            self.table(people, absent, certified)
        say(f"The whole Jombang Bimtek took {lifecycle:.1f} s (target < 90 s), after {setup_seconds:.1f} s of set-up")
        print(f"Artefacts: {self.artefacts.relative_to(REPO_ROOT)}/")
        for path in sorted(self.artefacts.rglob("*")):
            if path.is_file():
                print(f"  {path.relative_to(self.artefacts)}  ({path.stat().st_size // 1024} KB)")
        return 0

    # 1. registration
    def import_spreadsheet(self) -> None:
        self.step("A spreadsheet of Kabupaten Jombang: 21 kecamatan, 306 villages, a team of eight each")
        rows = synthetic.team_rows(JOMBANG)
        spreadsheet = self.artefacts / "peserta-jombang.xlsx"
        spreadsheet.write_bytes(synthetic.to_xlsx(rows))
        print(f"{len(rows):,} rows, {len({r['kode_desa'] for r in rows})} villages -> {spreadsheet.name} "
              f"({spreadsheet.stat().st_size // 1024} KB)")
        for dry_run in (True, False):
            with tqdm(total=len(rows), desc="uji coba (dry run)" if dry_run else "impor", unit=" baris") as bar:
                job = self.api.import_spreadsheet(spreadsheet, dry_run=dry_run,
                                                  on_progress=lambda j: bar.update(j["done"] + j["failed"] - bar.n))
                if dry_run:
                    bar.update(len(rows) - bar.n)
            if job["status"] != "succeeded":
                raise SystemExit(f"the import failed: {job['errors'][:5]}")
            result = job["result"]
            if dry_run:
                print(f"dry run: {result['valid_rows']:,} valid rows, {result['cooperatives_to_create']} "
                      "cooperatives to create")
            else:
                print(f"imported: {job['done']:,} participants, {result['cooperatives_created']} cooperatives")

    # 2. planning
    def plan(self) -> dict[str, Any]:
        self.step("Two resource persons, the programme, Ruang Bung Tomo; a plan previewed and published")
        for name in RESOURCE_PERSONS:
            self.province.create_resource_person({"name": name, "topics": [t["topic"] for t in TOPICS],
                                                  "available": OCTOBER_2025})
        programme = self.api.create_programme({
            "title": "Bimtek Pengurus dan Pengawas KDMP Kabupaten Jombang 2025", "topics": TOPICS,
            "days_per_session": 1, "window_start": "2025-10-01", "window_end": "2025-10-31",
            "min_attendance_days": 1})
        self.api.create_venue({"name": "Ruang Bung Tomo", "capacity": 250, "available": OCTOBER_2025})
        # Scheduling learns the imported people from registration's events: a preview seating fewer
        # than were imported is one made before the last chunk arrived, so preview again.
        deadline = time.monotonic() + 120
        while True:
            preview = self.api.preview_plan(programme["id"])
            if preview["participants"] >= PEOPLE or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        figures = preview["figures"]
        print(f"preview: {figures['sessions']} sessions for {preview['participants']:,} people (at least "
              f"{figures['sessions_lower_bound']}), {figures['districts_split']} kecamatan split, last day "
              f"{figures['finish']}, {len(preview['unplaced'])} cooperatives unplaced")
        plan = self.api.publish_plan(programme["id"], preview["id"])
        plan["programme"] = programme
        self.districts = {d["code"]: d["name"] for d in self.api.cooperative_statistics()["districts"]}
        with (self.artefacts / "jadwal.csv").open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out, delimiter=";")
            writer.writerow(["sesi", "tanggal", "tempat", "narasumber", "koperasi", "peserta", "kecamatan"])
            for session in plan["sessions"]:
                districts = sorted({c["district"] for c in session["cooperatives"] if c.get("district")})
                writer.writerow([session["number"], " ".join(session["days"]), session["venue"]["name"],
                                 ", ".join(p["name"] for p in session["resource_persons"]),
                                 len(session["cooperatives"]), session["participants"],
                                 ", ".join(self.districts.get(d, d) for d in districts)])
                print(f"  sesi {session['number']:2d}  {session['days'][0]}  {session['participants']:3d} peserta  "
                      f"{', '.join(self.districts.get(d, d) for d in districts)}")
        return plan

    def seated(self, plan: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """Everyone seated, with their session and district (from the lists the API offers)."""
        district_of = {c["id"]: (c["districts"] or ["?"])[0] for c in self.api.list_cooperatives()}
        people = {}
        for session in plan["sessions"]:
            for seat in self.api.get_attendance(session["id"])["participants"]:
                people[seat["participant_id"]] = {"session": session}
        for person in self.api.list_participants():
            if person["id"] in people:
                people[person["id"]]["district"] = district_of.get(person["cooperative_id"], "?")
        return people

    # 3. invitations and attendance
    def invitations(self, people: dict[str, dict[str, Any]]) -> dict[str, str]:
        self.step(f"Each participant's phone reads their invitation ({len(people):,} of them, {READERS} at a time)")
        with ThreadPoolExecutor(READERS) as pool, tqdm(total=len(people), desc="undangan", unit=" undangan") as bar:
            def read(person: str) -> tuple[str, str]:
                qr = self.api.get_invitation(person)["invitations"][0]["qr"]
                bar.update(1)
                return person, qr

            return dict(pool.map(read, people))

    def check_in(self, plan: dict[str, Any], people: dict[str, dict[str, Any]], qrs: dict[str, str]) -> set[str]:
        sessions = plan["sessions"]
        self.step(f"Check-in: a phone per session ({len(sessions)}); one was offline and uploads its batch twice")
        rng = random.Random(17)
        absent = set(rng.sample(sorted(people), ABSENTEES))
        by_hand = rng.choice(sorted(set(people) - absent))  # their scan is missing: the paper sheet says present
        offline = sessions[len(sessions) // 2]["id"]
        totals: Counter[str] = Counter()
        sheets = self.artefacts / "daftar-hadir"
        sheets.mkdir(exist_ok=True)
        with tqdm(total=len(people) - len(absent), desc="pindaian", unit=" scan") as bar:
            for session in sessions:
                day = date.fromisoformat(session["days"][0])
                phone_token = self.api.issue_device_token(f"HP presensi Ruang Bung Tomo sesi {session['number']}",
                                                          session_id=session["id"])
                phone = self.api.device(phone_token["token"])
                here = [p for p in people if people[p]["session"]["id"] == session["id"]
                        and p not in absent and p != by_hand]
                opening = datetime(day.year, day.month, day.day, 7, 15, tzinfo=JAKARTA)
                scans = [{"nonce": str(uuid.uuid4()), "qr": qrs[p],
                          "scanned_at": (opening + timedelta(seconds=4 * n)).isoformat()} for n, p in enumerate(here)]
                with phone:
                    if session["id"] == offline:
                        (self.artefacts / f"checkins-offline-sesi-{session['number']}.json").write_text(
                            json.dumps({"scans": scans}, indent=1))
                        first = phone.sync_check_ins(scans, on_batch=bar.update)
                        again = phone.sync_check_ins(scans)  # the answer was lost on the way: sent again
                        totals.update(first["counts"])
                        bar.write(f"  sesi {session['number']} (offline, {len(scans)} scans): first upload "
                                  f"{dict(first['counts'])}, the same batch again {dict(again['counts'])}")
                        if again["counts"].get("duplicate") != len(scans):
                            raise SystemExit("the offline batch uploaded again counted something twice")
                    else:
                        for start in range(0, len(scans), SCANS_PER_SYNC):
                            batch = scans[start:start + SCANS_PER_SYNC]
                            totals.update(phone.upload_check_ins(batch)["counts"])
                            bar.update(len(batch))
                if people[by_hand]["session"]["id"] == session["id"]:
                    self.api.set_attendance(session["id"], by_hand, day=day.isoformat(), present=True,
                                            reason="Hadir menurut daftar hadir kertas; QR tidak terbaca")
                sheet = self.api.attendance_sheet_pdf(session["id"], day=day.isoformat())
                (sheets / f"daftar-hadir-sesi-{session['number']:02d}-{day.isoformat()}.pdf").write_bytes(sheet)
        print(f"scans: {dict(totals)}; 1 day set by hand; {len(absent)} absent")
        if totals["recorded"] != len(people) - len(absent) - 1:
            raise SystemExit(f"expected {len(people) - len(absent) - 1} scans recorded, got {totals['recorded']}")
        return absent

    def close(self, plan: dict[str, Any]) -> None:
        self.step("The sessions are closed: attendance is final")
        completed = not_completed = 0
        for session in plan["sessions"]:
            closed = self.api.close_session(session["id"])
            completed += len(closed["completed"])
            not_completed += len(closed["not_completed"])
        print(f"{len(plan['sessions'])} sessions closed: {completed:,} completed, {not_completed} did not")
        self.programme_id = plan["programme"]["id"]

    # 4. certificates
    def certificates(self, expected: int) -> dict[str, dict[str, Any]]:
        self.step(f"Certificates issued ({expected:,} expected)")
        deadline = time.monotonic() + 180
        with tqdm(total=expected, desc="sertifikat", unit=" sertifikat") as bar:
            while True:
                try:
                    issued = {c["participant_id"]: c
                              for c in self.api.list_certificates(programme_id=self.programme_id)}
                except ApiProblem as problem:  # a server hiccup while polling: the next poll will tell
                    if problem.status < 500 or time.monotonic() > deadline:
                        raise
                    bar.write(f"  (polling answered {problem.status} {problem.code}; polling on)")
                    time.sleep(1.0)
                    continue
                bar.update(len(issued) - bar.n)
                if len(issued) >= expected or time.monotonic() > deadline:
                    break
                time.sleep(2.0)  # each poll pages through the list: not too often while it is issuing
        if len(issued) != expected:
            raise SystemExit(f"{len(issued)} certificates issued, {expected} expected")
        return issued

    def export_and_verify(self, people: dict[str, dict[str, Any]], certified: dict[str, dict[str, Any]]) -> None:
        code = EXPORTED_DISTRICT if EXPORTED_DISTRICT in self.districts else sorted(self.districts)[0]
        name = self.districts[code]
        self.step(f"Kecamatan {name}'s certificates as one ZIP; a sample verified by its QR code")
        # One kecamatan: rendering all 2,441 PDFs (about 110 MB) takes minutes on two busy cores;
        # `bimtek certificates export DIR` downloads every kecamatan's archive.
        archive_path = self.artefacts / f"sertifikat-{code}-{slug(name)}.zip"
        with tqdm(desc="zip", unit="B", unit_scale=True) as bar:
            self.api.export_certificates(archive_path, district=code, on_bytes=bar.update)
        with zipfile.ZipFile(archive_path) as archive:
            entries = archive.namelist()
            pdf = archive.read(entries[len(entries) // 2])
        expected = sum(1 for person in certified if people.get(person, {}).get("district") == code)
        print(f"{archive_path.name}: {len(entries)} PDFs ({archive_path.stat().st_size // 1024:,} KB)")
        if len(entries) != expected:
            raise SystemExit(f"the archive holds {len(entries)} certificates, {expected} were issued there")
        (self.artefacts / "contoh-sertifikat.pdf").write_bytes(pdf)
        address = read_qr(pdf)
        print(f"QR code of {entries[len(entries) // 2]}: {address.split('#')[0]}#…")
        page = self.api.verification_page(address)
        public_id = address.split("#")[0].rstrip("/").rsplit("/", 2)[-2]
        verified = self.api.verify_certificate(public_id)
        (self.artefacts / "contoh-verifikasi.html").write_text(page, encoding="utf-8")
        state = 'data-status="valid"' in page and verified["number"] in page
        print(f"public page: {'SAH (valid)' if state else 'NOT VALID'}, number {verified['number']}, "
              f"signature {'checks' if verified['signature']['valid'] else 'FAILS'} with key "
              f"{verified['signature']['key_id']}")
        if not (state and verified["signature"]["valid"] and verified["status"] == "valid"):
            raise SystemExit("the sample certificate did not verify")

    # the summary
    def table(self, people: dict[str, dict[str, Any]], absent: set[str],
              certified: dict[str, dict[str, Any]]) -> None:
        say("Per kecamatan")
        statistics = {d["code"]: d for d in self.api.cooperative_statistics()["districts"]}
        rows = defaultdict(Counter)
        for person, seat in people.items():
            row = rows[seat.get("district", "?")]
            row["absent" if person in absent else "attended"] += 1
            row["certified"] += person in certified
        header = f"{'kecamatan':22s} {'koperasi':>8s} {'peserta':>8s} {'hadir':>8s} {'sertifikat':>10s} {'absen':>6s}"
        print(header)
        print("-" * len(header))
        total = Counter()
        for code in sorted(statistics):
            line = Counter({"cooperatives": statistics[code]["cooperatives"],
                            "participants": statistics[code]["participants"], **rows[code]})
            total.update(line)
            print(format_row(statistics[code]["name"], line))
        print("-" * len(header))
        print(format_row("Kabupaten Jombang", total))


def format_row(name: str, row: Counter) -> str:
    return (f"{name[:22]:22s} {row['cooperatives']:8,d} {row['participants']:8,d} {row['attended']:8,d} "
            f"{row['certified']:10,d} {row['absent']:6,d}")


def read_qr(pdf: bytes) -> str:
    """What the certificate's QR code says: the page rendered by poppler, read by zbar."""
    with tempfile.TemporaryDirectory(prefix="bimtek-demo-") as folder:
        (Path(folder) / "sertifikat.pdf").write_bytes(pdf)
        subprocess.run(["pdftoppm", "-png", "-r", "200", "-singlefile", f"{folder}/sertifikat.pdf", f"{folder}/page"],
                       check=True, timeout=60)
        read = subprocess.run(["zbarimg", "--quiet", "--raw", f"{folder}/page.png"], capture_output=True, text=True,
                              timeout=60)
    if read.returncode != 0:
        raise SystemExit(f"zbarimg found no QR code: {read.stderr}")
    return read.stdout.strip()


def slug(name: str) -> str:
    return "".join(ch.lower() if ch.isalnum() else "-" for ch in name).strip("-")


def say(text: str) -> None:
    print(f"\n== {text}", flush=True)


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


if __name__ == "__main__":
    sys.exit(main())
