"""Indonesia's days off, for the planner's ``non_working_days``: national holidays (libur nasional)
and cuti bersama, from the ``holidays`` package (its ``public`` and ``government`` categories:
the government category is the cuti bersama set by the joint ministerial decree). Weekends are
not listed: the planner skips them itself. Years the decree has not yet covered carry the
package's estimates (Islamic holidays marked "perkiraan"), so re-plan when the decree comes out.
"""
from __future__ import annotations

from datetime import date
from functools import lru_cache

import holidays
from holidays.countries.indonesia import Indonesia

CATEGORIES = ("public", "government")  # libur nasional, cuti bersama


def non_working_days(start: date, end: date) -> frozenset[date]:
    """Every national holiday and cuti bersama from ``start`` to ``end`` inclusive."""
    return frozenset(day for day in _calendar(start, end) if start <= day <= end)


def names(start: date, end: date) -> dict[date, str]:
    """The same days with their names in Bahasa Indonesia (several on one day joined by "; ")."""
    calendar = _calendar(start, end)
    return {day: calendar[day] for day in sorted(calendar) if start <= day <= end}


def _calendar(start: date, end: date) -> holidays.HolidayBase:
    return _years(start.year, end.year)


@lru_cache(maxsize=16)
def _years(first: int, last: int) -> holidays.HolidayBase:
    """Built once per span of years (the package computes every holiday anew: tens of ms, and every
    preview and publication asks); read-only for the callers above."""
    # Indonesia's class itself: ``country_holidays`` looks it up in a registry that imports every
    # country's module on first use (half a second).
    return Indonesia(years=range(first, last + 1), categories=CATEGORIES, language="id")
