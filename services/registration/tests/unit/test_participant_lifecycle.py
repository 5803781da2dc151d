"""A participant's life in the domain: changes, the single-holder positions, withdrawal,
substitution chains and erasure."""
import uuid
from datetime import date

import pytest

from bimtek_shared.contracts.errors import DomainError
from registration.adapters.regions import RegionIndex
from registration.domain import model
from registration.domain.model import ParticipantStatus

JATIM = RegionIndex(loaded_provinces=frozenset({"35"}), regencies=frozenset({"35.17"}),
                    districts=frozenset({"35.17.09"}))
COOPERATIVE = uuid.uuid4()
_serials = iter(range(1, 10_000))


def person(female: bool = False, born: date = date(1980, 3, 15)) -> dict:
    """A valid identity of kecamatan 35.17.09 that no other test uses."""
    day = born.day + (40 if female else 0)
    return {"nik": f"351709{day:02d}{born:%m%y}{next(_serials):04d}", "sex": "P" if female else "L",
            "birth_date": born, "full_name": "Peserta Uji"}


def participant(position: str = "ketua", cooperative: uuid.UUID | None = COOPERATIVE) -> model.Participant:
    return model.register(regency="35.17", position=position, cooperative_id=cooperative, regions=JATIM, **person())


def refused(code: str, call, *args, **kwargs) -> DomainError:
    with pytest.raises(DomainError) as caught:
        call(*args, **kwargs)
    assert caught.value.code == code, caught.value.params
    return caught.value


# -- changes -----------------------------------------------------------------------------------
def test_a_change_touches_only_what_it_names_and_raises_the_version():
    p = participant("sekretaris")
    changed = model.change(p, {"full_name": "  Budi   Santoso ", "phone": "0812 3456 7890", "position": "sekretaris"},
                           JATIM)
    assert changed == ["full_name", "phone"]  # the position was the same
    assert (p.full_name, p.phone, p.version) == ("Budi Santoso", "+6281234567890", 2)
    assert model.change(p, {"full_name": "Budi Santoso"}, JATIM) == [] and p.version == 2


def test_a_new_position_moves_the_position_group():
    p = participant("bendahara")
    model.change(p, {"position": "anggota_pengawas"}, JATIM)
    assert p.position_group is model.PositionGroup.PENGAWAS


@pytest.mark.parametrize("sent", [("nik",), ("sex",), ("birth_date",), ("nik", "sex"), ("nik", "birth_date")])
def test_nik_sex_and_birth_date_are_corrected_only_together(sent):
    p, correct = participant(), person(female=True, born=date(1985, 7, 1))
    error = refused("validation_failed", model.change, p, {name: correct[name] for name in sent}, JATIM)
    assert {e["field"] for e in error.params["errors"]} == {"nik", "sex", "birth_date"} - set(sent)


def test_a_correction_is_checked_like_a_registration():
    p, correct = participant(), person(female=True, born=date(1985, 7, 1))
    refused("nik_invalid", model.change, p, {"nik": correct["nik"], "sex": "L", "birth_date": correct["birth_date"]},
            JATIM)
    changed = model.change(p, {name: correct[name] for name in ("nik", "sex", "birth_date")}, JATIM)
    assert changed == ["nik", "sex", "birth_date"] and p.nik == correct["nik"] and p.sex == "P"


@pytest.mark.parametrize("changes", [{"full_name": "   "}, {"position": "direktur"}, {"phone": "12345"}])
def test_invalid_changes_are_refused(changes):
    refused("validation_failed", model.change, participant(), changes, JATIM)


# -- one holder per position -------------------------------------------------------------------
@pytest.mark.parametrize("position, alone", [
    ("ketua", True), ("wakil_ketua_usaha", True), ("wakil_ketua_keanggotaan", True), ("sekretaris", True),
    ("bendahara", True), ("ketua_pengawas", True), ("anggota_pengurus", False), ("anggota_pengawas", False),
])
def test_which_positions_one_person_holds(position, alone):
    assert participant(position).holds_alone is alone
    assert participant(position, cooperative=None).holds_alone is False  # no cooperative, no team yet


def test_a_single_holder_position_held_by_another_is_taken():
    newcomer = participant("ketua")
    model.check_position_free(newcomer, None)  # vacant
    model.check_position_free(newcomer, newcomer.id)  # held by themselves (a change of something else)
    error = refused("position_taken", model.check_position_free, newcomer, uuid.uuid4())
    assert error.params == {"position": "ketua"}
    model.check_position_free(participant("anggota_pengurus"), uuid.uuid4())  # members may be many


def test_a_withdrawn_participant_holds_no_position():
    p = participant("ketua")
    model.withdraw(p, "resigned")
    assert not p.holds_alone


# -- withdrawal and substitution ---------------------------------------------------------------
def test_withdrawal_keeps_the_participant_and_records_why():
    p = participant()
    model.withdraw(p, "deceased")
    assert p.status is ParticipantStatus.WITHDRAWN and p.withdrawal_reason == "deceased"
    assert p.withdrawn_at is not None and p.version == 2 and p.full_name == "Peserta Uji"
    refused("participant_not_active", model.withdraw, p, "resigned")
    refused("participant_not_active", model.change, p, {"full_name": "Lain"}, JATIM)


@pytest.mark.parametrize("reason", ["substituted", "bosan", ""])
def test_only_known_reasons_withdraw_and_substituted_only_by_a_substitution(reason):
    refused("validation_failed", model.withdraw, participant(), reason)


def test_a_substitution_chain_keeps_every_link():
    a = participant("bendahara")
    b = model.substitute(a, regions=JATIM, **person(female=True))
    c = model.substitute(b, regions=JATIM, **person())

    assert (a.replaces, a.replaced_by) == (None, b.id)
    assert (b.replaces, b.replaced_by) == (a.id, c.id)
    assert (c.replaces, c.replaced_by) == (b.id, None)
    assert [x.status for x in (a, b, c)] == [ParticipantStatus.WITHDRAWN, ParticipantStatus.WITHDRAWN,
                                            ParticipantStatus.ACTIVE]
    assert {x.withdrawal_reason for x in (a, b)} == {"substituted"}
    # The replacement takes the same place: regency, cooperative and position.
    assert {(x.regency, x.cooperative_id, x.position) for x in (a, b, c)} == {("35.17", COOPERATIVE, "bendahara")}
    assert c.holds_alone and not b.holds_alone


def test_someone_no_longer_active_cannot_be_substituted():
    a = participant()
    model.substitute(a, regions=JATIM, **person())
    refused("participant_not_active", model.substitute, a, regions=JATIM, **person())
    withdrawn = participant()
    model.withdraw(withdrawn, "resigned")
    refused("participant_not_active", model.substitute, withdrawn, regions=JATIM, **person())


def test_a_replacement_is_checked_like_any_registration():
    a = participant()
    bad = person() | {"sex": "P"}  # a man's NIK
    refused("nik_invalid", model.substitute, a, regions=JATIM, **bad)
    assert a.status is ParticipantStatus.ACTIVE and a.replaced_by is None  # nothing happened to the one replaced


# -- erasure -----------------------------------------------------------------------------------
def test_erasure_drops_every_personal_field_and_keeps_what_counts():
    p = participant("sekretaris")
    model.change(p, {"phone": "081234567890"}, JATIM)
    kept = (p.id, p.regency, p.cooperative_id, p.position_group, p.registered_at)

    model.erase(p)

    assert (p.participant_code, p.nik, p.full_name, p.sex, p.birth_date, p.position, p.phone) == (None,) * 7
    assert (p.id, p.regency, p.cooperative_id, p.position_group, p.registered_at) == kept
    assert p.status is ParticipantStatus.ERASED and p.erased_at is not None and p.version == 3
    assert not p.holds_alone
    refused("participant_erased", model.erase, p)
    refused("participant_erased", model.withdraw, p, "resigned")
    refused("participant_erased", model.substitute, p, regions=JATIM, **person())


def test_a_withdrawn_participant_may_be_erased_and_keeps_its_links():
    a = participant()
    b = model.substitute(a, regions=JATIM, **person())
    model.erase(a)
    assert a.replaced_by == b.id and a.withdrawn_at is not None and a.status is ParticipantStatus.ERASED
