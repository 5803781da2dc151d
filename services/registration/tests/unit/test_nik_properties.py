"""What a NIK says, checked over every NIK a strategy can build rather than a few examples."""
from datetime import date, timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from bimtek_shared.contracts.errors import DomainError
from registration.adapters.regions import RegionIndex
from registration.domain import model
from registration.domain.nik import mask_nik, parse_nik
from registration.domain.regions import PROVINCES

TODAY = date(2026, 11, 28)
# Two-digit years are read as the latest century that is not in the future: a NIK names only
# people born in the hundred years up to today.
BORN = st.dates(min_value=date(TODAY.year - 99, 1, 1), max_value=TODAY)
# Read the same whatever the real today is for decades to come (registration reads against it).
ADULTS = st.dates(min_value=date(1940, 1, 1), max_value=date(2010, 12, 31))
NOTHING_LOADED = RegionIndex()  # no province's region data: the region digits are not checked


def digits(n: int) -> st.SearchStrategy[str]:
    return st.integers(0, 10 ** n - 1).map(lambda value: f"{value:0{n}d}")


@st.composite
def niks(draw, born=BORN):
    """A valid synthetic NIK with the parts it was built from."""
    parts = {
        "province": draw(st.sampled_from(sorted(PROVINCES))),
        "regency": draw(digits(2)),
        "district": draw(digits(2)),
        "birth_date": draw(born),
        "female": draw(st.booleans()),
        "serial": f"{draw(st.integers(1, 9999)):04d}",
    }
    born = parts["birth_date"]
    day = born.day + (40 if parts["female"] else 0)
    parts["nik"] = (f"{parts['province']}{parts['regency']}{parts['district']}"
                    f"{day:02d}{born.month:02d}{born.year % 100:02d}{parts['serial']}")
    return parts


@given(niks())
def test_any_valid_nik_parses_back_to_its_parts(parts):
    facts = parse_nik(parts["nik"], today=TODAY)
    assert facts.province == parts["province"]
    assert facts.regency == f"{parts['province']}.{parts['regency']}"
    assert facts.district == f"{parts['province']}.{parts['regency']}.{parts['district']}"
    assert facts.birth_date == parts["birth_date"]
    assert facts.serial == parts["serial"]


@given(niks())
def test_the_day_carries_forty_more_exactly_for_women(parts):
    facts = parse_nik(parts["nik"], today=TODAY)
    assert (facts.sex == "P") is parts["female"]
    assert (int(parts["nik"][6:8]) > 40) is parts["female"]


@given(niks(born=ADULTS))
def test_registration_agrees_with_its_nik_and_refuses_the_other_sex(parts):
    sex = "P" if parts["female"] else "L"
    fields = dict(regency="35.17", nik=parts["nik"], full_name="Peserta Uji", birth_date=parts["birth_date"],
                  position="anggota_pengurus", regions=NOTHING_LOADED)
    assert model.register(sex=sex, **fields).nik == parts["nik"]
    with pytest.raises(DomainError) as caught:
        model.register(sex="L" if sex == "P" else "P", **fields)
    assert caught.value.params == {"reason": "nik_sex_mismatch"}


@given(province=st.sampled_from(sorted(PROVINCES)), day=st.integers(0, 99), month=st.integers(0, 99),
       year=st.integers(0, 99), serial=st.integers(1, 9999))
def test_a_birth_date_that_does_not_exist_is_refused(province, day, month, year, serial):
    real_day = day - 40 if day > 40 else day
    try:
        date(2000 + year, month, real_day)
        date(1900 + year, month, real_day)
        exists = True
    except ValueError:
        exists = False
    assume(not exists)
    with pytest.raises(DomainError) as caught:
        parse_nik(f"{province}1709{day:02d}{month:02d}{year:02d}{serial:04d}", today=TODAY)
    assert caught.value.params == {"reason": "nik_birth_date_impossible"}


@given(st.text(alphabet="0123456789", min_size=16, max_size=16))
def test_masking_shows_the_last_four_digits_and_nothing_else(nik):
    masked = mask_nik(nik)
    assert masked == "*" * 12 + nik[-4:]
    assert len(masked) == 16 and set(masked[:12]) == {"*"}


@given(st.text(min_size=0, max_size=20).filter(lambda text: not (len(text) == 16 and text.isascii()
                                                                   and text.isdigit())))
def test_anything_but_sixteen_digits_is_refused(text):
    with pytest.raises(DomainError) as caught:
        parse_nik(text, today=TODAY)
    assert caught.value.params == {"reason": "nik_not_16_digits"}


def test_the_oldest_and_youngest_readable_birth_dates():
    oldest, youngest = date(TODAY.year - 99, 1, 1), TODAY
    assert parse_nik(f"351709{oldest:%d%m%y}0001", today=TODAY).birth_date == oldest
    assert parse_nik(f"351709{youngest:%d%m%y}0001", today=TODAY).birth_date == youngest
    # A day later this year would be in the future: the same digits name a day a century earlier.
    tomorrow = youngest + timedelta(days=1)
    assert parse_nik(f"351709{tomorrow:%d%m%y}0001", today=TODAY).birth_date == date(tomorrow.year - 100, 11, 29)
