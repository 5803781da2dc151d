"""The read-only progress dashboard's page: a static shell in Bahasa Indonesia or English. It
holds no figures and no personal data; its script (``dashboard_assets/dashboard.js``) signs the
official in and draws the tables and charts from ``GET /api/v1/progress``."""
from __future__ import annotations

import json
from html import escape

# Nothing but this gateway's own script, style and API; no inline script or style, no frames.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
DASHBOARD_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Cache-Control": "no-cache",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}

# The table's columns: (figure in the API's answer, heading key).
COLUMNS = (
    ("villages", "villages"), ("cooperatives_registered", "cooperatives"),
    ("participants_registered", "registered"), ("participants_scheduled", "scheduled"),
    ("participants_checked_in", "checked_in"), ("participants_completed", "completed"),
    ("certificates_issued", "certified"),
)
WORDS = {
    "id": {
        "title": "Kemajuan Bimtek KDMP", "other": "English", "username": "Nama pengguna", "password": "Kata sandi",
        "sign_in": "Masuk", "sign_out": "Keluar", "sign_in_note": "Halaman ini hanya untuk petugas. Masuk dengan akun "
        "Anda; token disimpan di tab ini saja.", "province": "Provinsi (semua kabupaten/kota)",
        "district": "Kecamatan", "regency": "Kabupaten/Kota", "villages": "Desa/Kel.", "cooperatives": "Koperasi",
        "registered": "Peserta terdaftar", "scheduled": "Terjadwal", "checked_in": "Hadir", "completed": "Lulus",
        "certified": "Bersertifikat", "total": "Jumlah", "per_area": "Per wilayah", "chart": "Grafik peserta",
        "coverage": "Koperasi terbentuk dibanding desa/kelurahan", "upcoming": "Sesi mendatang",
        "session": "Sesi", "days": "Tanggal", "venue": "Tempat", "seats": "Kursi terisi",
        "no_sessions": "Tidak ada sesi mendatang.", "loading": "Memuat…", "updated": "Diperbarui",
        "failed": "Data tidak dapat dimuat.", "bad_sign_in": "Nama pengguna atau kata sandi salah.",
        "not_counted": "tidak tersedia", "revoked": "Dicabut", "reissued": "Diterbitkan ulang",
        "awaiting": "Menunggu terbit", "noscript": "Halaman ini memerlukan JavaScript.",
    },
    "en": {
        "title": "Bimtek KDMP Progress", "other": "Bahasa Indonesia", "username": "Username", "password": "Password",
        "sign_in": "Sign in", "sign_out": "Sign out", "sign_in_note": "For officials only. Sign in with your account; "
        "the token is kept in this tab only.", "province": "Province (every regency)",
        "district": "Kecamatan", "regency": "Regency", "villages": "Villages", "cooperatives": "Cooperatives",
        "registered": "Registered", "scheduled": "Scheduled", "checked_in": "Attended", "completed": "Completed",
        "certified": "Certified", "total": "Total", "per_area": "Per area", "chart": "Participants chart",
        "coverage": "Cooperatives formed against villages", "upcoming": "Upcoming sessions",
        "session": "Session", "days": "Days", "venue": "Venue", "seats": "Seats taken",
        "no_sessions": "No upcoming sessions.", "loading": "Loading…", "updated": "Updated",
        "failed": "The figures could not be loaded.", "bad_sign_in": "Wrong username or password.",
        "not_counted": "not available", "revoked": "Revoked", "reissued": "Re-issued",
        "awaiting": "Awaiting issue", "noscript": "This page needs JavaScript.",
    },
}
ASSETS = "/dashboard/assets"


def dashboard_page(language: str, regency: str | None, switch_to: str) -> str:
    """The page for one regency (or, with none, the caller's own or the province)."""
    words = WORDS[language]
    head = "".join(f'<th scope="col" data-column="{figure}">{escape(words[key])}</th>' for figure, key in COLUMNS)
    # Words the script needs; a JSON data block is not executed, so the CSP allows it. "<" is
    # escaped so no value can close the element.
    data = json.dumps({"words": words, "columns": [figure for figure, _ in COLUMNS], "regency": regency,
                       "language": language}).replace("<", "\\u003c")
    return (
        f'<!DOCTYPE html><html lang="{language}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex">'
        f"<title>{escape(words['title'])}</title>"
        f'<link rel="stylesheet" href="{ASSETS}/dashboard.css"><script src="{ASSETS}/dashboard.js" defer></script>'
        f'<script type="application/json" id="dashboard-data">{data}</script></head><body><main>'
        f'<header><h1>{escape(words["title"])}</h1><p id="scope"></p>'
        f'<nav><a href="{escape(switch_to)}">{escape(words["other"])}</a> '
        f'<button type="button" id="sign-out" hidden>{escape(words["sign_out"])}</button></nav></header>'
        f'<noscript><p>{escape(words["noscript"])}</p></noscript>'
        '<form id="sign-in" hidden>'
        f'<p>{escape(words["sign_in_note"])}</p>'
        f'<label>{escape(words["username"])} <input name="username" autocomplete="username" required></label>'
        f'<label>{escape(words["password"])} <input name="password" type="password" '
        'autocomplete="current-password" required></label>'
        f'<button type="submit">{escape(words["sign_in"])}</button><p id="sign-in-error" role="alert"></p></form>'
        '<p id="status" role="status"></p>'
        '<section id="progress" hidden><ul id="problems"></ul><div id="totals" class="cards"></div>'
        f'<h2>{escape(words["per_area"])}</h2><div class="scroll"><table id="areas"><thead><tr>'
        f'<th scope="col" id="area-heading"></th>{head}</tr></thead><tbody></tbody><tfoot></tfoot></table></div>'
        f'<h2>{escape(words["chart"])}</h2><figure id="chart"></figure>'
        f'<h2>{escape(words["coverage"])}</h2><figure id="coverage"></figure>'
        f'<h2>{escape(words["upcoming"])}</h2><div class="scroll"><table id="sessions"><thead><tr>'
        f'<th scope="col">{escape(words["session"])}</th><th scope="col">{escape(words["days"])}</th>'
        f'<th scope="col">{escape(words["district"])}</th><th scope="col">{escape(words["venue"])}</th>'
        f'<th scope="col">{escape(words["seats"])}</th></tr></thead><tbody></tbody></table></div>'
        '<p id="updated" class="note"></p></section></main></body></html>'
    )
