"""Encryption at rest and keyed lookup of NIKs (UU PDP: personal data protected by design)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import os

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_NONCE_BYTES = 12
_KEY_VERSION = b"\x01"  # room for key rotation: a ciphertext names the key that sealed it


class NikProtector:
    def __init__(self, encryption_key_b64: str, lookup_key_b64: str) -> None:
        self._aead = AESGCM(base64.b64decode(encryption_key_b64))
        self._lookup_key = base64.b64decode(lookup_key_b64)
        if len(self._lookup_key) < 32:
            raise ValueError("the NIK lookup key must be at least 32 bytes")

    def encrypt(self, nik: str) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return _KEY_VERSION + nonce + self._aead.encrypt(nonce, nik.encode(), b"nik")

    def decrypt(self, sealed: bytes) -> str:
        if sealed[:1] != _KEY_VERSION:
            raise ValueError("unknown NIK key version")
        nonce, ciphertext = sealed[1 : 1 + _NONCE_BYTES], sealed[1 + _NONCE_BYTES :]
        return self._aead.decrypt(nonce, ciphertext, b"nik").decode()

    def lookup_hash(self, nik: str) -> bytes:
        return hmac.new(self._lookup_key, nik.encode(), hashlib.sha256).digest()
