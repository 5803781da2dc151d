"""The signed token in an invitation's QR code: who is invited to which session, and since when.

``BKI1.`` followed by base64url (no padding) of ``key id (1 byte) | participant id (16) | session
id (16) | issued at (4, Unix seconds) | Ed25519 signature (64)`` over the prefix and those 37
bytes: 140 characters, a QR code a cheap phone reads at arm's length. It carries ids only, never a
name or a NIK. The key id says which key of the ring signed it, so keys rotate: the active key
signs, older ones still verify until they are dropped from ``QR_SIGNING_KEYS``.
"""
from __future__ import annotations

import base64
import binascii
import struct
import uuid
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bimtek_shared import signing_keys
from bimtek_shared.signing_keys import SigningKeyRing

from ..domain.attendance import QrClaims

PREFIX = b"BKI1."
_CLAIMS = struct.Struct(">B16s16sI")  # key id, participant, session, issued at
_SIGNATURE_BYTES = 64
TOKEN_CHARS = len(PREFIX) + (4 * (_CLAIMS.size + _SIGNATURE_BYTES) + 2) // 3
SETTING = "QR_SIGNING_KEYS"


def parse_key_ring(spec: str) -> dict[int, Ed25519PrivateKey]:
    """``"1:<base64 of a 32-byte seed>,2:..."`` as {id: key}; refuses malformed ids and keys."""
    return signing_keys.parse_key_ring(spec, SETTING)


class InvitationSigner(SigningKeyRing):
    """Signs with the active key; knows every key of the ring's public half for verifying."""

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "InvitationSigner":
        return cls.from_setting(config[SETTING], config.get("QR_ACTIVE_KEY_ID"), SETTING)

    def sign(self, participant_id: uuid.UUID, session_id: uuid.UUID, issued_at: datetime) -> str:
        claims = _CLAIMS.pack(self.active_key_id, participant_id.bytes, session_id.bytes, int(issued_at.timestamp()))
        signature = super().sign(PREFIX + claims)
        return (PREFIX + base64.urlsafe_b64encode(claims + signature).rstrip(b"=")).decode("ascii")


def verify(token: str, public_keys: Mapping[int, bytes]) -> QrClaims | None:
    """The claims of a token one of these keys signed; None for anything else (garbled, tampered
    with, or signed by a key no longer in the ring)."""
    if not isinstance(token, str) or len(token) != TOKEN_CHARS or not token.startswith(PREFIX.decode()):
        return None
    encoded = token[len(PREFIX):]
    try:
        raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    except (binascii.Error, ValueError):
        return None
    # Only the canonical spelling: base64's spare bits would otherwise let one token be written four ways.
    if len(raw) != _CLAIMS.size + _SIGNATURE_BYTES or base64.urlsafe_b64encode(raw).rstrip(b"=").decode() != encoded:
        return None
    claims, signature = raw[:_CLAIMS.size], raw[_CLAIMS.size:]
    key_id, participant, session, issued_at = _CLAIMS.unpack(claims)
    if not signing_keys.verify_signature(public_keys, key_id, signature, PREFIX + claims):
        return None
    return QrClaims(participant_id=uuid.UUID(bytes=participant), session_id=uuid.UUID(bytes=session),
                    issued_at=datetime.fromtimestamp(issued_at, timezone.utc), key_id=key_id)


def verify_all(tokens: list[str], public_keys: Mapping[int, bytes]) -> list[QrClaims | None]:
    """``verify`` for a whole upload; run in a ``CpuPool`` worker (500 signatures take some 50 ms)."""
    return [verify(token, public_keys) for token in tokens]
