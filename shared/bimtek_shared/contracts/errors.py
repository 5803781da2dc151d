"""Error codes shared by the services and the gateway, with their messages in Bahasa Indonesia and English.

Services raise :class:`DomainError` with a code from :data:`ERRORS`; nameko carries the exception's
``args`` over the wire and the gateway turns the code back into an RFC 9457 problem with the status
and the message in the caller's language. Keeping codes and messages here means a new error is
defined once, for every service and the gateway.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class ContractViolation(ValueError):
    """An event or message does not match its contract (a bug or a hostile message, never retried)."""


@dataclass(frozen=True)
class ErrorSpec:
    status: int
    id: str  # Bahasa Indonesia (the default)
    en: str


ERRORS: dict[str, ErrorSpec] = {
    "validation_failed": ErrorSpec(422, "Data yang dikirim tidak valid.", "The submitted data is invalid."),
    "not_found": ErrorSpec(404, "Data tidak ditemukan.", "Not found."),
    "participant_not_found": ErrorSpec(404, "Peserta tidak ditemukan.", "Participant not found."),
    "participant_already_registered": ErrorSpec(
        409, "NIK ini sudah terdaftar sebagai peserta.", "This NIK is already registered as a participant."
    ),
    "nik_invalid": ErrorSpec(422, "NIK tidak valid: {reason}.", "Invalid NIK: {reason}."),
    "position_taken": ErrorSpec(
        409, "Jabatan {position} di koperasi ini sudah dipegang peserta lain.",
        "Another participant of this cooperative already holds the position {position}.",
    ),
    "participant_not_active": ErrorSpec(
        409, "Peserta ini sudah tidak aktif (mengundurkan diri atau diganti).",
        "This participant is no longer active (withdrawn or substituted).",
    ),
    "participant_erased": ErrorSpec(
        410, "Data pribadi peserta ini sudah dihapus atas permintaannya.",
        "This participant's personal data was erased at their request.",
    ),
    "regency_out_of_scope": ErrorSpec(
        403, "Anda tidak berwenang atas kabupaten/kota ini.", "You are not authorised for this regency."
    ),
    "unauthenticated": ErrorSpec(401, "Silakan masuk terlebih dahulu.", "Please sign in first."),
    # One answer for every way a sign-in can fail (password, or participant code and date of birth).
    "invalid_credentials": ErrorSpec(
        401, "Data untuk masuk salah. Periksa kembali lalu coba lagi.",
        "The sign-in details are wrong. Check them and try again.",
    ),
    "invalid_refresh_token": ErrorSpec(
        401, "Sesi Anda telah berakhir. Silakan masuk kembali.", "Your session has ended. Please sign in again."
    ),
    "device_token_not_accepted": ErrorSpec(
        403, "Token perangkat tidak dapat dipakai untuk tindakan ini.", "A device token cannot be used for this."
    ),
    "device_token_required": ErrorSpec(
        403, "Tindakan ini hanya untuk perangkat presensi.", "Only check-in devices may do this."
    ),
    "device_token_outside_dates": ErrorSpec(
        401, "Token perangkat ini tidak berlaku hari ini.", "This device token is not valid today."
    ),
    "device_out_of_scope": ErrorSpec(
        403, "Perangkat ini tidak berwenang untuk sesi atau tempat ini.",
        "This device is not authorised for this session or venue.",
    ),
    "role_out_of_scope": ErrorSpec(
        403, "Anda tidak berwenang memberikan peran ini.", "You may not assign this role."
    ),
    "user_not_found": ErrorSpec(404, "Pengguna tidak ditemukan.", "User not found."),
    "username_taken": ErrorSpec(409, "Nama pengguna ini sudah dipakai.", "This username is already taken."),
    "forbidden": ErrorSpec(403, "Anda tidak memiliki akses untuk tindakan ini.", "You may not do this."),
    "service_unavailable": ErrorSpec(
        503,
        "Layanan {service} sedang tidak tersedia. Silakan coba lagi nanti.",
        "The {service} service is unavailable. Please try again later.",
    ),
    "service_timeout": ErrorSpec(
        504,
        "Layanan {service} tidak menjawab tepat waktu. Silakan coba lagi.",
        "The {service} service did not answer in time. Please try again.",
    ),
    "internal_error": ErrorSpec(
        500, "Terjadi kesalahan pada sistem. Kode permintaan: {request_id}.",
        "Something went wrong. Request id: {request_id}.",
    ),
    "job_not_found": ErrorSpec(404, "Pekerjaan tidak ditemukan.", "Job not found."),
    # Bulk import from a file: the file as a whole, then a row's cell ({column}: its heading).
    "import_file_format_unsupported": ErrorSpec(
        415, "Format berkas tidak didukung. Simpan sebagai XLSX atau CSV lalu unggah kembali.",
        "This file format is not supported. Save it as XLSX or CSV and upload it again.",
    ),
    "import_file_unreadable": ErrorSpec(
        422, "Berkas tidak dapat dibaca sebagai {file_format}: {reason}.",
        "The file cannot be read as {file_format}: {reason}.",
    ),
    "import_file_empty": ErrorSpec(
        422, "Berkas tidak berisi satu pun baris peserta.", "The file holds no participant rows.",
    ),
    "import_too_many_rows": ErrorSpec(
        422, "Berkas berisi lebih dari {limit} baris peserta; bagi menjadi beberapa berkas.",
        "The file holds more than {limit} participant rows; split it into several files.",
    ),
    "import_column_missing": ErrorSpec(
        422, "Kolom {column} tidak ada di baris judul (baris 1).", "Column {column} is missing from the heading row (row 1).",
    ),
    "import_column_unknown": ErrorSpec(
        422, "Kolom {column} tidak dikenal. Kolom yang diterima: {accepted}.",
        "Column {column} is not known. Accepted columns: {accepted}.",
    ),
    "import_column_repeated": ErrorSpec(
        422, "Kolom {column} ada lebih dari satu kali.", "Column {column} appears more than once.",
    ),
    "import_value_required": ErrorSpec(422, "Kolom {column} wajib diisi.", "Column {column} must be filled in."),
    "import_value_invalid": ErrorSpec(
        422, "Isi kolom {column} tidak valid: {reason}.", "The value in column {column} is invalid: {reason}.",
    ),
    "import_nik_repeated": ErrorSpec(
        422, "NIK ini sudah ada di baris {other_row} berkas ini.", "This NIK is already in row {other_row} of this file.",
    ),
    "import_position_repeated": ErrorSpec(
        422, "Jabatan {title} untuk koperasi desa {village} sudah diisi di baris {other_row}.",
        "The position of {title} in the cooperative of village {village} is already given in row {other_row}.",
    ),
    "import_position_held": ErrorSpec(
        409, "Jabatan {title} di koperasi desa {village} sudah dipegang peserta yang terdaftar.",
        "The position of {title} in the cooperative of village {village} is already held by a registered participant.",
    ),
    "region_not_found": ErrorSpec(404, "Wilayah tidak ditemukan.", "Region not found."),
    "cooperative_not_found": ErrorSpec(404, "Koperasi tidak ditemukan.", "Cooperative not found."),
    "village_not_found": ErrorSpec(
        422, "Desa/kelurahan {village} tidak ada dalam data wilayah.",
        "Village {village} is not in the region reference data.",
    ),
    "village_out_of_regency": ErrorSpec(
        422, "Desa/kelurahan {village} tidak berada di kabupaten/kota {regency}.",
        "Village {village} does not lie in regency {regency}.",
    ),
    "village_taken": ErrorSpec(
        409, "Desa/kelurahan {village} sudah dilayani oleh koperasi lain.",
        "Village {village} is already served by another cooperative.",
    ),
    "method_not_allowed": ErrorSpec(405, "Metode tidak diizinkan.", "Method not allowed."),
    "payload_too_large": ErrorSpec(
        413, "Data yang dikirim terlalu besar (maksimum {limit} bita).",
        "The request body is too large (at most {limit} bytes).",
    ),
    "idempotency_key_invalid": ErrorSpec(
        400, "Header Idempotency-Key tidak valid: harus 1 sampai 255 karakter ASCII yang dapat dicetak.",
        "The Idempotency-Key header is invalid: it must be 1 to 255 printable ASCII characters.",
    ),
    "idempotency_key_reused": ErrorSpec(
        422, "Idempotency-Key ini sudah dipakai untuk permintaan lain. Gunakan kunci baru untuk permintaan baru.",
        "This Idempotency-Key was already used for a different request. Use a new key for a new request.",
    ),
    "idempotency_request_in_flight": ErrorSpec(
        409, "Permintaan dengan Idempotency-Key ini masih diproses. Silakan coba lagi sebentar lagi.",
        "A request with this Idempotency-Key is still being processed. Please try again shortly.",
    ),
    "rate_limited": ErrorSpec(
        429, "Terlalu banyak permintaan. Silakan coba lagi dalam {retry_after} detik.",
        "Too many requests. Please try again in {retry_after} seconds.",
    ),
    "invalid_cursor": ErrorSpec(
        422, "Penanda halaman (cursor) tidak valid atau dibuat untuk urutan lain. Mulailah dari halaman pertama.",
        "The page cursor is invalid or was made for another sort order. Start again from the first page.",
    ),
    # Programmes, venues, resource persons and their plans (scheduling).
    "programme_not_found": ErrorSpec(404, "Program pelatihan tidak ditemukan.", "Training programme not found."),
    "venue_not_found": ErrorSpec(404, "Tempat pelatihan tidak ditemukan.", "Venue not found."),
    "resource_person_not_found": ErrorSpec(404, "Narasumber tidak ditemukan.", "Resource person not found."),
    "session_not_found": ErrorSpec(404, "Sesi pelatihan tidak ditemukan.", "Session not found."),
    "plan_preview_not_found": ErrorSpec(404, "Pratinjau jadwal tidak ditemukan.", "Plan preview not found."),
    "plan_not_found": ErrorSpec(
        404, "Program ini belum mempunyai jadwal yang diterbitkan.", "This programme has no published plan.",
    ),
    "plan_not_published": ErrorSpec(
        409, "Jadwal program ini belum diterbitkan.", "This programme's plan has not been published yet.",
    ),
    "plan_preview_outdated": ErrorSpec(
        409, "Data berubah sejak pratinjau ini dibuat (peserta, koperasi, tempat, narasumber atau jadwal lain). "
             "Buat pratinjau baru, periksa, lalu terbitkan.",
        "The data changed since this preview was made (participants, cooperatives, venues, resource persons or "
        "another plan). Make a new preview, check it, then publish it.",
    ),
    "plan_programmes_repeated": ErrorSpec(
        422, "Setiap program (dan setiap kabupaten/kota) hanya boleh muncul sekali dalam satu perencanaan bersama.",
        "Each programme (and each regency) may appear only once in plans made or published together.",
    ),
    "resource_person_double_booked": ErrorSpec(
        409, "Seorang narasumber baru saja dijadwalkan pada hari yang sama oleh jadwal lain. Buat pratinjau baru.",
        "A resource person was just booked on the same day by another plan. Make a new preview.",
    ),
    "programme_structure_fixed": ErrorSpec(
        409, "Kurikulum, jumlah hari per sesi dan syarat kehadiran tidak dapat diubah setelah jadwal diterbitkan.",
        "The curriculum, the days per session and the attendance required cannot change once the plan is published.",
    ),
    "session_locked": ErrorSpec(
        409, "Sesi ini dikunci atau sudah ditutup; isinya tidak dapat diubah.",
        "This session is locked or closed; who sits in it cannot change.",
    ),
    "cooperative_move_impossible": ErrorSpec(
        409, "Koperasi ini tidak dapat dipindah ke sesi itu: {reason}.",
        "This cooperative cannot move to that session: {reason}.",
    ),
    "cooperative_not_planned": ErrorSpec(
        409, "Koperasi ini belum mempunyai peserta yang dapat dijadwalkan.",
        "This cooperative has no participants to schedule yet.",
    ),
    # Invitations and attendance (scheduling).
    "invitation_not_found": ErrorSpec(
        404, "Peserta ini belum mempunyai undangan: belum ada sesi yang dijadwalkan untuknya.",
        "This participant has no invitation yet: no session is scheduled for them.",
    ),
    "participant_not_in_session": ErrorSpec(
        409, "Peserta ini tidak dijadwalkan di sesi ini.", "This participant is not seated in this session.",
    ),
    "day_not_in_session": ErrorSpec(
        422, "Tanggal {day} bukan salah satu hari sesi ini.", "{day} is not one of this session's days.",
    ),
    "session_closed": ErrorSpec(
        409, "Sesi ini sudah ditutup; daftar hadirnya tidak dapat diubah lagi.",
        "This session is closed; its attendance can no longer change.",
    ),
    "session_not_over": ErrorSpec(
        409, "Sesi ini belum selesai: sesi dapat ditutup mulai hari terakhirnya ({last_day}).",
        "This session is not over yet: it can be closed from its last day ({last_day}) on.",
    ),
    "certificate_not_found": ErrorSpec(404, "Sertifikat tidak ditemukan.", "Certificate not found."),
    "certificate_not_valid": ErrorSpec(
        409, "Sertifikat ini tidak berlaku lagi ({status}) dan tidak dapat dicabut.",
        "This certificate is no longer valid ({status}) and cannot be revoked.",
    ),
    "certificate_not_printable": ErrorSpec(
        409, "Sertifikat ini tidak dapat dicetak ({status}).",
        "This certificate cannot be printed ({status}).",
    ),
    "certificate_archive_scope": ErrorSpec(
        422, "Sebutkan tepat satu dari cooperative_id, district atau session_id.",
        "Name exactly one of cooperative_id, district or session_id.",
    ),
}


# Reasons and other words that travel as error parameters, in both languages. A parameter whose
# value is one of these keys is shown in the caller's language.
PHRASES: dict[str, tuple[str, str]] = {
    "nik_not_16_digits": ("harus 16 angka", "it must be 16 digits"),
    "nik_unknown_province": ("kode provinsi tidak dikenal", "unknown province code"),
    "nik_unknown_regency": ("kode kabupaten/kota tidak dikenal", "unknown regency code"),
    "nik_unknown_district": ("kode kecamatan tidak dikenal", "unknown kecamatan code"),
    "nik_birth_date_impossible": ("tanggal lahir di dalam NIK tidak ada", "the birth date in it does not exist"),
    "nik_serial_zero": ("nomor urut 0000", "serial number 0000"),
    "nik_sex_mismatch": ("jenis kelamin tidak sesuai dengan NIK", "the sex does not match the NIK"),
    "nik_birth_date_mismatch": ("tanggal lahir tidak sesuai dengan NIK", "the date of birth does not match the NIK"),
    # Why an import file or one of its cells was refused.
    "not_utf8": ("bukan teks UTF-8; simpan sebagai \"CSV UTF-8\"", "not UTF-8 text; save it as \"CSV UTF-8\""),
    "csv_malformed": ("tanda kutip tidak berpasangan", "a quotation mark is not closed"),
    "not_xlsx": ("bukan berkas XLSX yang utuh", "not a complete XLSX file"),
    "xlsx_too_large_unpacked": ("isinya terlalu besar setelah dibuka", "its content is too large once unpacked"),
    "empty": ("berkas kosong", "the file is empty"),
    "village_code_format": ("tulis kode desa seperti 35.17.09.2001", "write the village code like 35.17.09.2001"),
    "cooperative_name_length": ("nama koperasi 3 sampai 200 huruf", "a cooperative name has 3 to 200 characters"),
    "full_name_too_long": ("nama paling banyak 200 huruf", "a name has at most 200 characters"),
    "sex_value": ("isi L atau P", "fill in L or P"),
    "date_format": ("tulis tanggal seperti 31-12-1980", "write the date like 31-12-1980"),
    "phone_format": ("nomor HP seperti 0812-3456-7890", "a mobile number like 0812-3456-7890"),
    "position_unknown": ("jabatan tidak dikenal; lihat lembar Jabatan pada templat",
                         "unknown position; see the Jabatan sheet of the template"),
    # Why a cooperative cannot move to a session.
    "session_full": ("sesi itu tidak lagi mempunyai tempat duduk untuk seluruh timnya",
                     "that session has no room left for its whole team"),
    # A certificate's status.
    "revoked": ("dicabut", "revoked"),
    "superseded": ("diganti versi baru", "superseded"),
}


class DomainError(Exception):
    """A rule of the domain refused the request. ``code`` must be a key of :data:`ERRORS`.

    The arguments stay JSON-serialisable because nameko sends ``exc_args`` to the caller.
    """

    def __init__(self, code: str, params: dict[str, Any] | None = None) -> None:
        if code not in ERRORS:
            raise ValueError(f"unknown error code {code!r}")
        super().__init__(code, params or {})
        self.code = code
        self.params = params or {}

    def __str__(self) -> str:  # never the params: they may echo personal data into logs
        return self.code


def message_for(code: str, language: str = "id", **params: Any) -> str:
    spec = ERRORS.get(code, ERRORS["internal_error"])
    template = spec.en if language == "en" else spec.id
    params = {key: _phrase(value, language) for key, value in params.items()}
    try:
        return template.format(**params)
    except (KeyError, IndexError):
        return template.split(":")[0].rstrip(".") + "."


def _phrase(value: Any, language: str) -> Any:
    if isinstance(value, str) and value in PHRASES:
        indonesian, english = PHRASES[value]
        return english if language == "en" else indonesian
    return value
