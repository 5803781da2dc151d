from datetime import date

from scheduling.adapters.calendar import names, non_working_days


def test_national_holidays_and_cuti_bersama_are_days_off_and_weekdays_otherwise_are_not():
    days_off = non_working_days(date(2025, 1, 1), date(2025, 12, 31))

    assert date(2025, 8, 17) in days_off  # Hari Kemerdekaan
    assert {date(2025, 4, 2), date(2025, 4, 3), date(2025, 4, 4), date(2025, 4, 7)} <= days_off  # cuti bersama Idul Fitri
    assert date(2025, 12, 26) in days_off  # cuti bersama Natal
    assert not any(day.month == 10 for day in days_off)
    assert date(2025, 4, 8) not in days_off


def test_only_the_days_asked_for_and_named_in_bahasa_indonesia():
    assert non_working_days(date(2025, 12, 27), date(2025, 12, 31)) == frozenset()
    assert names(date(2025, 12, 25), date(2025, 12, 26)) == {
        date(2025, 12, 25): "Hari Raya Natal", date(2025, 12, 26): "Cuti Bersama Hari Raya Natal"}
