import base64
import os

import pytest

from registration.adapters.nik_protector import NikProtector


def protector():
    return NikProtector(base64.b64encode(os.urandom(32)).decode(), base64.b64encode(os.urandom(32)).decode())


def test_encryption_round_trips_and_never_repeats():
    p = protector()
    sealed_once, sealed_twice = p.encrypt("3517094107850002"), p.encrypt("3517094107850002")
    assert sealed_once != sealed_twice  # a fresh nonce each time
    assert b"3517094107850002" not in sealed_once
    assert p.decrypt(sealed_once) == "3517094107850002"


def test_lookup_hash_is_keyed():
    a, b = protector(), protector()
    assert a.lookup_hash("3517094107850002") == a.lookup_hash("3517094107850002")
    assert a.lookup_hash("3517094107850002") != b.lookup_hash("3517094107850002")


def test_tampered_ciphertext_is_refused():
    p = protector()
    sealed = bytearray(p.encrypt("3517094107850002"))
    sealed[-1] ^= 1
    with pytest.raises(Exception):
        p.decrypt(bytes(sealed))
