"""The public verification page of a certificate: one small HTML document, inline CSS, nothing
fetched from elsewhere, readable on a phone; Bahasa Indonesia, or English. Every value is escaped
(names are what people typed)."""
from __future__ import annotations

from datetime import date, datetime
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from bimtek_shared.contracts.wording import POSITION_TITLES, long_date

JAKARTA = ZoneInfo("Asia/Jakarta")
WORDS = {
    "id": {
        "title": "Verifikasi Sertifikat Bimtek KDMP", "valid": "SAH", "revoked": "DICABUT",
        "superseded": "DIGANTI", "valid_note": "Sertifikat ini sah dan berlaku.",
        "revoked_note": "Sertifikat ini telah dicabut pada {date}. Alasan: {reason}",
        "superseded_note": "Sertifikat ini telah diganti dengan versi yang lebih baru.",
        "current": "Lihat sertifikat yang berlaku", "number": "Nomor", "name": "Nama", "position": "Jabatan",
        "group": "Kelompok", "cooperative": "Koperasi", "cooperative_id": "Koperasi (id)",
        "programme": "Program", "days": "Tanggal pelaksanaan",
        "attended": "Hari hadir", "jp": "Jumlah JP", "issued": "Tanggal terbit", "version": "Versi",
        "regency": "Kode kabupaten/kota", "erased": "Data pribadi telah dihapus atas permintaan pemiliknya.",
        "signature": "Tanda tangan digital", "signature_ok": "Tanda tangan digital sah (kunci {key}).",
        "signature_bad": "Tanda tangan digital TIDAK sah.",
        "compare": "Cocokkan data di atas dengan sertifikat cetak: perbedaan berarti sertifikat telah diubah.",
        "other": "English", "not_found": "Sertifikat tidak ditemukan.",
        "not_found_note": "Periksa kembali alamat atau kode QR-nya.",
        "pengurus": "Pengurus", "pengawas": "Pengawas",
    },
    "en": {
        "title": "Bimtek KDMP Certificate Verification", "valid": "VALID", "revoked": "REVOKED",
        "superseded": "SUPERSEDED", "valid_note": "This certificate is genuine and valid.",
        "revoked_note": "This certificate was revoked on {date}. Reason: {reason}",
        "superseded_note": "This certificate was replaced by a newer version.",
        "current": "See the current certificate", "number": "Number", "name": "Name", "position": "Position",
        "group": "Group", "cooperative": "Cooperative", "cooperative_id": "Cooperative (id)",
        "programme": "Programme", "days": "Training days",
        "attended": "Days attended", "jp": "Lesson hours (JP)", "issued": "Issued on", "version": "Version",
        "regency": "Regency code", "erased": "Personal data was erased at the holder's request.",
        "signature": "Digital signature", "signature_ok": "The digital signature is valid (key {key}).",
        "signature_bad": "The digital signature is NOT valid.",
        "compare": "Compare the data above with the printed certificate: any difference means it was altered.",
        "other": "Bahasa Indonesia", "not_found": "Certificate not found.",
        "not_found_note": "Check the address or its QR code again.",
        "pengurus": "Board (pengurus)", "pengawas": "Supervisor (pengawas)",
    },
}
_COLOURS = {"valid": "#1b7a3a", "revoked": "#b3261e", "superseded": "#8a5a00"}
_STYLE = (
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;background:#f4f4f4;color:#222}"
    "main{max-width:40rem;margin:0 auto;padding:1rem}h1{font-size:1.25rem;margin:.5rem 0 1rem}"
    ".status{color:#fff;border-radius:.5rem;padding:1rem;margin-bottom:1rem}.status strong{font-size:1.5rem;"
    "display:block}dl{background:#fff;border-radius:.5rem;padding:1rem;margin:0 0 1rem}dt{font-size:.8rem;"
    "color:#555;margin-top:.6rem}dd{margin:0;font-size:1.05rem;overflow-wrap:anywhere}p{line-height:1.4}"
    "a{color:#0b57d0}.note{font-size:.9rem;color:#444}"
)


def _long_date(day: date, language: str) -> str:
    return long_date(day, language)


def _page(language: str, body: str, switch_to: str) -> str:
    words = WORDS[language]
    return (f'<!DOCTYPE html><html lang="{language}"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<meta name="robots" content="noindex">'
            f"<title>{escape(words['title'])}</title><style>{_STYLE}</style></head><body><main>"
            f"<h1>{escape(words['title'])}</h1>{body}"
            f'<p class="note"><a href="{escape(switch_to)}">{escape(words["other"])}</a></p>'
            "</main></body></html>")


def not_found_page(language: str, switch_to: str) -> str:
    words = WORDS[language]
    return _page(language, f'<div class="status" style="background:#555"><strong>{escape(words["not_found"])}'
                           f'</strong>{escape(words["not_found_note"])}</div>', switch_to)


def certificate_page(certificate: dict[str, Any], language: str, *, current_url: str | None,
                     switch_to: str) -> str:
    """``certificate`` is the public JSON answer; ``current_url`` the page of the version that
    replaced this one, if any."""
    words = WORDS[language]
    status = certificate["status"]
    if status == "revoked":
        revoked_at = datetime.fromisoformat(str(certificate["revoked_at"])).astimezone(JAKARTA).date()
        note = words["revoked_note"].format(date=_long_date(revoked_at, language),
                                            reason=certificate["revoked_reason"] or "-")
    else:
        note = words[f"{status}_note"]
    status_html = (f'<div class="status" id="status" data-status="{escape(status)}" '
                   f'style="background:{_COLOURS[status]}"><strong>{escape(words[status])}</strong>{escape(note)}')
    if status == "superseded" and current_url:
        status_html += f'<br><a style="color:#fff" href="{escape(current_url)}">{escape(words["current"])}</a>'
    status_html += "</div>"

    days = [date.fromisoformat(str(day)) for day in certificate["session_days"]]
    issued = datetime.fromisoformat(str(certificate["issued_at"])).astimezone(JAKARTA).date()
    fields: list[tuple[str, str]] = [(words["number"], certificate["number"])]
    if certificate["personal_data_erased"]:
        fields.append((words["name"], words["erased"]))
    else:
        fields.append((words["name"], certificate["full_name"] or "-"))
        position = certificate.get("position")
        fields.append((words["position"], POSITION_TITLES.get(position, position or "-")))
    fields += [
        (words["group"], words.get(certificate["position_group"], certificate["position_group"])),
        # The name when certificates knows it (as printed), else the id.
        (words["cooperative"], certificate["cooperative_name"]) if certificate.get("cooperative_name")
        else (words["cooperative_id"], certificate.get("cooperative_id") or "-"),
        (words["programme"], certificate["programme_title"]),
        (words["days"], ", ".join(_long_date(day, language) for day in days)),
        (words["attended"], str(certificate["days_attended"])),
        (words["jp"], str(certificate["jp_total"])),
        (words["regency"], certificate["regency"]),
        (words["issued"], _long_date(issued, language)),
        (words["version"], str(certificate["version"])),
    ]
    signature = certificate["signature"]
    signed = (words["signature_ok"].format(key=signature["key_id"]) if signature["valid"]
              else words["signature_bad"])
    fields.append((words["signature"], signed))
    listing = "".join(f"<dt>{escape(label)}</dt><dd>{escape(str(value))}</dd>" for label, value in fields)
    return _page(language, f'{status_html}<dl id="certificate">{listing}</dl>'
                           f'<p class="note">{escape(words["compare"])}</p>', switch_to)
