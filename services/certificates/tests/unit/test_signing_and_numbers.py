"""Certificate numbers, canonical data, signatures and the QR token, without any server."""
from __future__ import annotations

import base64
import json
import re
import secrets
import string
import uuid
from dataclasses import replace
from datetime import date, datetime, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from certificates.adapters.signing import (
    TOKEN_CHARS, CertificateSigner, Signature, parse_key_ring, verify_signature, verify_token,
)
from certificates.domain.certificates import (
    DEFAULT_NUMBER_FORMAT, CertificateFacts, build_document, check_number_format, format_number, issue_year,
    verification_url,
)
from certificates.settings import CertificatesSettings


def seed() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def facts(**changes) -> CertificateFacts:
    base = CertificateFacts(
        number="0007/BIMTEK-KDMP/35.17/2026", public_id=secrets.token_urlsafe(16), version=1,
        participant_id=uuid.uuid4(), cooperative_id=uuid.uuid4(), position_group="pengurus",
        programme_id=uuid.uuid4(), session_id=uuid.uuid4(), regency="35.17",
        programme_title="Bimtek Perkoperasian KDMP Kabupaten Jombang 2026",
        session_days=(date(2026, 3, 2), date(2026, 3, 3)), days_attended=2, jp_total=16,
        issued_at=datetime(2026, 3, 3, 9, 30, 15, 123456, tzinfo=timezone.utc))
    return replace(base, **changes)


def test_the_default_number_names_sequence_programme_regency_and_year() -> None:
    assert format_number(DEFAULT_NUMBER_FORMAT, sequence=7, regency="35.17", year=2026) == \
        "0007/BIMTEK-KDMP/35.17/2026"
    assert format_number("SERT-{regency}-{year}-{sequence:05d}", sequence=12, regency="35.15", year=2027) == \
        "SERT-35.15-2027-00012"


@pytest.mark.parametrize("bad", ["BIMTEK/{regency}/{year}", "{sequence:04d}/{unknown}", "{sequence:q}"])
def test_a_number_format_without_a_working_sequence_is_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        check_number_format(bad)
    with pytest.raises(ValueError):
        CertificatesSettings(certificate_number_format=bad)


def test_the_year_is_jakartas() -> None:
    assert issue_year(datetime(2026, 12, 31, 18, 0, tzinfo=timezone.utc)) == 2027  # 01:00 WIB on 1 January


def test_canonical_data_is_sorted_compact_utc_json_without_a_name() -> None:
    certificate = facts()
    canonical = certificate.canonical()
    data = json.loads(canonical)
    assert list(data) == sorted(data)
    assert b" " not in canonical.replace(b"Bimtek Perkoperasian KDMP Kabupaten Jombang 2026", b"")
    assert data["issued_at"] == "2026-03-03T09:30:15Z"
    assert data["session_days"] == ["2026-03-02", "2026-03-03"]
    assert "full_name" not in data and "name" not in data
    # The same moment in another zone is the same certificate.
    jakarta = certificate.issued_at.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Jakarta"))
    assert replace(certificate, issued_at=jakarta).canonical() == canonical


def test_a_signature_verifies_and_any_change_to_the_data_breaks_it() -> None:
    signer = CertificateSigner(parse_key_ring(f"3:{seed()}"), 3)
    certificate = facts()
    signature = signer.sign(certificate)
    assert signature.key_id == 3
    assert verify_signature(certificate, signature, signer.public_keys)
    for changed in (replace(certificate, jp_total=32), replace(certificate, number="0008/BIMTEK-KDMP/35.17/2026"),
                    replace(certificate, participant_id=uuid.uuid4()), replace(certificate, version=2)):
        assert not verify_signature(changed, signature, signer.public_keys)
    assert not verify_signature(certificate, Signature(4, signature.value), signer.public_keys)  # unknown key


def test_the_token_verifies_offline_and_a_tampered_one_is_rejected() -> None:
    signer = CertificateSigner(parse_key_ring(f"1:{seed()}"), 1)
    certificate = facts(version=2)
    token = signer.token(certificate)
    assert len(token) == TOKEN_CHARS == 137 and token.startswith("BKC1.")
    claims = verify_token(token, signer.public_keys)
    assert claims is not None
    assert (claims.key_id, claims.public_id, claims.version) == (1, certificate.public_id, 2)
    assert claims.digest == certificate.digest()[:16]
    # Every single changed character is caught: in the claims and in the signature.
    for position in range(len("BKC1."), len(token)):
        swapped = "A" if token[position] != "A" else "B"
        assert verify_token(token[:position] + swapped + token[position + 1:], signer.public_keys) is None
    assert verify_token(token[:-1], signer.public_keys) is None
    other = CertificateSigner(parse_key_ring(f"1:{seed()}"), 1)
    assert verify_token(token, other.public_keys) is None  # signed by a key not published


def test_rotation_keeps_older_certificates_verifiable() -> None:
    old_seed, new_seed = seed(), seed()
    before = CertificateSigner.from_config({"CERTIFICATE_SIGNING_KEYS": f"1:{old_seed}"})
    certificate = facts()
    old_signature, old_token = before.sign(certificate), before.token(certificate)
    after = CertificateSigner.from_config({"CERTIFICATE_SIGNING_KEYS": f"1:{old_seed},2:{new_seed}",
                                           "CERTIFICATE_ACTIVE_KEY_ID": 2})
    assert after.sign(certificate).key_id == 2
    assert verify_signature(certificate, old_signature, after.public_keys)
    assert verify_token(old_token, after.public_keys) is not None
    published = after.jwks()
    assert [key["kid"] for key in published["keys"]] == ["1", "2"] and published["active_kid"] == "2"
    assert all(key["kty"] == "OKP" and key["crv"] == "Ed25519" for key in published["keys"])
    # Dropping the old key from the ring ends its certificates' verification.
    dropped = CertificateSigner.from_config({"CERTIFICATE_SIGNING_KEYS": f"2:{new_seed}"})
    assert verify_token(old_token, dropped.public_keys) is None


def test_a_ring_of_several_needs_an_active_key_and_bad_keys_are_refused() -> None:
    with pytest.raises(ValueError):
        CertificateSigner.from_config({"CERTIFICATE_SIGNING_KEYS": f"1:{seed()},2:{seed()}"})
    short = base64.b64encode(b"short").decode()
    for spec in ("", "0:" + seed(), "1:notbase64!", "1:" + short, f"1:{seed()},1:{seed()}"):
        with pytest.raises(ValueError):
            parse_key_ring(spec)


def test_the_development_key_is_refused_outside_development() -> None:
    with pytest.raises(ValueError, match="CERTIFICATE_SIGNING_KEYS"):
        CertificatesSettings(environment="production")


def test_the_document_carries_the_verification_address_and_token() -> None:
    signer = CertificateSigner(parse_key_ring(f"1:{seed()}"), 1)
    certificate = facts()
    url = verification_url("https://bimtek.example.id/", certificate.public_id)
    assert url == f"https://bimtek.example.id/api/v1/public/certificates/{certificate.public_id}/page"
    document = build_document(certificate, printed_name="Siti Aminah", printed_position="ketua",
                              verification_url=url, qr_token=signer.token(certificate))
    assert document.number == certificate.number and document.total_hours == 16
    assert document.issued_on == date(2026, 3, 3) and document.days == certificate.session_days
    assert verify_token(document.qr_token, signer.public_keys).public_id == certificate.public_id


# -- properties of numbers (hypothesis) ------------------------------------------------------------
REGENCY_CODES = st.from_regex(r"\A[0-9]{2}\.[0-9]{2}\Z")
SEQUENCES = st.integers(min_value=1, max_value=999_999)
YEARS = st.integers(min_value=2000, max_value=2999)


def read_number(number_format: str, number: str) -> dict[str, int | str]:
    """The (sequence, regency, year) a number was printed from, read back with the format itself:
    its literal text must match exactly, each field is what lies between."""
    pattern = ""
    for literal, field, _, _ in string.Formatter().parse(number_format):
        pattern += re.escape(literal)
        if field:
            pattern += rf"(?P<{field}>.+?)"
    found = re.fullmatch(pattern, number)
    assert found, f"{number!r} does not read back with {number_format!r}"
    return {"sequence": int(found["sequence"]), "regency": found["regency"], "year": int(found["year"])}


@settings(max_examples=150)
@given(sequence=SEQUENCES, regency=REGENCY_CODES, year=YEARS,
       number_format=st.sampled_from([DEFAULT_NUMBER_FORMAT, "SERT-{regency}-{year}-{sequence:05d}",
                                      "{regency}/{year}/{sequence}"]))
def test_a_printed_number_reads_back_as_what_it_was_printed_from(sequence, regency, year, number_format) -> None:
    number = format_number(number_format, sequence=sequence, regency=regency, year=year)
    assert read_number(number_format, number) == {"sequence": sequence, "regency": regency, "year": year}


@settings(max_examples=150)
@given(first=st.tuples(SEQUENCES, REGENCY_CODES, YEARS), second=st.tuples(SEQUENCES, REGENCY_CODES, YEARS))
def test_two_certificates_share_a_default_number_only_if_they_share_sequence_regency_and_year(first, second) -> None:
    def number(triple):
        return format_number(DEFAULT_NUMBER_FORMAT, sequence=triple[0], regency=triple[1], year=triple[2])

    assert (number(first) == number(second)) == (first == second)
