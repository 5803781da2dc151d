import base64
import os

import pytest
from pydantic import ValidationError

from registration.adapters.nik_protector import NikProtector, UnreadableNik, key_id_of, parse_key_ring
from registration.settings import DEVELOPMENT_NIK_ENCRYPTION_KEY, RegistrationSettings

NIK = "3517094107850002"


def new_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


LOOKUP_KEY = new_key()


def protector(keys: dict[int, str] | None = None, active: int = 1) -> NikProtector:
    return NikProtector(keys or {1: new_key()}, active, LOOKUP_KEY)


def test_encryption_round_trips_and_never_repeats():
    p = protector()
    sealed_once, sealed_twice = p.encrypt(NIK), p.encrypt(NIK)
    assert sealed_once != sealed_twice  # a fresh nonce each time
    assert NIK.encode() not in sealed_once
    assert p.decrypt(sealed_once) == NIK


def test_the_ciphertext_names_the_key_that_sealed_it():
    p = protector({7: new_key(), 9: new_key()}, active=9)
    assert key_id_of(p.encrypt(NIK)) == 9


def test_lookup_hash_is_keyed():
    other = NikProtector({1: new_key()}, 1, new_key())
    assert protector().lookup_hash(NIK) == protector().lookup_hash(NIK)  # same lookup key, other NIK keys
    assert protector().lookup_hash(NIK) != other.lookup_hash(NIK)


@pytest.mark.parametrize("where", [0, 5, 20, -1])  # the key id, the nonce, the ciphertext, the tag
def test_tampered_ciphertext_is_refused(where):
    keys = {1: new_key(), 2: new_key()}
    sealed = bytearray(protector(keys, active=1).encrypt(NIK))
    sealed[where] ^= 1 if where else 3  # key id 1 -> 2: a key of the ring, but not the one that sealed it
    with pytest.raises(UnreadableNik):
        protector(keys, active=1).decrypt(bytes(sealed))


def test_after_rotation_old_niks_still_open_and_reseal_under_the_new_key():
    old, new = new_key(), new_key()
    sealed_before = protector({1: old}).encrypt(NIK)
    rotated = protector({1: old, 2: new}, active=2)

    assert rotated.decrypt(sealed_before) == NIK  # the old key id still opens what it sealed
    assert not rotated.sealed_by_active_key(sealed_before)
    resealed = rotated.reseal(sealed_before)
    assert key_id_of(resealed) == 2 and rotated.sealed_by_active_key(resealed)
    assert protector({2: new}, active=2).decrypt(resealed) == NIK  # the old key can go now
    with pytest.raises(UnreadableNik):
        protector({2: new}, active=2).decrypt(sealed_before)  # ... but not before rotating


def test_the_key_ring_from_configuration():
    one, two = new_key(), new_key()
    ring = NikProtector.from_config({"NIK_KEYS": f"1:{one}, 2:{two}", "NIK_ACTIVE_KEY_ID": "2",
                                     "NIK_ENCRYPTION_KEY": "ignored when NIK_KEYS is set", "NIK_LOOKUP_KEY": LOOKUP_KEY})
    assert ring.active_key_id == 2 and ring.decrypt(protector({1: one}).encrypt(NIK)) == NIK
    alone = NikProtector.from_config({"NIK_ENCRYPTION_KEY": one, "NIK_LOOKUP_KEY": LOOKUP_KEY})
    assert alone.active_key_id == 1 and alone.decrypt(protector({1: one}).encrypt(NIK)) == NIK
    with pytest.raises(ValueError):  # several keys and none named active
        NikProtector.from_config({"NIK_KEYS": f"1:{one},2:{two}", "NIK_LOOKUP_KEY": LOOKUP_KEY})


@pytest.mark.parametrize("spec", ["", "1", "x:key", "0:key", "256:key", "1:a,1:b"])
def test_malformed_key_rings_are_refused(spec):
    with pytest.raises(ValueError):
        parse_key_ring(spec)


@pytest.mark.parametrize("key", ["not base64!", base64.b64encode(b"16 bytes only!!!").decode()])
def test_keys_must_be_32_bytes_of_base64(key):
    with pytest.raises(ValueError):
        NikProtector({1: key}, 1, LOOKUP_KEY)


def test_settings_refuse_a_ring_with_a_development_key_outside_development():
    production = {"environment": "production", "amqp_uri": "amqp://bimtek:s3cret@rabbit:5672/",
                  "nik_lookup_key": new_key()}
    with pytest.raises(ValidationError, match="NIK_KEYS"):
        RegistrationSettings(**production, nik_keys=f"1:{DEVELOPMENT_NIK_ENCRYPTION_KEY},2:{new_key()}",
                             nik_active_key_id=2)
    with pytest.raises(ValidationError, match="active"):
        RegistrationSettings(**production, nik_keys=f"1:{new_key()}", nik_active_key_id=3)
    settings = RegistrationSettings(**production, nik_keys=f"1:{new_key()},2:{new_key()}", nik_active_key_id=2)
    assert NikProtector.from_config(settings.nameko_config()).active_key_id == 2
