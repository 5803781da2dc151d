"""Certificates end to end on the whole stack: completions published to the broker as scheduling
publishes them (each twice, and again as a distinct duplicate event, from several connections at
once) give exactly one signed certificate each; the public JSON and page through the gateway show
it, signed by a published key; an administrator revokes one; a corrected name re-issues another;
an erasure withdraws the name; and a real headless browser (Debian's chromium) opens the
verification address and reads what the page says for a valid, a revoked and a superseded one."""
from __future__ import annotations

import base64
import hashlib
import json
import shutil
import struct
import subprocess
import threading
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from bimtek_gateway.identity import Role
from bimtek_shared.contracts.envelope import EventEnvelope, new_event
from bimtek_shared.persistence.database import sync_url
from bimtek_shared.persistence.messaging_tables import MessagingTables
from certificates.adapters.orm import metadata
from certificates.adapters.pdf import render_certificate
from certificates.service_layer.issuing import document_for
from certificates.service_layer.unit_of_work import CertificatesUnitOfWork
from certificates.settings import CertificatesSettings
from tests.integration.harness import REGENCY, System, participant_body, wait_until

pytestmark = pytest.mark.integration

API = "/api/v1"
OTHER_REGENCY = "35.15"
JAKARTA = ZoneInfo("Asia/Jakarta")


def bearer(system: System, role: Role, regency: str = REGENCY) -> dict[str, str]:
    return system.bearer(role, regency)


def completed(participant_id: str, programme_id: str, session_id: str) -> EventEnvelope:
    return new_event("participant.completed", {
        "participant_id": participant_id, "session_id": session_id, "programme_id": programme_id,
        "programme_title": "Bimtek Perkoperasian KDMP Kabupaten Jombang (uji sertifikat)",
        "session_days": ["2026-03-02", "2026-03-03"], "days_attended": 2, "min_attendance_days": 2, "jp_total": 16,
        "completed_at": datetime.now(timezone.utc).isoformat()}, regency=REGENCY, correlation_id="test-certificates")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def certificates_of(system: System, participant_id: str) -> list[tuple]:
    return system.query("certificates", "SELECT id, public_id, version, status FROM certificates "
                                        "WHERE participant_id = %s ORDER BY version", (participant_id,))


def browser_text(url: str, accept_language: str = "id-ID,id") -> str:
    """The page as Debian's headless chromium renders it (its DOM after scripts and layout), from a
    browser set to Indonesian unless told otherwise."""
    chromium = shutil.which("chromium")
    assert chromium, "Debian's chromium is missing: `make test-tools` installs it"
    result = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
         "--window-size=390,844", "--virtual-time-budget=3000", f"--accept-lang={accept_language}",
         "--dump-dom", url],
        capture_output=True, text=True, timeout=90)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def qr_of(pdf: bytes, folder: Path) -> str:
    """What the QR code on the PDF's page says: the page rendered by poppler, read by zbar."""
    (folder / "certificate.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-png", "-r", "200", "-singlefile", str(folder / "certificate.pdf"),
                    str(folder / "page")], check=True, timeout=60)
    read = subprocess.run(["zbarimg", "--quiet", "--raw", str(folder / "page.png")], capture_output=True, text=True,
                          timeout=60)
    assert read.returncode == 0, read.stderr
    return read.stdout.strip()


def rendered_pdf(system: System, public_id: str) -> bytes:
    settings = CertificatesSettings(certificate_public_base_url=system.stack.gateway_url)
    engine = create_engine(sync_url(system.dsn("certificates")))
    try:
        uow = CertificatesUnitOfWork(
            sessionmaker(engine), MessagingTables(outbox=metadata.tables["outbox"],
                                                  processed_events=metadata.tables["processed_events"]),
            correlation_id="test-certificates", **CertificatesUnitOfWork.dependencies_from_config(
                settings.nameko_config()))
        with uow:
            document = document_for(uow, uow.certificates.by_public_id(public_id))
    finally:
        engine.dispose()
    return render_certificate(document)


def verify_offline(token: str, keys: dict[str, Any]) -> tuple[int, str, int, bytes]:
    """The QR token checked with nothing but the published keys, as a verifier without the
    network would (format: services/certificates/certificates/adapters/signing.py)."""
    prefix, raw = b"BKC1.", unb64url(token.removeprefix("BKC1."))
    claims, signature = raw[:35], raw[35:]
    key_id, public_id, version, digest = struct.unpack(">B16sH16s", claims)
    key = next(k for k in keys["keys"] if k["kid"] == str(key_id))
    Ed25519PublicKey.from_public_bytes(unb64url(key["x"])).verify(signature, prefix + claims)
    return key_id, base64.urlsafe_b64encode(public_id).rstrip(b"=").decode(), version, digest


@pytest.fixture(scope="module")
def public() -> httpx.Client:
    return httpx.Client(timeout=15)  # no bearer: what anyone holding the address has


def test_certificates_issued_once_verified_revoked_reissued_and_erased(running_system: System, public: httpx.Client,
                                                                         tmp_path: Path) -> None:
    system = running_system
    api = system.api  # the session's operator in Jombang
    people = []
    for _ in range(3):
        answer = api.post(f"{API}/participants", json=participant_body())
        assert answer.status_code == 201, answer.text
        people.append(answer.json()["id"])
    valid_one, revoked_one, corrected_one = people
    wait_until(lambda: len(system.query("certificates", "SELECT 1 FROM roster WHERE participant_id = ANY(%s::uuid[])",
                                        (people,))) == 3, timeout=60, message="the roster has the three")

    # Each completion delivered twice as the same message and once more as a distinct duplicate
    # event, from three connections at once.
    programme, session = str(uuid.uuid4()), str(uuid.uuid4())
    first = [completed(person, programme, session) for person in people]
    duplicates = [completed(person, programme, session) for person in people]
    batches = [first + duplicates, list(reversed(first)), duplicates + first]
    threads = [threading.Thread(target=system.publish_as, args=("scheduling", batch)) for batch in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    handled = "SELECT count(*) FROM processed_events WHERE consumer = 'certificates.handle_participant_completed' " \
              "AND event_id = ANY(%s::uuid[])"
    ids = [str(event.event_id) for event in first + duplicates]
    wait_until(lambda: system.query("certificates", handled, (ids,))[0][0] == len(ids), timeout=60,
               message="certificates handled every completion event")
    rows = system.query("certificates", "SELECT participant_id, number, sequence FROM certificates "
                                        "WHERE programme_id = %s", (programme,))
    assert sorted(str(row[0]) for row in rows) == sorted(people)  # exactly one each
    sequences = sorted(row[2] for row in rows)  # counted per regency and year: other tests' came before
    assert sequences == list(range(sequences[0], sequences[0] + 3))  # no gap, no repeat
    year = datetime.now(JAKARTA).year
    assert {row[1] for row in rows} == {f"{row[2]:04d}/BIMTEK-KDMP/{REGENCY}/{year}" for row in rows}

    # Staff list them, a keyset page at a time; another regency sees none of them.
    listed, cursor = [], None
    while True:
        page = api.get(f"{API}/certificates", params={"programme_id": programme, "limit": 2, "sort": "number",
                                                      **({"cursor": cursor} if cursor else {})}).json()
        listed += page["items"]
        if not (cursor := page["next_cursor"]):
            break
    assert [item["number"] for item in listed] == sorted(row[1] for row in rows)
    assert api.get(f"{API}/certificates", params={"programme_id": programme},
                   headers=bearer(system, Role.REGENCY_ADMIN, OTHER_REGENCY)).json()["items"] == []
    assert api.get(f"{API}/certificates", params={"full_name": "x"}).status_code == 422

    # Public verification: no bearer; the signature checks against the published key.
    (_, public_id, _, _), = certificates_of(system, valid_one)
    gateway = system.stack.gateway_url
    shown = public.get(f"{gateway}{API}/public/certificates/{public_id}")
    assert shown.status_code == 200, shown.text
    certificate = shown.json()
    assert certificate["status"] == "valid" and certificate["jp_total"] == 16 and certificate["full_name"]
    assert "nik" not in json.dumps(certificate).lower()
    keys = public.get(f"{gateway}{API}/public/certificate-keys").json()
    key = next(k for k in keys["keys"] if k["kid"] == certificate["signature"]["key_id"])
    Ed25519PublicKey.from_public_bytes(unb64url(key["x"])).verify(
        unb64url(certificate["signature"]["value"]), certificate["signature"]["canonical_data"].encode())
    assert json.loads(certificate["signature"]["canonical_data"])["public_id"] == public_id
    assert certificate["verification_url"] == f"{gateway}{API}/public/certificates/{public_id}/page"
    assert public.get(f"{gateway}{API}/public/certificates/{'x' * 22}").status_code == 404

    # Revocation: administrators of the regency only; the reason and the officer are kept.
    (revoked_id, revoked_public, _, _), = certificates_of(system, revoked_one)
    url = f"{API}/certificates/{revoked_id}/revocation"
    outsider = bearer(system, Role.REGENCY_ADMIN, OTHER_REGENCY)
    assert api.post(url, json={"reason": "Data kehadiran dipalsukan"}).status_code == 403  # an operator
    assert api.post(url, json={"reason": "Data kehadiran dipalsukan"}, headers=outsider).status_code == 404
    assert api.get(f"{API}/certificates/{revoked_id}", headers=outsider).status_code == 404
    revoked = api.post(url, json={"reason": "Data kehadiran dipalsukan"},
                       headers=bearer(system, Role.REGENCY_ADMIN))
    assert revoked.status_code == 200, revoked.text
    assert [entry["action"] for entry in revoked.json()["history"]] == ["issued", "revoked"]
    shown = public.get(f"{gateway}{API}/public/certificates/{revoked_public}").json()
    assert shown["status"] == "revoked" and shown["revoked_reason"] == "Data kehadiran dipalsukan"

    # A corrected name re-issues: same number, version 2, the old address says superseded.
    assert api.patch(f"{API}/participants/{corrected_one}", json={"full_name": "Nama Dibetulkan"}).status_code == 200
    def reissued() -> list[tuple] | None:
        versions = certificates_of(system, corrected_one)
        return versions if len(versions) == 2 else None

    versions = wait_until(reissued, timeout=60, message="the correction re-issued the certificate")
    (_, old_public, _, old_status), (_, new_public, new_version, new_status) = versions
    assert (old_status, new_version, new_status) == ("superseded", 2, "valid")
    old = public.get(f"{gateway}{API}/public/certificates/{old_public}").json()
    new = public.get(f"{gateway}{API}/public/certificates/{new_public}").json()
    assert old["superseded_by"] == new_public and new["number"] == old["number"]
    assert new["full_name"] == "Nama Dibetulkan"

    # Scheduling took every certificate event.
    emitted = [str(event_id) for (event_id,) in system.query(
        "certificates", "SELECT event_id FROM outbox WHERE aggregate_id = ANY(%s)", (people,))]
    assert len(emitted) == 5  # three issued, one revoked, one re-issued
    taken = "SELECT count(*) FROM processed_events WHERE consumer LIKE 'scheduling.handle_certificate_%%' " \
            "AND event_id = ANY(%s::uuid[])"
    wait_until(lambda: system.query("scheduling", taken, (emitted,))[0][0] == 5, timeout=60,
               message="scheduling consumed certificates' events")

    # The PDF's QR code: the verification address, and the signed token after '#' (a fragment, so
    # it never reaches a server), checked offline against the published key. The document is built
    # from the stored certificate and rendered by the service's own renderer, here in the test: the
    # gateway's PDF route also needs scheduling's names of a real session, which these synthetic
    # completions do not have.
    address, _, token = qr_of(rendered_pdf(system, public_id), tmp_path).partition("#")
    assert address == certificate["verification_url"]
    key_id, token_public_id, version, digest = verify_offline(token, keys)
    assert (str(key_id), token_public_id, version) == (certificate["signature"]["key_id"], public_id, 1)
    assert digest == hashlib.sha256(certificate["signature"]["canonical_data"].encode()).digest()[:16]
    tampered = token[:-10] + ("A" if token[-10] != "A" else "B") + token[-9:]
    with pytest.raises(InvalidSignature):
        verify_offline(tampered, keys)

    # In a real browser, at the address the QR code carries.
    page = browser_text(address)
    assert 'data-status="valid"' in page and "SAH" in page and certificate["number"] in page
    page = browser_text(shown["verification_url"])
    assert 'data-status="revoked"' in page and "DICABUT" in page and "Data kehadiran dipalsukan" in page
    english = browser_text(shown["verification_url"], accept_language="en-US,en")
    assert 'lang="en"' in english and "REVOKED" in english and "Reason: Data kehadiran dipalsukan" in english
    page = browser_text(old["verification_url"])
    assert 'data-status="superseded"' in page and "DIGANTI" in page
    assert f"/api/v1/public/certificates/{new_public}/page" in page
    assert "Nama Dibetulkan" in browser_text(new["verification_url"])

    # An erasure: still verifiable, without the personal fields.
    erased = api.post(f"{API}/participants/{valid_one}/erasure", headers=bearer(system, Role.REGENCY_ADMIN))
    assert erased.status_code == 200, erased.text

    def withdrawn() -> dict[str, Any] | None:
        answer = public.get(f"{gateway}{API}/public/certificates/{public_id}").json()
        return answer if answer["personal_data_erased"] else None

    after = wait_until(withdrawn, timeout=60, message="the erasure reached the certificate")
    assert after["full_name"] is None and after["position"] is None
    assert after["status"] == "valid" and after["signature"]["valid"] and after["number"] == certificate["number"]
    assert certificate["full_name"] not in browser_text(certificate["verification_url"])
