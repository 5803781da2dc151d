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

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bimtek_shared import signing_keys
from bimtek_shared.signing_keys import SigningKeyRing

from ..domain.certificates import CertificateFacts

PREFIX = b"BKC1."
_CLAIMS = struct.Struct(">B16sH16s")  # key id, public id, version, digest of the canonical data
_SIGNATURE_BYTES = 64
TOKEN_CHARS = len(PREFIX) + (4 * (_CLAIMS.size + _SIGNATURE_BYTES) + 2) // 3
SETTING = "CERTIFICATE_SIGNING_KEYS"


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
    return signing_keys.parse_key_ring(spec, SETTING)


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


class CertificateSigner(SigningKeyRing):
    """Signs with the active key; holds every key's public half for verifying and publishing."""

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "CertificateSigner":
        return cls.from_setting(config[SETTING], config.get("CERTIFICATE_ACTIVE_KEY_ID"), SETTING)

    def sign(self, facts: CertificateFacts) -> Signature:
        return Signature(self.active_key_id, _b64url(super().sign(facts.canonical())))

    def token(self, facts: CertificateFacts) -> str:
        claims = _CLAIMS.pack(self.active_key_id, public_id_bytes(facts.public_id), facts.version,
                              facts.digest()[:16])
        return PREFIX.decode() + _b64url(claims + super().sign(PREFIX + claims))

    def jwks(self) -> dict[str, Any]:
        """The public keys as a JWK set (OKP, Ed25519), for the well-known endpoint."""
        return {"keys": [{"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": str(key_id),
                          "x": _b64url(public)} for key_id, public in sorted(self.public_keys.items())],
                "active_kid": str(self.active_key_id)}


def verify_signature(facts: CertificateFacts, signature: Signature, public_keys: Mapping[int, bytes]) -> bool:
    raw = _unb64url(signature.value)
    return raw is not None and signing_keys.verify_signature(public_keys, signature.key_id, raw, facts.canonical())


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
    if not signing_keys.verify_signature(public_keys, key_id, signature, PREFIX + claims):
        return None
    return TokenClaims(key_id=key_id, public_id=_b64url(public_id), version=version, digest=digest)
