"""A ring of Ed25519 signing keys, by key id, from one setting: ``"1:<base64 seed>,2:..."``.

The active key signs; every key of the ring still verifies, so keys rotate without invalidating
what older keys signed (an invitation's QR code, a certificate). Used by every service that signs
something a phone or a stranger checks later; each names its own setting.
"""
from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

MIN_KEY_ID, MAX_KEY_ID = 1, 255  # a key id travels as one byte


def parse_key_ring(spec: str, setting: str) -> dict[int, Ed25519PrivateKey]:
    """``spec`` as {id: key}; refuses malformed ids and keys, naming ``setting`` in the error."""
    ring: dict[int, Ed25519PrivateKey] = {}
    for entry in filter(None, (part.strip() for part in spec.split(","))):
        key_id, separator, seed = entry.partition(":")
        if not separator or not key_id.strip().isdigit() or not MIN_KEY_ID <= int(key_id) <= MAX_KEY_ID:
            raise ValueError(f"{setting}: key ids are whole numbers from {MIN_KEY_ID} to {MAX_KEY_ID} "
                             "(id:base64seed,...)")
        if int(key_id) in ring:
            raise ValueError(f"{setting}: key id {int(key_id)} is listed twice")
        try:
            raw = base64.b64decode(seed.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(f"{setting}: key {int(key_id)} is not base64") from None
        if len(raw) != 32:
            raise ValueError(f"{setting}: key {int(key_id)} must be base64 of a 32-byte Ed25519 seed")
        ring[int(key_id)] = Ed25519PrivateKey.from_private_bytes(raw)
    if not ring:
        raise ValueError(f"{setting}: the key ring is empty")
    return ring


class SigningKeyRing:
    def __init__(self, keys: Mapping[int, Ed25519PrivateKey], active_key_id: int, setting: str = "key ring") -> None:
        if active_key_id not in keys:
            raise ValueError(f"{setting}: the active key id {active_key_id} is not in the ring")
        self._active = keys[active_key_id]
        self.active_key_id = active_key_id
        self.public_keys: dict[int, bytes] = {
            key_id: key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw) for key_id, key in keys.items()}

    @classmethod
    def from_setting(cls, spec: str, active_key_id: int | str | None, setting: str) -> "SigningKeyRing":
        """The ring ``spec``; the active key must be named when the ring holds several."""
        keys = parse_key_ring(spec, setting)
        if not active_key_id:
            if len(keys) > 1:
                raise ValueError(f"{setting}: name the active key of a ring of several")
            active_key_id = next(iter(keys))
        return cls(keys, int(active_key_id), setting)

    def sign(self, data: bytes) -> bytes:
        return self._active.sign(data)


def verify_signature(public_keys: Mapping[int, bytes], key_id: int, signature: bytes, data: bytes) -> bool:
    """Whether the key ``key_id`` of the ring signed ``data`` (False for a key no longer in it)."""
    public = public_keys.get(key_id)
    if public is None:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, data)
    except InvalidSignature:
        return False
    return True
