import base64
import uuid
from datetime import datetime, timezone

import pytest

from bimtek_shared.contracts.errors import DomainError
from bimtek_shared.contracts.pagination import MAX_CURSOR_CHARS, SortOrder, decode_cursor, encode_cursor
from registration.adapters.cursor_sealer import CursorSealer
from registration.settings import DEVELOPMENT_NIK_ENCRYPTION_KEY

BY_NAME = SortOrder("full_name")
ROW_ID = uuid.uuid4()


def test_a_sealed_cursor_opens_only_with_its_key_and_unchanged():
    sealer = CursorSealer(DEVELOPMENT_NIK_ENCRYPTION_KEY)
    cursor = encode_cursor(BY_NAME, ("Siti Aminah", ROW_ID), sealer)

    assert decode_cursor(cursor, BY_NAME, (str, uuid.UUID), sealer) == ("Siti Aminah", ROW_ID)
    assert b"Siti" not in base64.urlsafe_b64decode(cursor + "==")
    assert encode_cursor(BY_NAME, ("Siti Aminah", ROW_ID), sealer) != cursor  # a fresh nonce each time

    other_key = CursorSealer(base64.b64encode(b"k" * 32).decode())
    tampered = cursor[:10] + ("A" if cursor[10] != "A" else "B") + cursor[11:]
    for sealer_used, text in ((other_key, cursor), (sealer, tampered), (sealer, cursor[:20])):
        with pytest.raises(DomainError) as refused:
            decode_cursor(text, BY_NAME, (str, uuid.UUID), sealer_used)
        assert refused.value.code == "invalid_cursor"


def test_the_longest_name_still_fits_in_a_cursor():
    sealer = CursorSealer(DEVELOPMENT_NIK_ENCRYPTION_KEY)
    longest = "Ñ" * 200  # the longest full_name, in two-byte letters
    by_time = SortOrder("registered_at", descending=True)

    assert len(encode_cursor(BY_NAME, (longest, ROW_ID), sealer)) <= MAX_CURSOR_CHARS
    assert len(encode_cursor(by_time, (datetime.now(timezone.utc), ROW_ID), sealer)) < 200
