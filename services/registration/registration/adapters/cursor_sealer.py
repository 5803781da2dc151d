"""Encryption of page cursors: a cursor holds the last item's sort key (a name, when sorting by
name) and travels in URLs, so it leaves the service sealed (AES-GCM) and a forged one is refused."""
from __future__ import annotations

import base64
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_NONCE_BYTES = 12
_PURPOSE = b"bimtek registration page cursor v1"


class CursorSealer:
    def __init__(self, encryption_key_b64: str) -> None:
        # A key of its own, derived from the NIK key: no new secret to manage, and the NIK key
        # itself still encrypts nothing but NIKs.
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_PURPOSE).derive(
            base64.b64decode(encryption_key_b64))
        self._aead = AESGCM(key)

    def seal(self, plain: bytes) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plain, _PURPOSE)

    def open(self, sealed: bytes) -> bytes:
        try:
            return self._aead.decrypt(sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:], _PURPOSE)
        except InvalidTag:
            raise ValueError("not a cursor of this service") from None
