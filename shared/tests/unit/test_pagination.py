import base64
import json
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest

from bimtek_shared.contracts.errors import DomainError
from bimtek_shared.contracts.pagination import (
    MAX_CURSOR_CHARS, SortOrder, decode_cursor, encode_cursor, page_of, sort_options,
)

BY_TIME = SortOrder("registered_at")
KEY_TYPES = (datetime, uuid.UUID)
MOMENT = datetime(2026, 11, 28, 9, 30, 15, 123456, tzinfo=timezone(timedelta(hours=7)))
ROW_ID = uuid.UUID("0b0c5f7e-6a43-4f7e-9d2b-7d0e1f7a9c11")


class XorSealer:
    """Stands in for an AEAD: reversible, and refuses what it did not seal."""

    def seal(self, plain: bytes) -> bytes:
        return b"S" + bytes(b ^ 0x5A for b in plain)

    def open(self, sealed: bytes) -> bytes:
        if not sealed.startswith(b"S"):
            raise ValueError("not sealed here")
        return bytes(b ^ 0x5A for b in sealed[1:])


def refused(cursor: str, order: SortOrder = BY_TIME, key_types=KEY_TYPES, sealer=None) -> bool:
    with pytest.raises(DomainError) as caught:
        decode_cursor(cursor, order, key_types, sealer)
    return caught.value.code == "invalid_cursor"


def raw_cursor(data: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_a_cursor_round_trips_its_key_with_types_and_microseconds():
    cursor = encode_cursor(BY_TIME, (MOMENT, ROW_ID))

    assert decode_cursor(cursor, BY_TIME, KEY_TYPES) == (MOMENT, ROW_ID)
    assert all(c.isalnum() or c in "-_" for c in cursor)  # safe in a URL as it is


def test_other_key_types_round_trip():
    order = SortOrder("full_name", descending=True)
    key = ("Siti Aminah", 7, date(1985, 7, 1), ROW_ID)

    assert decode_cursor(encode_cursor(order, key), order, (str, int, date, uuid.UUID)) == key


def test_a_cursor_made_for_another_sort_is_refused():
    cursor = encode_cursor(BY_TIME, (MOMENT, ROW_ID))

    assert refused(cursor, SortOrder("registered_at", descending=True))
    assert refused(cursor, SortOrder("full_name"), (str, uuid.UUID))


@pytest.mark.parametrize("garbage", ["", "x", "!!!!", "bm90IGpzb24", "a" * (MAX_CURSOR_CHARS + 1), "ü"])
def test_garbage_is_refused(garbage):
    assert refused(garbage)


def test_tampered_cursors_are_refused():
    good = encode_cursor(BY_TIME, (MOMENT, ROW_ID))
    flipped = good[:5] + ("A" if good[5] != "A" else "B") + good[6:]
    assert refused(flipped)
    assert refused(raw_cursor({"sort": "registered_at", "key": [MOMENT.isoformat()]}))  # id missing
    assert refused(raw_cursor({"sort": "registered_at", "key": ["yesterday", str(ROW_ID)]}))
    assert refused(raw_cursor({"sort": "registered_at", "key": [MOMENT.isoformat(), "not-a-uuid"]}))
    assert refused(raw_cursor({"sort": "registered_at", "key": ["2026-11-28T09:30:15", str(ROW_ID)]}))  # no zone
    assert refused(raw_cursor({"sort": "registered_at", "key": [1, str(ROW_ID)]}))
    assert refused(raw_cursor(["registered_at", MOMENT.isoformat(), str(ROW_ID)]))
    assert refused(raw_cursor({"sort": "priority", "key": [True]}), SortOrder("priority"), (int,))


def test_a_sealed_cursor_hides_its_key_and_refuses_tampering():
    sealer = XorSealer()
    order = SortOrder("full_name")
    cursor = encode_cursor(order, ("Siti Aminah", ROW_ID), sealer)

    assert b"Siti" not in base64.urlsafe_b64decode(cursor + "==")
    assert decode_cursor(cursor, order, (str, uuid.UUID), sealer) == ("Siti Aminah", ROW_ID)
    assert refused(encode_cursor(order, ("Siti Aminah", ROW_ID)), order, (str, uuid.UUID), sealer)  # unsealed


def test_sort_orders_parse_against_a_whitelist():
    assert SortOrder.parse("-registered_at", ["registered_at", "full_name"]) == SortOrder("registered_at", True)
    assert str(SortOrder.parse("full_name", ["registered_at", "full_name"])) == "full_name"
    assert sort_options("registered_at", "full_name") == ("registered_at", "-registered_at", "full_name", "-full_name")
    for bad in ["nik", "-nik", "--registered_at", "", "registered_at;drop"]:
        with pytest.raises(DomainError) as caught:
            SortOrder.parse(bad, ["registered_at", "full_name"])
        assert caught.value.code == "validation_failed"


def test_page_of_cuts_the_extra_row_into_a_cursor():
    rows = [(MOMENT + timedelta(seconds=n), uuid.uuid4()) for n in range(4)]

    items, cursor = page_of(rows, 3, BY_TIME, key_of=lambda row: row)
    assert items == rows[:3]
    assert decode_cursor(cursor, BY_TIME, KEY_TYPES) == rows[2]

    last, none = page_of(rows[:3], 3, BY_TIME, key_of=lambda row: row)
    assert last == rows[:3] and none is None
