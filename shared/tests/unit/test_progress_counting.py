"""How progress figures add up (contracts.progress): per kecamatan and per regency, a cooperative of
two kecamatan in both rows and once in the totals, people without a cooperative in the totals only;
and whose regency a progress question is about."""
import pytest

from bimtek_shared.contracts.caller import Caller
from bimtek_shared.contracts.errors import DomainError
from bimtek_shared.contracts.progress import FIGURES, scope_of, tally, units_of

FIGURES_OF_SCHEDULING = FIGURES["scheduling"]


def test_a_cooperative_of_two_kecamatan_counts_in_both_rows_and_once_in_the_totals():
    units = [
        ("35.17", ["35.17.01", "35.17.02"], {"participants_scheduled": 8, "participants_completed": 5}),
        ("35.17", ["35.17.01"], {"participants_scheduled": 3}),
        ("35.17", [], {"participants_scheduled": 2}),  # no cooperative: the regency's totals only
        ("35.15", ["35.15.04", "35.15.04"], {"participants_checked_in": 1}),  # a kecamatan named twice counts once
    ]
    jombang, sidoarjo = tally(units, FIGURES_OF_SCHEDULING)[::-1]
    assert jombang["totals"] == {"participants_scheduled": 13, "participants_checked_in": 0, "participants_completed": 5}
    assert jombang["districts"] == {
        "35.17.01": {"participants_scheduled": 11, "participants_checked_in": 0, "participants_completed": 5},
        "35.17.02": {"participants_scheduled": 8, "participants_checked_in": 0, "participants_completed": 5}}
    assert sidoarjo["districts"]["35.15.04"]["participants_checked_in"] == 1
    assert sidoarjo["totals"]["participants_checked_in"] == 1


def test_regencies_asked_for_are_listed_even_with_nothing_counted_and_in_code_order():
    answer = tally([("35.17", ["35.17.01"], {"participants_scheduled": 1})], FIGURES_OF_SCHEDULING,
                   ["35.78", "35.01"])
    assert [entry["regency"] for entry in answer] == ["35.01", "35.17", "35.78"]
    assert answer[0] == {"regency": "35.01", "totals": dict.fromkeys(FIGURES_OF_SCHEDULING, 0), "districts": {}}


def test_units_from_figures_per_cooperative_take_the_cooperatives_kecamatan():
    figures = {("35.17", "coop-a"): {"certificates_issued": 8}, ("35.17", None): {"certificates_issued": 1},
               ("35.17", "coop-unknown"): {"certificates_revoked": 1}}
    units = units_of(figures, {"coop-a": ["35.17.09"]})
    assert sorted(units, key=repr) == sorted([
        ("35.17", ["35.17.09"], {"certificates_issued": 8}), ("35.17", (), {"certificates_issued": 1}),
        ("35.17", (), {"certificates_revoked": 1})], key=repr)


def caller(role: str, regency: str) -> Caller:
    return Caller(user="u", role=role, regency=regency, correlation_id="c")


def test_the_scope_is_the_callers_regency_or_for_the_province_any_or_all():
    assert scope_of(caller("operator", "35.17"), None) == "35.17"
    assert scope_of(caller("operator", "35.17"), "35.17") == "35.17"
    with pytest.raises(DomainError) as refused:
        scope_of(caller("trainer", "35.17"), "35.15")
    assert refused.value.code == "regency_out_of_scope"
    assert scope_of(caller("province_admin", "*"), None) is None
    assert scope_of(caller("province_admin", "*"), "35.15") == "35.15"
