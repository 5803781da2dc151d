"""No NIK leaks (UU PDP, issue 9): a Bimtek in small runs on a stack of its own under the audit of
``tests/support/pdp_audit.py`` (every log line at DEBUG, every metric, every message through the
broker's firehose, every URL from the gateway's access log), and the NIK, name and phone number of
every person in it are searched for in all of that.

The workload: two Jombang villages' teams imported from an XLSX spreadsheet (a dry run first),
three people registered one by one (names with non-ASCII letters; a duplicate NIK and a NIK that
contradicts its birth date refused on the way), a name and a phone number corrected, the list
filtered; a programme planned and published; invitations read (JSON and PDF); a participant signing
in with their code; check-ins uploaded by a device (one upload twice), a day set by hand, one person
absent; the session closed, certificates issued, downloaded one by one, as the session's PDF and
as a ZIP, verified publicly; one person substituted, one erased.

Asserted: no NIK anywhere but in the calls that carry a new registration to registration (and each
registered NIK is found there: the audit's proof that it finds what it seeks, through the
spreadsheet's base64 and ZIP too); no name and no phone number in a log, a metric or a URL; no
phone number in any event; every URL a client requested is in the access log. Where names and phone
numbers do travel (events that print names, answers to staff) is printed as figures.
"""
from __future__ import annotations

import json
import secrets
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from bimtek_gateway.identity import Role
from bimtek_shared.ops.local_stack import UNITS
from tests.integration.harness import REGENCY, System, wait_until
from tests.support import pdp_audit, synthetic
from tests.support.servers import PrivatePostgres, PrivateRabbitMQ

pytestmark = pytest.mark.integration

API = "/api/v1"
VHOST = "personal_data_leaks"
REGISTRATION = next(unit for unit in UNITS if unit.name == "registration")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
JAKARTA = ZoneInfo("Asia/Jakarta")
OCTOBER_2025 = [{"start": "2025-10-01", "end": "2025-10-31"}]
TOPIC = f"Perlindungan data pribadi KDMP {uuid.uuid4().hex[:6]}"
SINGLE = (  # (name, position, female): registered one by one
    ("Bérnadètte Çahyaningrum", "ketua", True),
    ("Nur'aini Ma’ruf", "sekretaris", True),
    ("I Gusti Ngurah Rai Wiryawan", "bendahara", False),
)


@pytest.fixture(scope="module")
def audited(pg_server: PrivatePostgres, rabbit_server: PrivateRabbitMQ,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[System]:
    """A stack of its own, on a virtual host of its own (so the firehose sees nothing else),
    logging at DEBUG and every request line."""
    running = System.up(state_dir=tmp_path_factory.mktemp("stack-pdp"), amqp_uri=rabbit_server.add_vhost(VHOST),
                        postgres_url=pg_server.url("").rstrip("/"), database_prefix="it_pdp",
                        # The production RPC timeout: planning on a busy 2-core machine needs more than 2 s.
                        extra_env={**pdp_audit.STACK_ENV, "RPC_TIMEOUT_SECONDS": "10"})
    try:
        yield running
    finally:
        running.close()


Audit = tuple[dict[str, Any], "Workload", pdp_audit.Capture]


def bearer(system: System, role: Role, regency: str = REGENCY, user: str | None = None) -> dict[str, str]:
    return system.bearer(role, regency, user=user)


def ok(answer: httpx.Response, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json() if "json" in answer.headers.get("content-type", "") else answer.content


def nik_for(birth: date, female: bool, serial: int) -> str:
    return f"351709{birth.day + (40 if female else 0):02d}{birth.month:02d}{birth.year % 100:02d}{serial:04d}"


class Workload:
    """The small Bimtek, run once through the public API; ``people`` holds every value registered."""

    def __init__(self, system: System) -> None:
        self.system, self.api = system, system.api
        self.people: list[pdp_audit.Person] = []
        self.requested: list[str] = []  # every URL the client sent, path and query as sent
        self.api.event_hooks["request"].append(lambda request: self.requested.append(request.url.raw_path.decode()))

    def run(self) -> None:
        api, system = self.api, self.system
        admin = bearer(system, Role.REGENCY_ADMIN)
        # Two villages' teams from a spreadsheet: checked (dry run), then imported.
        rows = synthetic.team_rows(REGENCY, seed=9)
        villages = sorted({row["kode_desa"] for row in rows})[:3]
        rows = [row for row in rows if row["kode_desa"] in villages[:2]]
        self.people += [pdp_audit.Person(str(r["nik"]), str(r["nama_lengkap"]), str(r["no_hp"])) for r in rows]
        content = synthetic.to_xlsx(rows)
        for dry_run in (True, False):
            answer = api.post(f"{API}/participant-imports", files={"file": ("tim.xlsx", content, XLSX)},
                              data={"dry_run": str(dry_run).lower()}, timeout=60)
            assert answer.status_code == 202, answer.text
            job = wait_until(lambda: (j := api.get(answer.headers["location"]).json())["status"] in
                             ("succeeded", "failed") and j, 90, interval=0.3, message="the import did not finish")
            assert job["status"] == "succeeded", job
        # Three people one by one, into the third village's cooperative.
        cooperative = ok(api.post(f"{API}/cooperatives", json={"villages": [villages[2]]}), 201)
        self.single: list[dict[str, Any]] = []
        for n, (name, position, female) in enumerate(SINGLE):
            birth = date(1958, 3 + n, 11 + n)
            body = {"nik": nik_for(birth, female, 7001 + n), "full_name": name, "sex": "P" if female else "L",
                    "birth_date": birth.isoformat(), "position": position, "cooperative_id": cooperative["id"],
                    "phone": f"0857-{secrets.randbelow(10**4):04d}-{secrets.randbelow(10**4):04d}"}
            self.people.append(pdp_audit.Person(body["nik"], name, body["phone"]))
            self.single.append({**ok(api.post(f"{API}/participants", json=body), 201), "nik": body["nik"],
                                "birth_date": body["birth_date"]})
            if n == 0:  # refused: the same NIK again; a NIK whose digits contradict the birth date
                assert api.post(f"{API}/participants", json={**body, "position": "anggota_pengurus"}).status_code == 409
                wrong = {**body, "nik": nik_for(birth, not female, 7009), "position": "anggota_pengurus"}
                self.people.append(pdp_audit.Person(wrong["nik"], name, body["phone"]))
                assert api.post(f"{API}/participants", json=wrong).status_code == 422
        corrected, new_name, new_phone = self.single[1], "Nur'aini Ma’ruf Hasanah", "+62 813 5577 0246"
        ok(api.patch(f"{API}/participants/{corrected['id']}", json={"full_name": new_name, "phone": new_phone}))
        self.people.append(pdp_audit.Person(corrected["nik"], new_name, new_phone))
        ok(api.get(f"{API}/participants", params={"cooperative_id": cooperative["id"], "sort": "full_name"}))
        ok(api.get(f"{API}/participants/{self.single[0]['id']}"))
        everyone = [str(p) for (p,) in system.query("registration", "SELECT id FROM participants WHERE regency = %s",
                                                    (REGENCY,))]
        assert len(everyone) == 19
        wait_until(lambda: system.count("scheduling", "participants p JOIN cooperatives c USING (cooperative_id)",
                                        "p.participant_id::text = ANY(%s) AND p.full_name IS NOT NULL",
                                        (everyone,)) == 19, 60,
                   message="scheduling never learnt of the 19")

        # Planned and published: one one-day session for the three teams.
        ok(api.post(f"{API}/resource-persons", headers=bearer(system, Role.PROVINCE_ADMIN, "*"), json={
            "name": "Drs. Widyaiswara Pelatihan", "topics": [TOPIC], "available": OCTOBER_2025}), 201)
        ok(api.post(f"{API}/venues", json={"name": "Ruang Bung Tomo", "capacity": 30,
                                                  "available": OCTOBER_2025}), 201)
        programme = ok(api.post(f"{API}/programmes", json={
            "title": "Bimtek KDMP Jombang (audit data pribadi)", "topics": [{"topic": TOPIC, "hours": 8}],
            "days_per_session": 1, "window_start": "2025-10-01", "window_end": "2025-10-31",
            "min_attendance_days": 1}), 201)
        preview = ok(api.post(f"{API}/programmes/{programme['id']}/plan-previews", timeout=30), 201)
        plan = ok(api.post(f"{API}/programmes/{programme['id']}/plan", json={"preview_id": preview["id"]}, timeout=30))
        assert len(plan["sessions"]) == 1, plan
        session, day = plan["sessions"][0]["id"], date.fromisoformat(plan["sessions"][0]["days"][0])
        wait_until(lambda: system.count("scheduling", "assignments", "session_id = %s", (session,)) == 19, 30,
                   message="the plan never seated everyone")

        # Invitations, a participant signing in, check-ins (an upload twice), a day by hand, one absent.
        qrs = {}
        for person in everyone:
            own = bearer(system, Role.PARTICIPANT, user=person)
            qrs[person] = ok(api.get(f"{API}/participants/{person}/invitation", headers=own))["invitations"][0]["qr"]
        own = bearer(system, Role.PARTICIPANT, user=everyone[0])
        assert api.get(f"{API}/participants/{everyone[0]}/invitation.pdf", headers=own).status_code == 200
        signed_in = api.post(f"{API}/auth/participant-token", headers={"Authorization": ""}, json={
            "participant_code": self.single[0]["participant_code"], "birth_date": self.single[0]["birth_date"]})
        assert signed_in.status_code == 200, signed_in.text
        device = ok(api.post(f"{API}/device-tokens", json={"label": "HP presensi", "session_id": session}), 201)
        phone = {"Authorization": f"Bearer {device['token']}"}
        absent, by_hand = everyone[-1], everyone[-2]
        scans = [{"nonce": str(uuid.uuid4()), "qr": qrs[p], "scanned_at": datetime.combine(day, time(8), JAKARTA)
                  .isoformat()} for p in everyone if p not in (absent, by_hand)]
        for _ in range(2):
            ok(api.post(f"{API}/check-ins", headers=phone, json={"scans": scans}))
        ok(api.put(f"{API}/sessions/{session}/attendance/{by_hand}", json={"day": day.isoformat(), "present": True,
                                                                         "reason": "daftar hadir kertas"}))
        assert api.get(f"{API}/sessions/{session}/attendance-sheet.pdf", params={"day": day.isoformat()}) \
            .status_code == 200
        ok(api.post(f"{API}/sessions/{session}/closure"))

        # Certificates: issued, downloaded three ways, verified by the public.
        certificates = wait_until(lambda: (rows := system.query(
            "certificates", "SELECT id, public_id FROM certificates WHERE session_id = %s", (session,))) and
            len(rows) == 18 and rows, 60, message="certificates were never issued")
        for certificate_id, _ in certificates[:2]:
            assert api.get(f"{API}/certificates/{certificate_id}/document").status_code == 200
        assert api.get(f"{API}/sessions/{session}/certificates.pdf", timeout=60).status_code == 200
        assert api.get(f"{API}/certificate-archives", params={"session_id": session}, timeout=60).status_code == 200
        ok(api.get(f"{API}/certificates", params={"session_id": session}))
        public_id = certificates[0][1]
        ok(api.get(f"{API}/public/certificates/{public_id}", headers={"Authorization": ""}))
        assert api.get(f"{API}/public/certificates/{public_id}/page").status_code == 200

        # A substitution (a new person in a place), and an erasure on request.
        birth = date(1977, 8, 17)
        replacement = {"nik": nik_for(birth, False, 7010), "full_name": "Ketut Suryadharma", "sex": "L",
                       "birth_date": birth.isoformat(), "phone": "0878 1234 5678"}
        self.people.append(pdp_audit.Person(replacement["nik"], replacement["full_name"], replacement["phone"]))
        ok(api.post(f"{API}/participants/{self.single[0]['id']}/substitution", json=replacement), 201)
        ok(api.post(f"{API}/participants/{self.single[2]['id']}/erasure", headers=admin))
        wait_until(lambda: system.count("certificates", "roster", "participant_id = %s AND full_name IS NULL",
                                        (self.single[2]["id"],)) == 1, 30, message="the erasure never arrived")


@pytest.fixture(scope="module")
def audit(audited: System, rabbit_server: PrivateRabbitMQ, tmp_path_factory: pytest.TempPathFactory) -> Audit:
    folder = tmp_path_factory.mktemp("pdp-audit")
    workload = Workload(audited)
    with pdp_audit.capture(audited.stack, lambda on: rabbit_server.trace(VHOST, on), folder) as captured:
        workload.run()
    stored = pdp_audit.people_in_registration_database(
        audited.dsn("registration"), pdp_audit.registration_nik_config(audited.stack.env_for(REGISTRATION)))
    # What the full audit (scripts/pdp_audit.py) takes its needles from holds the same people.
    assert {p.nik for p in stored} <= {p.nik for p in workload.people} and len(stored) == 19
    report = captured.audit(workload.people, pdf_text=pdp_audit.pdftotext if pdp_audit.have_pdftotext() else None)
    (folder / "report.json").write_text(json.dumps(report, indent=2, ensure_ascii=False))
    print(f"\npersonal-data audit of {report['duration_seconds']} s ({folder / 'report.json'}):\n"
          + pdp_audit.summary(report))
    return report, workload, captured


def test_no_nik_anywhere_but_in_the_calls_that_register(audit: Audit) -> None:
    report, _, _ = audit
    assert report["hits"]["nik"] == {channel: 0 for channel in pdp_audit.CHANNELS}, report["places"].get("nik")


def test_the_audit_finds_every_nik_where_it_is_carried(audit: Audit) -> None:
    """Its own proof of sight: each NIK is found in the registration calls, those of the spreadsheet
    inside its base64 and ZIP."""
    report, workload, _ = audit
    assert report["searched"]["niks"] == len({p.nik for p in workload.people}) == 21
    assert report["allowed"]["niks_never_found_there"] == 0, report["allowed"]
    routes = set(report["allowed"]["nik"])
    assert "publish nameko-rpc registration.start_participant_file_import" in routes
    assert "deliver rpc-registration (registration.register_participant)" in routes
    assert "publish nameko-rpc registration.substitute_participant" in routes
    assert report["inspected"]["broker_decoded_payloads"].get("zip", 0) >= 1


def test_no_name_or_phone_number_in_logs_metrics_or_urls(audit: Audit) -> None:
    report, _, _ = audit
    for kind in ("name", "phone"):
        found = {channel: report["hits"][kind][channel] for channel in ("logs", "metrics", "urls")}
        assert found == {"logs": 0, "metrics": 0, "urls": 0}, (kind, report["places"].get(kind))


def test_no_phone_number_in_any_event(audit: Audit) -> None:
    report, _, _ = audit
    places = report["places"].get("phone", {}).get("broker", {})
    assert [place for place in places if ".events " in place or "deliver evt-" in place] == [], places
    print("\nnames in broker traffic, by route:", json.dumps(report["places"].get("name", {}).get("broker", {}),
                                                              indent=1))
    print("phone numbers in broker traffic, by route:", json.dumps(places, indent=1))


def test_everything_was_captured(audit: Audit) -> None:
    report, workload, captured = audit
    inspected = report["inspected"]
    missing = Counter(workload.requested) - Counter(captured.urls())
    assert not missing, f"URLs the client requested are missing from the access log: {list(missing)[:5]}"
    assert inspected["urls"] >= len(workload.requested)
    assert inspected["metric_scrape_failures"] == {} and inspected["metric_series"] > 100
    assert inspected["broker_published"] > 100 and inspected["broker_delivered"] > 100
    for service in ("registration", "scheduling", "certificates"):  # every event the relays published was seen
        relayed = workload.system.count(service, "outbox", "published_at IS NOT NULL")
        assert inspected["broker_published_to"].get(f"{service}.events", 0) >= relayed > 0, service
    assert inspected["log_lines"] > 1000
    debug_lines = sum(" DEBUG " in line for path in (workload.system.stack.state_dir / "log").glob("*.log")
                      for line in path.read_text(errors="replace").splitlines())
    assert debug_lines > 0, "the stack did not log at DEBUG"

