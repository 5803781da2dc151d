from datetime import date

import pytest

from bimtek_shared.contracts.errors import DomainError
from registration.adapters.regions import RegionIndex
from registration.domain import model
from registration.domain.nik import mask_nik, parse_nik


def test_a_womans_nik_carries_her_birth_day_plus_forty():
    facts = parse_nik("3517094107850002", today=date(2026, 11, 28))
    assert facts.province == "35" and facts.regency == "35.17" and facts.district == "35.17.09"
    assert facts.birth_date == date(1985, 7, 1)
    assert facts.sex == "P"
    assert facts.serial == "0002"


def test_a_mans_nik_and_the_two_digit_century():
    assert parse_nik("3517091503100001", today=date(2026, 11, 28)).birth_date == date(2010, 3, 15)
    assert parse_nik("3517091503300001", today=date(2026, 11, 28)).birth_date == date(1930, 3, 15)
    assert parse_nik("3517091503100001").sex == "L"


@pytest.mark.parametrize("nik,reason", [
    ("351709410785000", "nik_not_16_digits"),
    ("35170941078500021", "nik_not_16_digits"),
    ("35170941078500a2", "nik_not_16_digits"),
    ("9917094107850002", "nik_unknown_province"),
    ("3517097207850002", "nik_birth_date_impossible"),  # day 32 after taking 40 off
    ("3517093102850002", "nik_birth_date_impossible"),  # 31 February
    ("3517094107850000", "nik_serial_zero"),
])
def test_invalid_niks_are_refused_with_a_reason(nik, reason):
    with pytest.raises(DomainError) as caught:
        parse_nik(nik)
    assert caught.value.code == "nik_invalid"
    assert caught.value.params == {"reason": reason}


def test_masking_shows_only_the_last_four_digits():
    assert mask_nik("3517094107850002") == "************0002"


# Jawa Timur's reference data, as far as these tests need it.
JATIM = RegionIndex(loaded_provinces=frozenset({"35"}), regencies=frozenset({"35.17", "35.78"}),
                    districts=frozenset({"35.17.09"}))


def register(**overrides):
    fields = dict(regency="35.17", nik="3517094107850002", full_name="  Siti   Aminah ", sex="P",
                  birth_date=date(1985, 7, 1), position="ketua", phone="0812-3456-7890", regions=JATIM)
    return model.register(**fields | overrides)


def test_registration_normalises_name_and_phone_and_issues_a_code():
    participant = register()
    assert participant.full_name == "Siti Aminah"
    assert participant.phone == "+6281234567890"
    assert len(participant.participant_code) == model.CODE_LENGTH
    assert set(participant.participant_code) <= set(model.CODE_ALPHABET)
    assert participant.position_group is model.PositionGroup.PENGURUS
    assert participant.warnings == []


@pytest.mark.parametrize("overrides,reason", [
    ({"sex": "L"}, "nik_sex_mismatch"),
    ({"birth_date": date(1985, 7, 2)}, "nik_birth_date_mismatch"),
])
def test_the_nik_must_agree_with_sex_and_birth_date(overrides, reason):
    with pytest.raises(DomainError) as caught:
        register(**overrides)
    assert caught.value.params["reason"] == reason


def test_a_nik_from_another_regency_is_allowed_with_a_warning():
    assert register(regency="35.78").warnings == ["nik_from_other_regency"]


@pytest.mark.parametrize("phone,expected", [
    ("081234567890", "+6281234567890"), ("+62 812-3456-7890", "+6281234567890"),
    ("6281234567890", "+6281234567890"), (None, None), ("  ", None),
])
def test_phone_numbers_are_normalised_to_plus_62(phone, expected):
    assert model.normalise_phone(phone) == expected


@pytest.mark.parametrize("phone", ["12345", "0212345678", "+1 555 0100", "08123abc"])
def test_numbers_that_cannot_be_indonesian_mobiles_are_refused(phone):
    with pytest.raises(DomainError):
        model.normalise_phone(phone)


def test_unknown_positions_are_refused():
    with pytest.raises(DomainError):
        register(position="direktur")
    assert register(position="ketua_pengawas").position_group is model.PositionGroup.PENGAWAS
