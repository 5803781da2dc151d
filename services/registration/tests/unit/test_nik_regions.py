"""The NIK's region digits against the region reference data: errors where the province is loaded,
warnings where it is not, and warnings for people registered away from where their NIK was issued."""
from datetime import date

import pytest

from bimtek_shared.contracts.errors import DomainError, message_for
from registration.adapters.regions import RegionIndex
from registration.domain import model

# Jawa Timur (35) is loaded; Jawa Tengah (33) is not.
REGIONS = RegionIndex(
    loaded_provinces=frozenset({"35"}),
    regencies=frozenset({"35.15", "35.17", "35.78"}),
    districts=frozenset({"35.15.01", "35.17.09", "35.78.01"}),
)


def register(region_digits: str, regency: str, regions: RegionIndex = REGIONS) -> model.Participant:
    """A woman born 1 July 1985 whose NIK starts with ``region_digits`` (PPKKCC)."""
    return model.register(regency=regency, nik=f"{region_digits}4107850002", full_name="Siti Aminah", sex="P",
                          birth_date=date(1985, 7, 1), position="ketua", regions=regions)


@pytest.mark.parametrize("region_digits, regency, warnings", [
    ("351709", "35.17", []),  # loaded, known, registered where issued
    ("357801", "35.17", ["nik_from_other_regency"]),  # moved within the province
    ("351709", "33.15", ["nik_from_other_province"]),  # moved to another province
    ("331501", "35.17", ["nik_region_not_checked", "nik_from_other_province"]),  # from a province not loaded
    ("331501", "33.15", ["nik_region_not_checked"]),  # a province not loaded, registered where issued
    ("331601", "33.15", ["nik_region_not_checked", "nik_from_other_regency"]),
], ids=["home", "other-regency", "other-province", "unloaded-other-province", "unloaded-home",
        "unloaded-other-regency"])
def test_region_digits_that_exist_or_cannot_be_checked_register_with_warnings(region_digits, regency, warnings):
    assert register(region_digits, regency).warnings == warnings


@pytest.mark.parametrize("region_digits, reason", [
    ("359901", "nik_unknown_regency"),  # no regency 35.99 in loaded Jawa Timur
    ("351799", "nik_unknown_district"),  # Jombang has no kecamatan 35.17.99
    ("991709", "nik_unknown_province"),  # no province 99 in Indonesia
], ids=["unknown-regency", "unknown-kecamatan", "unknown-province"])
def test_region_digits_a_loaded_province_does_not_have_are_refused(region_digits, reason):
    with pytest.raises(DomainError) as caught:
        register(region_digits, "35.17")
    assert caught.value.code == "nik_invalid"
    assert caught.value.params == {"reason": reason}


def test_nothing_loaded_means_nothing_refused_but_every_region_is_flagged():
    assert register("351799", "35.17", regions=RegionIndex()).warnings == ["nik_region_not_checked"]


def test_the_new_reasons_read_well_in_both_languages():
    assert message_for("nik_invalid", reason="nik_unknown_district") == "NIK tidak valid: kode kecamatan tidak dikenal."
    assert message_for("nik_invalid", "en", reason="nik_unknown_regency") == "Invalid NIK: unknown regency code."
    assert message_for("region_not_found", "en") == "Region not found."
