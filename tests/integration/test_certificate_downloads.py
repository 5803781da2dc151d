"""Certificate downloads end to end on the whole stack: Kabupaten Situbondo (35.12, which no other
test plans) with two cooperatives of one kecamatan, three people each, in one one-day session of
August 2025. Everyone attends, the session closes, certificates are issued; then the kecamatan's
certificates come as one ZIP through the gateway, each entry a PDF read back by ``pdftotext`` and,
for one, its QR code by ``zbarimg``. A cooperative operator's archive holds their cooperative's
only, another regency's staff get an archive without entries, a participant gets their own PDF
(with every name certificates kept from registration's and scheduling's events), the session's
merged printable PDF has a page per certificate, and a cooperative renamed afterwards leaves the
certificates as they were issued."""
from __future__ import annotations

import io
import subprocess
import uuid
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest

from bimtek_gateway.identity import Role
from tests.integration.harness import System, participant_body, wait_until

pytestmark = pytest.mark.integration

API = "/api/v1"
SITUBONDO = "35.12"
TOPIC = f"Sertifikat dan unduhan KDMP {uuid.uuid4().hex[:6]}"  # taught by our own resource person only
AUGUST_2025 = [{"start": "2025-08-01", "end": "2025-08-31"}]
POSITIONS = ("ketua", "sekretaris", "bendahara")
NAMES = ("Ni Luh Putu Ayu Ṣaraswati", "Nur'aini Ma’ruf", "I Gusti Ngurah Rai", "Bérnadètte Çahyaningrum",
         "Raden Ajeng Siti Khadījah", "Muhammad")


def bearer(system: System, role: Role, regency: str = SITUBONDO, user: str | None = None,
           cooperative: str | None = None) -> dict[str, str]:
    return system.bearer(role, regency, user=user, cooperative=cooperative)


def ok(answer: httpx.Response, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json()


def pdf_text(pdf: bytes) -> str:
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    return " ".join(text.split())


class Situbondo:
    """Two cooperatives of one kecamatan, their six people certified after one closed session."""

    def __init__(self, system: System) -> None:
        self.system, api = system, system.api
        self.operator = bearer(system, Role.OPERATOR)
        district, = system.query(
            "registration", "SELECT d.code FROM districts d WHERE d.regency_code = %s AND (SELECT count(*) FROM "
            "villages v WHERE v.district_code = d.code AND NOT EXISTS (SELECT 1 FROM cooperative_villages c "
            "WHERE c.village_code = v.code)) >= 2 ORDER BY d.code LIMIT 1", (SITUBONDO,))[0]
        self.district = district
        self.district_name = system.query("registration", "SELECT name FROM districts WHERE code = %s", (district,))[0][0]
        villages = system.query(
            "registration", "SELECT v.code, v.name FROM villages v WHERE v.district_code = %s AND NOT EXISTS "
            "(SELECT 1 FROM cooperative_villages c WHERE c.village_code = v.code) ORDER BY v.code LIMIT 2", (district,))
        self.cooperatives: list[dict[str, Any]] = []
        self.teams: list[list[str]] = []
        self.names: dict[str, str] = {}
        for n, (village, _) in enumerate(villages):
            cooperative = ok(api.post(f"{API}/cooperatives", headers=self.operator, json={"villages": [village]}), 201)
            self.cooperatives.append(cooperative)
            team = []
            for k, position in enumerate(POSITIONS):
                name = NAMES[3 * n + k]
                person = ok(api.post(f"{API}/participants", headers=self.operator, json=participant_body(
                    position=position, cooperative_id=cooperative["id"], full_name=name)), 201)["id"]
                team.append(person)
                self.names[person] = name
            self.teams.append(team)
        everyone = list(self.names)
        wait_until(lambda: system.count("scheduling", "participants p JOIN cooperatives c USING (cooperative_id)",
                                        "p.participant_id::text = ANY(%s) AND p.full_name IS NOT NULL",
                                        (everyone,)) == 6, 60, message="scheduling never learnt of Situbondo")
        ok(api.post(f"{API}/resource-persons", headers=bearer(system, Role.PROVINCE_ADMIN, "*"), json={
            "name": "Drs. Bambang Hariyadi", "topics": [TOPIC], "available": AUGUST_2025}), 201)
        self.venue = ok(api.post(f"{API}/venues", headers=self.operator, json={
            "name": "Gedung Pertemuan Kabupaten Situbondo", "capacity": 6, "available": AUGUST_2025}), 201)
        programme = ok(api.post(f"{API}/programmes", headers=self.operator, json={
            "title": "Bimtek Pengurus dan Pengawas KDMP Situbondo 2025", "topics": [{"topic": TOPIC, "hours": 8}],
            "days_per_session": 1, "window_start": "2025-08-01", "window_end": "2025-08-31",
            "min_attendance_days": 1}), 201)
        preview = ok(api.post(f"{API}/programmes/{programme['id']}/plan-previews", headers=self.operator,
                              timeout=30), 201)
        plan = ok(api.post(f"{API}/programmes/{programme['id']}/plan", headers=self.operator,
                           json={"preview_id": preview["id"]}, timeout=30))
        assert len(plan["sessions"]) == 1
        self.session = plan["sessions"][0]["id"]
        day = plan["sessions"][0]["days"][0]
        wait_until(lambda: system.count("scheduling", "assignments", "session_id = %s", (self.session,)) == 6, 30,
                   message="the plan never seated everyone")
        for person in everyone:
            ok(api.put(f"{API}/sessions/{self.session}/attendance/{person}", headers=self.operator,
                       json={"day": day, "present": True, "reason": "daftar hadir kertas"}))
        ok(api.post(f"{API}/sessions/{self.session}/closure", headers=self.operator))
        self.certificates = wait_until(
            lambda: (rows := system.query("certificates", "SELECT participant_id, id, number FROM certificates "
                                          "WHERE session_id = %s", (self.session,))) and len(rows) == 6 and rows,
            60, message="certificates were never issued")
        self.certificate_of = {str(p): str(c) for p, c, _ in self.certificates}


@pytest.fixture(scope="module")
def situbondo(system: System) -> Situbondo:
    system.ensure_running()
    return Situbondo(system)


def archive(system: System, headers: dict[str, str], **params: str) -> zipfile.ZipFile:
    answer = system.api.get(f"{API}/certificate-archives", params=params, headers=headers, timeout=60)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/zip"
    assert "content-length" not in answer.headers  # streamed
    return zipfile.ZipFile(io.BytesIO(answer.content))


def test_a_kecamatan_archive_holds_every_certificate_of_its_cooperatives(running_system: System,
                                                                         situbondo: Situbondo) -> None:
    zipped = archive(running_system, situbondo.operator, district=situbondo.district)
    assert zipped.testzip() is None
    numbers = sorted(number for _, _, number in situbondo.certificates)
    assert sorted(zipped.namelist()) == sorted(number.replace("/", "-") + ".pdf" for number in numbers)
    texts = [pdf_text(zipped.read(name)) for name in zipped.namelist()]
    for name in situbondo.names.values():
        assert sum(name in text for text in texts) == 1, name
    for text in texts:
        assert "SERTIFIKAT" in text and situbondo.venue["name"] in text
        assert f"Kecamatan {situbondo.district_name}" in text and "Kabupaten Situbondo" in text
        assert "sebanyak 8 jam pelajaran (JP)" in text and "Kepala Dinas Koperasi" in text
        assert any(cooperative["name"] in text for cooperative in situbondo.cooperatives)


def test_the_qr_code_of_a_downloaded_certificate_opens_its_verification(running_system: System,
                                                                        situbondo: Situbondo, tmp_path: Path) -> None:
    person = situbondo.teams[0][0]
    own = bearer(running_system, Role.PARTICIPANT, user=person)
    answer = running_system.api.get(f"{API}/certificates/{situbondo.certificate_of[person]}/document", headers=own)
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/pdf"
    text = pdf_text(answer.content)
    # The names certificates kept from the events: nothing looked up with a borrowed identity.
    assert situbondo.names[person] in text and situbondo.cooperatives[0]["name"] in text
    assert situbondo.venue["name"] in text and f"Kecamatan {situbondo.district_name}" in text
    (tmp_path / "c.pdf").write_bytes(answer.content)
    subprocess.run(["pdftoppm", "-r", "150", "-png", "-singlefile", str(tmp_path / "c.pdf"), str(tmp_path / "c")],
                   check=True)
    decoded = subprocess.run(["zbarimg", "--quiet", "--raw", str(tmp_path / "c.png")], capture_output=True,
                             check=True).stdout.decode().strip()
    public_id, = running_system.query("certificates", "SELECT public_id FROM certificates WHERE id = %s",
                                      (situbondo.certificate_of[person],))[0]
    address = decoded.split("#")[0]
    assert address.endswith(f"/api/v1/public/certificates/{public_id}/page")
    # Someone else's certificate is not theirs to download.
    other = situbondo.certificate_of[situbondo.teams[1][0]]
    assert running_system.api.get(f"{API}/certificates/{other}/document", headers=own).status_code == 404


def test_a_cooperative_operator_gets_their_cooperatives_certificates_only(running_system: System,
                                                                          situbondo: Situbondo) -> None:
    mine = situbondo.cooperatives[0]["id"]
    headers = bearer(running_system, Role.COOPERATIVE_OPERATOR, cooperative=mine)
    expected = {situbondo.names[p] for p in situbondo.teams[0]}
    for params in ({"district": situbondo.district}, {"session_id": situbondo.session}, {"cooperative_id": mine}):
        zipped = archive(running_system, headers, **params)
        assert {name for name in situbondo.names.values()
                if any(name in pdf_text(zipped.read(entry)) for entry in zipped.namelist())} == expected, params
    assert archive(running_system, headers, cooperative_id=situbondo.cooperatives[1]["id"]).namelist() == []


def test_another_regency_gets_nothing_of_situbondo(running_system: System, situbondo: Situbondo) -> None:
    outsider = bearer(running_system, Role.REGENCY_ADMIN, regency="35.15")
    for params in ({"district": situbondo.district}, {"session_id": situbondo.session},
                   {"cooperative_id": situbondo.cooperatives[0]["id"]}):
        answer = running_system.api.get(f"{API}/certificate-archives", params=params, headers=outsider)
        assert answer.status_code in (403, 404, 422) or \
            zipfile.ZipFile(io.BytesIO(answer.content)).namelist() == [], params
    any_certificate = next(iter(situbondo.certificate_of.values()))
    assert running_system.api.get(f"{API}/certificates/{any_certificate}/document",
                                  headers=outsider).status_code == 404
    assert running_system.api.get(f"{API}/sessions/{situbondo.session}/certificates.pdf",
                                  headers=outsider).status_code == 404


def test_the_sessions_printable_pdf_has_a_page_per_certificate(running_system: System, situbondo: Situbondo,
                                                               tmp_path: Path) -> None:
    answer = running_system.api.get(f"{API}/sessions/{situbondo.session}/certificates.pdf",
                                    headers=situbondo.operator, timeout=60)
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/pdf"
    (tmp_path / "s.pdf").write_bytes(answer.content)
    info = subprocess.run(["pdfinfo", str(tmp_path / "s.pdf")], capture_output=True, check=True).stdout.decode()
    assert {k: v.strip() for k, _, v in (line.partition(":") for line in info.splitlines())}["Pages"] == "6"
    text = pdf_text(answer.content)
    assert all(name in text for name in situbondo.names.values())


def test_a_cooperative_renamed_after_issuance_leaves_its_certificates_as_issued(running_system: System,
                                                                                situbondo: Situbondo) -> None:
    """Last in this module: it renames one of Situbondo's cooperatives."""
    cooperative = situbondo.cooperatives[1]
    person = situbondo.teams[1][0]
    public_id, = running_system.query("certificates", "SELECT public_id FROM certificates WHERE id = %s",
                                      (situbondo.certificate_of[person],))[0]
    public = running_system.api.get(f"{API}/public/certificates/{public_id}")
    assert ok(public)["cooperative_name"] == cooperative["name"]
    renamed = ok(running_system.api.patch(f"{API}/cooperatives/{cooperative['id']}", headers=situbondo.operator,
                                          json={"name": "Koperasi Produsen Situbondo Makmur"}))
    wait_until(lambda: running_system.count("certificates", "cooperatives", "cooperative_id = %s AND version = %s",
                                            (cooperative["id"], renamed["version"])) == 1, 30,
               message="certificates never learnt of the new name")
    text = pdf_text(running_system.api.get(f"{API}/certificates/{situbondo.certificate_of[person]}/document",
                                           headers=situbondo.operator).content)
    assert cooperative["name"] in text and "Situbondo Makmur" not in text
    assert ok(running_system.api.get(f"{API}/public/certificates/{public_id}"))["cooperative_name"] == \
        cooperative["name"]
    page = running_system.api.get(f"{API}/public/certificates/{public_id}/page").text
    assert cooperative["name"] in page and "Situbondo Makmur" not in page
