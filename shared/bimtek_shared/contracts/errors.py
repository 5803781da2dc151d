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
    "regency_out_of_scope": ErrorSpec(
        403, "Anda tidak berwenang atas kabupaten/kota ini.", "You are not authorised for this regency."
    ),
    "unauthenticated": ErrorSpec(401, "Silakan masuk terlebih dahulu.", "Please sign in first."),
    "invalid_credentials": ErrorSpec(401, "Nama pengguna atau kata sandi salah.", "Wrong username or password."),
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
    "method_not_allowed": ErrorSpec(405, "Metode tidak diizinkan.", "Method not allowed."),
    "payload_too_large": ErrorSpec(
        413, "Data yang dikirim terlalu besar (maksimum {limit} bita).",
        "The request body is too large (at most {limit} bytes).",
    ),
}


# Reasons and other words that travel as error parameters, in both languages. A parameter whose
# value is one of these keys is shown in the caller's language.
PHRASES: dict[str, tuple[str, str]] = {
    "nik_not_16_digits": ("harus 16 angka", "it must be 16 digits"),
    "nik_unknown_province": ("kode provinsi tidak dikenal", "unknown province code"),
    "nik_birth_date_impossible": ("tanggal lahir di dalam NIK tidak ada", "the birth date in it does not exist"),
    "nik_serial_zero": ("nomor urut 0000", "serial number 0000"),
    "nik_sex_mismatch": ("jenis kelamin tidak sesuai dengan NIK", "the sex does not match the NIK"),
    "nik_birth_date_mismatch": ("tanggal lahir tidak sesuai dengan NIK", "the date of birth does not match the NIK"),
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
