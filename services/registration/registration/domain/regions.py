"""The official regions of Indonesia as registration sees them, and what they say of a NIK.

The province list is fixed here (38 provinces since the 2022 Papua split); regencies and kecamatan
come from the region reference data, loaded a province at a time. The domain reads that data only
through :class:`RegionDirectory`, a port the adapters implement.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from bimtek_shared.contracts.errors import DomainError

if TYPE_CHECKING:
    from .nik import NikFacts

# Kemendagri province codes and names.
PROVINCES: dict[str, str] = {
    "11": "Aceh", "12": "Sumatera Utara", "13": "Sumatera Barat", "14": "Riau", "15": "Jambi",
    "16": "Sumatera Selatan", "17": "Bengkulu", "18": "Lampung", "19": "Kepulauan Bangka Belitung",
    "21": "Kepulauan Riau", "31": "DKI Jakarta", "32": "Jawa Barat", "33": "Jawa Tengah",
    "34": "Daerah Istimewa Yogyakarta", "35": "Jawa Timur", "36": "Banten", "51": "Bali",
    "52": "Nusa Tenggara Barat", "53": "Nusa Tenggara Timur", "61": "Kalimantan Barat",
    "62": "Kalimantan Tengah", "63": "Kalimantan Selatan", "64": "Kalimantan Timur", "65": "Kalimantan Utara",
    "71": "Sulawesi Utara", "72": "Sulawesi Tengah", "73": "Sulawesi Selatan", "74": "Sulawesi Tenggara",
    "75": "Gorontalo", "76": "Sulawesi Barat", "81": "Maluku", "82": "Maluku Utara", "91": "Papua",
    "92": "Papua Barat", "93": "Papua Selatan", "94": "Papua Tengah", "95": "Papua Pegunungan",
    "96": "Papua Barat Daya",
}

# Warnings a registration can carry: allowed, but never silently.
NIK_FROM_OTHER_REGENCY = "nik_from_other_regency"
NIK_FROM_OTHER_PROVINCE = "nik_from_other_province"
NIK_REGION_NOT_CHECKED = "nik_region_not_checked"  # the NIK's province has no reference data loaded


class RegionDirectory(Protocol):
    """What the domain asks of the region reference data."""

    def is_loaded(self, province: str) -> bool:
        """Whether the province's regencies and kecamatan are known."""

    def has_regency(self, code: str) -> bool: ...

    def has_district(self, code: str) -> bool: ...


def check_nik_region(facts: NikFacts, regency: str, regions: RegionDirectory) -> list[str]:
    """The warnings the NIK's region digits give a registration in ``regency``; refuses digits
    that name no regency or kecamatan of a province whose reference data is loaded.

    The province digits were checked when the NIK was parsed. Codes of regions since retired still
    count: a NIK keeps the kecamatan it was first issued in.
    """
    warnings = []
    if not regions.is_loaded(facts.province):
        warnings.append(NIK_REGION_NOT_CHECKED)
    elif not regions.has_regency(facts.regency):
        raise DomainError("nik_invalid", {"reason": "nik_unknown_regency"})
    elif not regions.has_district(facts.district):
        raise DomainError("nik_invalid", {"reason": "nik_unknown_district"})
    # People move: a NIK first issued elsewhere is allowed.
    if facts.province != regency.partition(".")[0]:
        warnings.append(NIK_FROM_OTHER_PROVINCE)
    elif facts.regency != regency:
        warnings.append(NIK_FROM_OTHER_REGENCY)
    return warnings
