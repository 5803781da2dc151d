"""Encryption at rest and keyed lookup of NIKs (UU PDP: personal data protected by design).

A sealed NIK is ``key id (1 byte) | nonce (12 bytes) | AES-256-GCM ciphertext and tag``: it names
the key that sealed it, so keys can rotate. The key ring holds the active key, which seals
everything new, and older ones, which still open what they sealed until ``bimtek-registration nik
rotate`` has re-sealed it under the active key. Lookups and duplicate checks use an HMAC-SHA256 of
the NIK under a key of its own, never a plain hash: 16 digits that encode region, birth date and
sex are quickly enumerated.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Mapping
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_NONCE_BYTES = 12
_ASSOCIATED_DATA = b"nik"
MIN_KEY_ID, MAX_KEY_ID = 1, 255  # the id travels as the ciphertext's first byte
LEGACY_KEY_ID = 1  # the id of NIK_ENCRYPTION_KEY when it is given alone (what sealed NIKs before the ring)


class UnreadableNik(ValueError):
    """A sealed NIK that no key of the ring opens: tampered with, or sealed by a key since dropped."""


def parse_key_ring(spec: str) -> dict[int, str]:
    """``"1:<base64 key>,2:<base64 key>"`` as {id: base64 key}; refuses malformed ids and keys."""
    ring: dict[int, str] = {}
    for entry in filter(None, (part.strip() for part in spec.split(","))):
        key_id, separator, key = entry.partition(":")
        if not separator or not key_id.strip().isdigit() or not MIN_KEY_ID <= int(key_id) <= MAX_KEY_ID:
            raise ValueError(f"NIK key ids are whole numbers from {MIN_KEY_ID} to {MAX_KEY_ID}: id:base64key,...")
        if int(key_id) in ring:
            raise ValueError(f"NIK key id {int(key_id)} is listed twice")
        ring[int(key_id)] = key.strip()
    if not ring:
        raise ValueError("the NIK key ring is empty")
    return ring


def _key_bytes(key_b64: str, what: str) -> bytes:
    try:
        key = base64.b64decode(key_b64, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError(f"the {what} is not base64") from None
    if len(key) != 32:
        raise ValueError(f"the {what} must be 32 bytes (base64 of 32 random bytes)")
    return key


class NikProtector:
    def __init__(self, keys: Mapping[int, str], active_key_id: int, lookup_key_b64: str) -> None:
        if active_key_id not in keys:
            raise ValueError(f"the active NIK key id {active_key_id} is not in the key ring")
        self._aeads = {key_id: AESGCM(_key_bytes(key, f"NIK key {key_id}")) for key_id, key in keys.items()}
        self.active_key_id = active_key_id
        self.active_key_b64 = keys[active_key_id]
        self._lookup_key = base64.b64decode(lookup_key_b64)
        if len(self._lookup_key) < 32:
            raise ValueError("the NIK lookup key must be at least 32 bytes")

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "NikProtector":
        """From the service configuration: ``NIK_KEYS`` (the ring) with ``NIK_ACTIVE_KEY_ID``, or
        else ``NIK_ENCRYPTION_KEY`` alone as a ring of one key with id 1; and ``NIK_LOOKUP_KEY``."""
        ring = parse_key_ring(config.get("NIK_KEYS") or f"{LEGACY_KEY_ID}:{config['NIK_ENCRYPTION_KEY']}")
        active = config.get("NIK_ACTIVE_KEY_ID")
        if not active:
            if len(ring) > 1:
                raise ValueError("NIK_ACTIVE_KEY_ID must name the active key of a ring of several")
            active = next(iter(ring))
        return cls(ring, int(active), config["NIK_LOOKUP_KEY"])

    def encrypt(self, nik: str) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aeads[self.active_key_id].encrypt(nonce, nik.encode(), _ASSOCIATED_DATA)
        return bytes([self.active_key_id]) + nonce + sealed

    def decrypt(self, sealed: bytes) -> str:
        sealed = bytes(sealed)  # psycopg2 hands bytea to plain SQL as a memoryview
        aead = self._aeads.get(key_id_of(sealed))
        if aead is None:
            raise UnreadableNik("sealed by a key that is not in the ring")
        nonce, ciphertext = sealed[1 : 1 + _NONCE_BYTES], sealed[1 + _NONCE_BYTES :]
        try:
            return aead.decrypt(nonce, ciphertext, _ASSOCIATED_DATA).decode()
        except InvalidTag:
            raise UnreadableNik("the sealed NIK was altered or sealed by another key") from None

    def sealed_by_active_key(self, sealed: bytes) -> bool:
        return key_id_of(sealed) == self.active_key_id

    def reseal(self, sealed: bytes) -> bytes:
        """The same NIK sealed under the active key (with a fresh nonce)."""
        return self.encrypt(self.decrypt(sealed))

    def lookup_hash(self, nik: str) -> bytes:
        return hmac.new(self._lookup_key, nik.encode(), hashlib.sha256).digest()


def key_id_of(sealed: bytes) -> int:
    if len(sealed) < 1 + _NONCE_BYTES + 16:
        raise UnreadableNik("too short to be a sealed NIK")
    return bytes(sealed[:1])[0]
