"""The certificate PDF, read back by real tools: its text by ``pdftotext``, its QR code by
``zbarimg`` off a rendered page (Debian poppler-utils and zbar-tools; ``.ci/run`` installs them)."""
from __future__ import annotations

import dataclasses
import io
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest

from reportlab.graphics.barcode.qrencoder import QRCode, QRErrorCorrectLevel

from certificates.adapters.pdf import (
    NotRenderable,
    _codewords,
    days_in_words,
    position_in_words,
    qr_payload,
    render_certificate,
    render_certificates,
    render_session_pdf,
)
from certificates.domain.document import CertificateDocument, Signatory

TOKEN = "AQ.eyJuIjoiMDAwMS9CSU1URUstS0RNUC8zNS4xNy8yMDI1In0.c2lnbmF0dXJlLW9mLXNpeHR5LWZvdXItYnl0ZXMtZm9yLWVkMjU1MTk"
DOC = CertificateDocument(
    number="0001/BIMTEK-KDMP/35.17/2025",
    participant_name="Ni Luh Putu Ayu Ṣaraswati",
    position_group="pengurus",
    position="wakil_ketua_usaha",
    cooperative_name="Koperasi Desa Merah Putih Banjardowo",
    village_name="Banjardowo",
    district_name="Jombang",
    regency_name="Kabupaten Jombang",
    programme_title="Bimtek Perkoperasian KDMP Kabupaten Jombang 2025",
    days=(date(2025, 10, 1), date(2025, 10, 2), date(2025, 10, 3)),
    venue_name="Aula Dinas Koperasi Kabupaten Jombang",
    total_hours=24,
    signatories=(
        Signatory("Dr. H. Ahmad Fauzi, M.Si.", "Kepala Dinas Koperasi dan Usaha Mikro Kabupaten Jombang",
                  "19700101 199503 1 001"),
        Signatory("Ir. Sri Wahyuni", "Ketua Panitia Pelaksana"),
    ),
    verification_url="https://bimtek.example.id/api/v1/public/certificates/c_7Hq2mZ/page",
    qr_token=TOKEN,
    issued_on=date(2025, 10, 4),
)

needs_poppler = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils missing: run .ci/run")
needs_zbar = pytest.mark.skipif(shutil.which("zbarimg") is None, reason="zbar-tools missing: run .ci/run")


def pdf_text(pdf: bytes) -> str:
    """The text as a reader would copy it, lines joined: wrapping is layout, not content."""
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    return " ".join(text.split())


def decoded_qr_codes(pdf: bytes, tmp_path: Path, page: int = 1) -> list[str]:
    (tmp_path / "certificate.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "150", "-png", "-f", str(page), "-l", str(page), "-singlefile",
                    str(tmp_path / "certificate.pdf"), str(tmp_path / "page")], check=True)
    scanned = subprocess.run(["zbarimg", "--quiet", "--raw", str(tmp_path / "page.png")], capture_output=True)
    assert scanned.returncode == 0, scanned.stderr
    return scanned.stdout.decode().split("\n")[:-1]


@needs_poppler
def test_the_pdf_states_every_field_in_bahasa_indonesia() -> None:
    text = pdf_text(render_certificate(DOC))
    for expected in (
        "SERTIFIKAT", "Nomor: 0001/BIMTEK-KDMP/35.17/2025", "diberikan kepada", "Ni Luh Putu Ayu Ṣaraswati",
        "Wakil Ketua Bidang Usaha (Pengurus) Koperasi Desa Merah Putih Banjardowo",
        "Desa/Kelurahan Banjardowo, Kecamatan Jombang, Kabupaten Jombang", "telah mengikuti",
        "Bimtek Perkoperasian KDMP Kabupaten Jombang 2025", "pada 1–3 Oktober 2025",
        "di Aula Dinas Koperasi Kabupaten Jombang", "sebanyak 24 jam pelajaran (JP)", "Diterbitkan 4 Oktober 2025",
        "Kepala Dinas Koperasi dan Usaha Mikro Kabupaten Jombang", "Dr. H. Ahmad Fauzi, M.Si.",
        "NIP 19700101 199503 1 001", "Ketua Panitia Pelaksana", "Ir. Sri Wahyuni",
    ):
        assert expected in text, expected


@needs_poppler
@pytest.mark.parametrize("name", [
    "Ni Luh Putu Ayu Ṣ",
    "I Gusti Ngurah Rai'an",
    "Nur'aini Ma’ruf",
    "Raden Ajeng Siti Khadījah Ḥasanah",
    "Bérnadètte Ñoviana Çahyaningrum",
    "Muhammad",  # a single name, as many Indonesians have
])
def test_any_indonesian_spelling_of_a_name_is_embedded_and_extractable(name: str) -> None:
    pdf = render_certificate(dataclasses.replace(DOC, participant_name=name))
    assert name in pdf_text(pdf)
    assert b"/FontFile2" in pdf  # the TrueType font travels inside the file


@needs_poppler
def test_a_very_long_name_wraps_or_shrinks_and_is_printed_whole() -> None:
    name = ("Raden Mas Haji Muhammad Abdurrahman Wahyu Kusumaningrat Prawirodirdjo Hadiningrat "
            "Soerjosoemarno Tjokroadisoerjo Mangkunegoro")
    text = pdf_text(render_certificate(dataclasses.replace(DOC, participant_name=name)))
    assert name in text


@needs_poppler
@needs_zbar
def test_the_qr_code_decodes_to_the_verification_address_carrying_the_token(tmp_path: Path) -> None:
    codes = decoded_qr_codes(render_certificate(DOC), tmp_path)
    assert codes == [f"{DOC.verification_url}#{TOKEN}"]
    assert codes == [qr_payload(DOC)]


@pytest.mark.parametrize("payload", ["a", "https://x.id/v/abc", qr_payload(DOC), "é" * 300, "9" * 1000])
def test_the_fast_error_correction_gives_reportlabs_codewords(payload: str) -> None:
    code = QRCode(None, QRErrorCorrectLevel.M)
    code.addData(payload)
    code.version = code.calculate_version()
    assert _codewords(code) == QRCode.createData(code.version, code.errorCorrectLevel, code.dataList)


def test_a_verification_address_that_already_holds_the_token_is_encoded_as_it_is() -> None:
    doc = dataclasses.replace(DOC, verification_url=f"https://bimtek.example.id/v/{TOKEN}")
    assert qr_payload(doc) == doc.verification_url


def test_a_certificate_is_small() -> None:
    sizes = [len(render_certificate(dataclasses.replace(DOC, participant_name=name)))
             for name in ("Ani", "Ni Luh Putu Ayu Ṣaraswati Dewi Kusumawardhani")]
    assert max(sizes) < 150_000


def test_an_erased_participant_is_not_printed() -> None:
    erased = dataclasses.replace(DOC, participant_name=None)
    with pytest.raises(NotRenderable):
        render_certificate(erased)
    batch = render_certificates([DOC, erased])
    assert batch[0] is not None and batch[0].startswith(b"%PDF") and batch[1] is None


@needs_poppler
@needs_zbar
def test_a_session_pdf_has_a_page_per_certificate_each_with_its_own_qr_code(tmp_path: Path) -> None:
    docs = [dataclasses.replace(DOC, number=f"{n:04d}/BIMTEK-KDMP/35.17/2025", participant_name=f"Peserta Nomor {n}",
                                verification_url=f"https://bimtek.example.id/api/v1/public/certificates/c{n}/page")
            for n in range(1, 4)]
    target = io.BytesIO()
    assert render_session_pdf([*docs, dataclasses.replace(DOC, participant_name=None)], target) == 3
    pdf = target.getvalue()
    (tmp_path / "session.pdf").write_bytes(pdf)
    info = subprocess.run(["pdfinfo", str(tmp_path / "session.pdf")], capture_output=True, check=True).stdout.decode()
    fields = {key: value.strip() for key, _, value in (line.partition(":") for line in info.splitlines())}
    assert fields["Pages"] == "3"
    assert fields["Page size"] == "841.89 x 595.276 pts (A4)"  # landscape
    text = pdf_text(pdf)
    assert all(f"Peserta Nomor {n}" in text for n in range(1, 4))
    assert decoded_qr_codes(pdf, tmp_path, page=2) == [qr_payload(docs[1])]
    # The frame is drawn once and reused: three pages cost far less than three files.
    assert len(pdf) < 2 * len(render_certificate(docs[0]))


@pytest.mark.parametrize(("days", "words"), [
    ((date(2025, 10, 1),), "1 Oktober 2025"),
    ((date(2025, 10, 1), date(2025, 10, 2), date(2025, 10, 3)), "1–3 Oktober 2025"),
    ((date(2025, 9, 30), date(2025, 10, 1)), "30 September–1 Oktober 2025"),
    ((date(2025, 12, 31), date(2026, 1, 1)), "31 Desember 2025–1 Januari 2026"),
    ((date(2025, 10, 6), date(2025, 10, 8), date(2025, 10, 10)), "6, 8 dan 10 Oktober 2025"),
    ((date(2025, 9, 29), date(2025, 10, 1), date(2025, 10, 3)), "29 September 2025 dan 1, 3 Oktober 2025"),
])
def test_days_in_indonesian(days: tuple[date, ...], words: str) -> None:
    assert days_in_words(days) == words


@pytest.mark.parametrize(("group", "position", "words"), [
    ("pengurus", "ketua", "Ketua (Pengurus)"),
    ("pengurus", "wakil_ketua_keanggotaan", "Wakil Ketua Bidang Keanggotaan (Pengurus)"),
    ("pengurus", "anggota_pengurus", "Anggota Pengurus"),
    ("pengawas", "ketua_pengawas", "Ketua Pengawas"),
    ("pengawas", None, "Pengawas"),
])
def test_positions_in_words(group: str, position: str | None, words: str) -> None:
    assert position_in_words(group, position) == words
