"""The signed token in an invitation's QR code: verified, refused when tampered with or signed by a
key no longer in the ring, and rotated without invalidating invitations already printed."""
from __future__ import annotations

import base64
import uuid
from datetime import datetime, timezone

import pytest

from scheduling.adapters.invitation_tokens import InvitationSigner, parse_key_ring, verify, verify_all
from scheduling.settings import DEVELOPMENT_QR_SIGNING_KEYS, SchedulingSettings

KEY_2 = "2:" + base64.b64encode(b"a-second-qr-signing-key-32-bytes").decode()
KEY_3 = "3:" + base64.b64encode(b"a-third-qr-signing-key--32-bytes").decode()
PERSON, SESSION = uuid.uuid4(), uuid.uuid4()
SEATED = datetime(2025, 9, 15, 3, 4, 5, 678000, tzinfo=timezone.utc)


def signer(keys: str, active: int | None = None) -> InvitationSigner:
    return InvitationSigner.from_config({"QR_SIGNING_KEYS": keys, "QR_ACTIVE_KEY_ID": active})


def test_a_token_says_who_is_invited_where_and_since_when_and_nothing_more() -> None:
    development = signer(DEVELOPMENT_QR_SIGNING_KEYS)
    token = development.sign(PERSON, SESSION, SEATED)
    claims = verify(token, development.public_keys)
    assert claims is not None
    assert (claims.participant_id, claims.session_id, claims.key_id) == (PERSON, SESSION, 1)
    assert claims.issued_at == SEATED.replace(microsecond=0)
    assert token.startswith("BKI1.") and len(token) == 140
    assert development.sign(PERSON, SESSION, SEATED) == token  # Ed25519 is deterministic: one code per seat


def test_any_change_to_a_token_breaks_it() -> None:
    development = signer(DEVELOPMENT_QR_SIGNING_KEYS)
    token = development.sign(PERSON, SESSION, SEATED)
    for position in range(len("BKI1."), len(token)):
        replacement = "A" if token[position] != "A" else "B"
        tampered = token[:position] + replacement + token[position + 1:]
        assert verify(tampered, development.public_keys) is None, position
    for garbled in ("", "BKI1.", token[:-1], token + "A", "BKI2" + token[4:], "x" * 140, None):
        assert verify(garbled, development.public_keys) is None  # type: ignore[arg-type]


def test_another_signer_with_the_same_key_id_is_refused() -> None:
    stranger = signer("1:" + base64.b64encode(b"somebody-else-s-key-of-32-bytes!").decode())
    development = signer(DEVELOPMENT_QR_SIGNING_KEYS)
    assert verify(stranger.sign(PERSON, SESSION, SEATED), development.public_keys) is None


def test_keys_rotate_old_invitations_verify_until_their_key_is_dropped() -> None:
    printed = signer(DEVELOPMENT_QR_SIGNING_KEYS).sign(PERSON, SESSION, SEATED)
    rotated = signer(f"{DEVELOPMENT_QR_SIGNING_KEYS},{KEY_2}", active=2)
    fresh = rotated.sign(PERSON, SESSION, SEATED)
    assert verify(fresh, rotated.public_keys).key_id == 2
    assert verify(printed, rotated.public_keys).key_id == 1
    retired = signer(f"{KEY_2},{KEY_3}", active=3)
    assert verify(printed, retired.public_keys) is None
    assert verify(fresh, retired.public_keys).key_id == 2
    assert verify_all([printed, fresh], retired.public_keys)[0] is None


@pytest.mark.parametrize("ring, active", [("", None), ("0:" + KEY_2[2:], None), ("1:bm90IDMyIGJ5dGVz", None),
                                          (f"{DEVELOPMENT_QR_SIGNING_KEYS},{KEY_2}", None),
                                          (f"{KEY_2},{KEY_2}", 2), (KEY_2, 7)])
def test_a_malformed_ring_is_refused_at_start_up(ring: str, active: int | None) -> None:
    with pytest.raises(ValueError):
        signer(ring, active)


def test_the_development_key_is_refused_outside_development() -> None:
    assert parse_key_ring(DEVELOPMENT_QR_SIGNING_KEYS)
    with pytest.raises(ValueError, match="QR_SIGNING_KEYS"):
        SchedulingSettings(environment="production", amqp_uri="amqp://bimtek:secret@rabbitmq:5672/")
    production = SchedulingSettings(environment="production", amqp_uri="amqp://bimtek:secret@rabbitmq:5672/",
                                    qr_signing_keys=KEY_2)
    assert production.nameko_config()["QR_SIGNING_KEYS"] == KEY_2
