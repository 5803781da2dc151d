from collections import Counter

import pytest

from bimtek_shared.contracts.errors import DomainError
from registration.domain.cooperatives import (
    TEAM_REASONS, Village, change_cooperative, default_name, normalise_legal_entity_number, register_cooperative,
    team_status,
)

# As in the region reference data: desa and a kelurahan of Kabupaten Jombang (a made-up retired one),
# and a desa of Kabupaten Mojokerto.
KNOWN = {
    village.code: village for village in (
        Village("35.17.09.2001", "35.17.09", "Mojongapit", "desa"),
        Village("35.17.09.2003", "35.17.09", "Plandi", "desa"),
        Village("35.17.09.1002", "35.17.09", "Jombatan", "kelurahan"),
        Village("35.17.10.2001", "35.17.10", "Peterongan", "desa"),
        Village("35.17.10.2099", "35.17.10", "Lama", "desa", retired=True),
        Village("35.16.01.2001", "35.16.01", "Tawangrejo", "desa"),
    )
}
FULL_PENGURUS = {"ketua": 1, "wakil_ketua_usaha": 1, "wakil_ketua_keanggotaan": 1, "sekretaris": 1, "bendahara": 1}
FULL_PENGAWAS = {"ketua_pengawas": 1, "anggota_pengawas": 2}


def reasons(positions: dict[str, int]) -> list[tuple]:
    return [(r.code, r.position, r.count) for r in team_status(positions).reasons]


# -- team status --------------------------------------------------------------------------------
def test_five_core_pengurus_and_three_pengawas_with_a_ketua_are_a_complete_team():
    status = team_status({**FULL_PENGURUS, **FULL_PENGAWAS})
    assert status.complete and status.reasons == ()
    assert (status.pengurus, status.pengawas) == (5, 3)
    assert status.positions["anggota_pengurus"] == 0  # every position is listed


def test_seven_pengurus_are_complete_too():
    status = team_status({**FULL_PENGURUS, "anggota_pengurus": 2, **FULL_PENGAWAS})
    assert status.complete and status.pengurus == 7


@pytest.mark.parametrize("positions,expected", [
    # 4 pengurus: too few, even, and one core position vacant
    ({"ketua": 1, "wakil_ketua_usaha": 1, "sekretaris": 1, "bendahara": 1, **FULL_PENGAWAS},
     [("pengurus_fewer_than_5", None, 4), ("pengurus_even", None, 4),
      ("position_vacant", "wakil_ketua_keanggotaan", None)]),
    # 6 pengurus: enough, but even
    ({**FULL_PENGURUS, "anggota_pengurus": 1, **FULL_PENGAWAS}, [("pengurus_even", None, 6)]),
    # 5 pengurus, but two ketua and no bendahara
    ({"ketua": 2, "wakil_ketua_usaha": 1, "wakil_ketua_keanggotaan": 1, "sekretaris": 1, **FULL_PENGAWAS},
     [("position_held_more_than_once", "ketua", 2), ("position_vacant", "bendahara", None)]),
    # 3 pengawas without a ketua pengawas
    ({**FULL_PENGURUS, "anggota_pengawas": 3}, [("position_vacant", "ketua_pengawas", None)]),
    # 4 pengawas: even
    ({**FULL_PENGURUS, "ketua_pengawas": 1, "anggota_pengawas": 3}, [("pengawas_even", None, 4)]),
    # 2 pengawas: too few, even
    ({**FULL_PENGURUS, "ketua_pengawas": 1, "anggota_pengawas": 1},
     [("pengawas_fewer_than_3", None, 2), ("pengawas_even", None, 2)]),
    # 1 pengawas: too few, odd
    ({**FULL_PENGURUS, "ketua_pengawas": 1}, [("pengawas_fewer_than_3", None, 1)]),
    # two ketua pengawas among 3
    ({**FULL_PENGURUS, "ketua_pengawas": 2, "anggota_pengawas": 1},
     [("position_held_more_than_once", "ketua_pengawas", 2)]),
])
def test_an_incomplete_team_gets_every_reason(positions, expected):
    status = team_status(positions)
    assert not status.complete
    assert reasons(positions) == expected


def test_nobody_at_all_is_too_few_and_every_single_position_vacant():
    found = reasons({})
    assert found[0] == ("pengurus_fewer_than_5", None, 0)
    assert ("pengurus_even", None, 0) not in found  # zero is said once, as too few
    assert [position for code, position, _ in found if code == "position_vacant"] == [
        "ketua", "wakil_ketua_usaha", "wakil_ketua_keanggotaan", "sekretaris", "bendahara", "ketua_pengawas"]


def test_a_team_is_counted_from_the_positions_its_participants_hold():
    held = Counter(["ketua", "sekretaris", "bendahara", "wakil_ketua_usaha", "wakil_ketua_keanggotaan",
                    "ketua_pengawas", "anggota_pengawas", "anggota_pengawas"])
    assert team_status(held).complete


def test_reasons_read_in_both_languages():
    for code, (indonesian, english) in TEAM_REASONS.items():
        assert indonesian and english and indonesian != english, code
    vacant = team_status({**FULL_PENGURUS, "anggota_pengawas": 2}).reasons
    assert [r.message("id") for r in vacant] == [
        "Pengawas baru 2 orang; minimal 3.", "Jumlah pengawas 2 orang, genap; harus ganjil.",
        "Jabatan ketua pengawas belum terisi."]
    assert vacant[-1].message("en") == "No one holds the position of ketua pengawas."
    assert vacant[-1].to_dict("en")["code"] == "position_vacant"


def test_an_unknown_position_is_a_bug_not_a_reason():
    with pytest.raises(ValueError):
        team_status({"bupati": 1})


# -- names -----------------------------------------------------------------------------------
def test_default_names_follow_the_official_pattern_for_desa_and_kelurahan():
    assert default_name(KNOWN["35.17.09.2001"]) == "Koperasi Desa Merah Putih Mojongapit"
    assert default_name(KNOWN["35.17.09.1002"]) == "Koperasi Kelurahan Merah Putih Jombatan"


def test_a_new_cooperative_is_named_after_its_first_village_unless_named():
    shared = register_cooperative(regency="35.17", villages=["35.17.09.1002", "35.17.10.2001"], known_villages=KNOWN)
    assert shared.name == "Koperasi Kelurahan Merah Putih Jombatan"
    assert shared.villages == ["35.17.09.1002", "35.17.10.2001"]
    assert shared.districts(KNOWN) == ["35.17.09", "35.17.10"]
    named = register_cooperative(regency="35.17", villages=["35.17.09.2003"], known_villages=KNOWN,
                                 name="  Koperasi   Desa Merah Putih  Plandi Jaya ")
    assert named.name == "Koperasi Desa Merah Putih Plandi Jaya"
    assert named.version == 1 and named.updated_at == named.created_at


# -- villages ----------------------------------------------------------------------------------
def test_villages_must_exist_and_lie_in_the_cooperatives_regency():
    with pytest.raises(DomainError) as unknown:
        register_cooperative(regency="35.17", villages=["35.17.09.2999"], known_villages=KNOWN)
    assert (unknown.value.code, unknown.value.params) == ("village_not_found", {"village": "35.17.09.2999"})
    with pytest.raises(DomainError) as elsewhere:
        register_cooperative(regency="35.17", villages=["35.17.09.2001", "35.16.01.2001"], known_villages=KNOWN)
    assert elsewhere.value.code == "village_out_of_regency"
    assert elsewhere.value.params == {"village": "35.16.01.2001", "regency": "35.17"}
    with pytest.raises(DomainError) as none:
        register_cooperative(regency="35.17", villages=[], known_villages=KNOWN)
    assert none.value.code == "validation_failed"


def test_a_retired_village_may_stay_but_not_be_added():
    with pytest.raises(DomainError) as retired:
        register_cooperative(regency="35.17", villages=["35.17.10.2099"], known_villages=KNOWN)
    assert retired.value.code == "village_not_found"
    cooperative = register_cooperative(regency="35.17", villages=["35.17.09.2001"], known_villages=KNOWN)
    cooperative.villages = ["35.17.09.2001", "35.17.10.2099"]  # served before the code was retired
    assert change_cooperative(cooperative, {"villages": ["35.17.10.2099", "35.17.09.2003"]}, KNOWN) == ["villages"]


def test_the_same_village_twice_counts_once():
    cooperative = register_cooperative(regency="35.17", villages=["35.17.09.2001", "35.17.09.2001"],
                                       known_villages=KNOWN)
    assert cooperative.villages == ["35.17.09.2001"]


# -- changes ----------------------------------------------------------------------------------
def test_a_change_reports_what_changed_and_raises_the_version():
    cooperative = register_cooperative(regency="35.17", villages=["35.17.09.2001"], known_villages=KNOWN,
                                       contact_phone="0812 3456 7890")
    assert cooperative.contact_phone == "+6281234567890"
    changed = change_cooperative(cooperative, {"villages": ["35.17.09.2001", "35.17.09.2003"],
                                               "contact_phone": "+62 812-3456-7890",
                                               "contact_email": " Koperasi@Example.ID "}, KNOWN)
    assert changed == ["villages", "contact_email"]  # the phone is the same number
    assert cooperative.version == 2 and cooperative.updated_at > cooperative.created_at
    assert cooperative.contact_email == "koperasi@example.id"
    assert change_cooperative(cooperative, {"contact_phone": "081234567890"}, KNOWN) == []
    assert cooperative.version == 2  # nothing changed, nothing to announce


def test_clearing_the_name_gives_back_the_default_of_the_first_village():
    cooperative = register_cooperative(regency="35.17", villages=["35.17.09.2001"], known_villages=KNOWN,
                                       name="Koperasi Kita")
    change_cooperative(cooperative, {"villages": ["35.17.09.1002"], "name": None}, KNOWN)
    assert cooperative.name == "Koperasi Kelurahan Merah Putih Jombatan"


def test_a_cooperative_keeps_at_least_one_village():
    cooperative = register_cooperative(regency="35.17", villages=["35.17.09.2001"], known_villages=KNOWN)
    for villages in ([], None):
        with pytest.raises(DomainError) as caught:
            change_cooperative(cooperative, {"villages": villages}, KNOWN)
        assert caught.value.code == "validation_failed"


# -- legal entity number and contact ------------------------------------------------------------
@pytest.mark.parametrize("number,stored", [
    ("1234567890123", "1234567890123"),  # NIB
    (" ahu-0001234.ah.01.29.tahun  2025 ", "AHU-0001234.AH.01.29.TAHUN 2025"),
    ("518/123/BH/XVI.12/2019", "518/123/BH/XVI.12/2019"),
    ("", None),
    (None, None),
])
def test_legal_entity_numbers_accepted(number, stored):
    assert normalise_legal_entity_number(number) == stored


@pytest.mark.parametrize("number", ["12345", "12345678901234", "AHU-ABC", "AHU-0001234;DROP", "-12345-"])
def test_legal_entity_numbers_refused(number):
    with pytest.raises(DomainError) as caught:
        normalise_legal_entity_number(number)
    assert caught.value.params["errors"][0]["field"] == "legal_entity_number"


@pytest.mark.parametrize("field,value", [("contact_phone", "12345"), ("contact_email", "no-at-sign.example")])
def test_bad_contacts_are_refused_naming_the_field(field, value):
    with pytest.raises(DomainError) as caught:
        register_cooperative(regency="35.17", villages=["35.17.09.2001"], known_villages=KNOWN, **{field: value})
    assert caught.value.params["errors"][0]["field"] == field
