"""ZIP archives written as they are sent: a kecamatan's or a province's certificates never sit in
the gateway's memory at once.

``zip_stream`` takes the entries as an async iterator (a few PDFs fetched per RPC call, see the
certificate archive route) and yields the archive's bytes entry by entry. Python's ``zipfile``
writes to a stream it cannot seek: each entry's sizes and CRC then follow its data in a data
descriptor, and ZIP64 records take over beyond 65,535 entries or 4 GiB, as a province needs.
Entries are stored, not deflated: a PDF's streams are compressed already, and deflating them
again would spend the event loop's time for a few per cent.
"""
from __future__ import annotations

import time
import zipfile
from collections.abc import AsyncIterable, AsyncIterator


class _Outbox:
    """What zipfile writes into: kept only until the next chunk is sent. No ``seek`` or ``tell``,
    so zipfile writes streaming records."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._chunks.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        chunk, self._chunks = b"".join(self._chunks), []
        return chunk


async def zip_stream(entries: AsyncIterable[tuple[str, bytes]]) -> AsyncIterator[bytes]:
    """The archive of ``(file name, content)`` entries, one chunk per entry and one for the end."""
    outbox = _Outbox()
    modified = time.localtime(time.time())[:6]
    with zipfile.ZipFile(outbox, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        async for name, content in entries:
            info = zipfile.ZipInfo(name, date_time=modified)
            info.compress_type = zipfile.ZIP_STORED
            archive.writestr(info, content)
            yield outbox.take()
    yield outbox.take()  # the central directory
