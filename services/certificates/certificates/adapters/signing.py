"""Signing certificates with Ed25519, and the compact token in their QR code.

Two signatures per certificate, both by the active key of the ring ``CERTIFICATE_SIGNING_KEYS``
(``"id:base64 of a 32-byte seed,..."``, ids 1-255), both naming its key id:

- over the canonical data (``CertificateFacts.canonical``), kept with the certificate and shown by
  the verification endpoint, so anyone can check the whole record against the published key;
- the QR token, ``BKC1.`` + base64url (no padding) of ``key id (1) | public id (16) | version (2) |
  SHA-256 of the canonical data, first 16 bytes | Ed25519 signature (64)`` over the prefix and the
  35 claim bytes: 137 characters. Offline, it proves the public id and version were issued with
  that data by the holder of the published key; online, the page shows the data.

Rotation: a new key joins the ring and becomes active; older keys stay in the ring (and in the
published key list) so certificates they signed keep verifying.
"""
from __future__ import annotations

import base64
import binascii
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from ..domain.certificates import CertificateFacts

PREFIX = b"BKC1."
_CLAIMS = struct.Struct(">B16sH16s")  # key id, public id, version, digest of the canonical data
_SIGNATURE_BYTES = 64
TOKEN_CHARS = len(PREFIX) + (4 * (_CLAIMS.size + _SIGNATURE_BYTES) + 2) // 3
MIN_KEY_ID, MAX_KEY_ID = 1, 255


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64url(text: str) -> bytes | None:
    """The bytes, only for the canonical spelling (base64's spare bits allow several)."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
    return raw if _b64url(raw) == text else None


def public_id_bytes(public_id: str) -> bytes:
    raw = _unb64url(public_id)
    if raw is None or len(raw) != 16:
        raise ValueError("a public id is base64url of 16 bytes")
    return raw


def parse_key_ring(spec: str) -> dict[int, Ed25519PrivateKey]:
    """``"1:<base64 seed>,2:..."`` as {id: key}; refuses malformed ids and keys."""
    ring: dict[int, Ed25519PrivateKey] = {}
    for entry in filter(None, (part.strip() for part in spec.split(","))):
        key_id, separator, seed = entry.partition(":")
        if not separator or not key_id.strip().isdigit() or not MIN_KEY_ID <= int(key_id) <= MAX_KEY_ID:
            raise ValueError(f"certificate key ids are whole numbers from {MIN_KEY_ID} to {MAX_KEY_ID}")
        if int(key_id) in ring:
            raise ValueError(f"certificate key id {int(key_id)} is listed twice")
        try:
            raw = base64.b64decode(seed.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(f"certificate key {int(key_id)} is not base64") from None
        if len(raw) != 32:
            raise ValueError(f"certificate key {int(key_id)} must be base64 of a 32-byte Ed25519 seed")
        ring[int(key_id)] = Ed25519PrivateKey.from_private_bytes(raw)
    if not ring:
        raise ValueError("the certificate key ring is empty")
    return ring


@dataclass(frozen=True)
class Signature:
    key_id: int
    value: str  # base64url of the 64-byte Ed25519 signature over the canonical data


@dataclass(frozen=True)
class TokenClaims:
    key_id: int
    public_id: str
    version: int
    digest: bytes  # first 16 bytes of SHA-256 of the canonical data


class CertificateSigner:
    """Signs with the active key; holds every key's public half for verifying and publishing."""

    def __init__(self, ring: Mapping[int, Ed25519PrivateKey], active_key_id: int) -> None:
        if active_key_id not in ring:
            raise ValueError(f"the active certificate key id {active_key_id} is not in the key ring")
        self._active = ring[active_key_id]
        self.active_key_id = active_key_id
        self.public_keys: dict[int, bytes] = {
            key_id: key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw) for key_id, key in ring.items()}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "CertificateSigner":
        ring = parse_key_ring(config["CERTIFICATE_SIGNING_KEYS"])
        active = config.get("CERTIFICATE_ACTIVE_KEY_ID")
        if not active:
            if len(ring) > 1:
                raise ValueError("CERTIFICATE_ACTIVE_KEY_ID must name the active key of a ring of several")
            active = next(iter(ring))
        return cls(ring, int(active))

    def sign(self, facts: CertificateFacts) -> Signature:
        return Signature(self.active_key_id, _b64url(self._active.sign(facts.canonical())))

    def token(self, facts: CertificateFacts) -> str:
        claims = _CLAIMS.pack(self.active_key_id, public_id_bytes(facts.public_id), facts.version,
                              facts.digest()[:16])
        return (PREFIX.decode() + _b64url(claims + self._active.sign(PREFIX + claims)))

    def jwks(self) -> dict[str, Any]:
        """The public keys as a JWK set (OKP, Ed25519), for the well-known endpoint."""
        return {"keys": [{"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": str(key_id),
                          "x": _b64url(public)} for key_id, public in sorted(self.public_keys.items())],
                "active_kid": str(self.active_key_id)}


def verify_signature(facts: CertificateFacts, signature: Signature, public_keys: Mapping[int, bytes]) -> bool:
    public = public_keys.get(signature.key_id)
    raw = _unb64url(signature.value)
    if public is None or raw is None:
        return False
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(raw, facts.canonical())
    except InvalidSignature:
        return False
    return True


def verify_token(token: str, public_keys: Mapping[int, bytes]) -> TokenClaims | None:
    """The claims of a token one of these keys signed; None for anything else (garbled, tampered
    with, or signed by a key no longer published)."""
    if not isinstance(token, str) or len(token) != TOKEN_CHARS or not token.startswith(PREFIX.decode()):
        return None
    raw = _unb64url(token[len(PREFIX):])
    if raw is None or len(raw) != _CLAIMS.size + _SIGNATURE_BYTES:
        return None
    claims, signature = raw[:_CLAIMS.size], raw[_CLAIMS.size:]
    key_id, public_id, version, digest = _CLAIMS.unpack(claims)
    public = public_keys.get(key_id)
    if public is None:
        return None
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, PREFIX + claims)
    except InvalidSignature:
        return None
    return TokenClaims(key_id=key_id, public_id=_b64url(public_id), version=version, digest=digest)
