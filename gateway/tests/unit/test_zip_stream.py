"""The streaming ZIP writer: a readable archive, built in memory bounded by one entry however many
entries pass through it, with ZIP64 records beyond 65,535 entries (a province has 68,000)."""
import asyncio
import hashlib
import tracemalloc
import zipfile
from collections.abc import AsyncIterator
from pathlib import Path

from bimtek_gateway.archives import zip_stream

ENTRY_SIZE = 200_000


def content(number: int, size: int = ENTRY_SIZE) -> bytes:
    seed = hashlib.sha256(str(number).encode()).digest()
    return (seed * (size // len(seed) + 1))[:size]


async def entries(count: int, size: int = ENTRY_SIZE) -> AsyncIterator[tuple[str, bytes]]:
    for number in range(count):
        yield f"{number:05d}-BIMTEK-KDMP-35.17-2025.pdf", content(number, size)


async def write_to(path: Path, count: int, size: int = ENTRY_SIZE) -> int:
    chunks = 0
    with path.open("wb") as file:
        async for chunk in zip_stream(entries(count, size)):
            file.write(chunk)
            chunks += 1
    return chunks


def test_the_archive_holds_every_entry_intact(tmp_path: Path) -> None:
    chunks = asyncio.run(write_to(tmp_path / "a.zip", 25))
    assert chunks == 26  # one per entry, then the central directory
    with zipfile.ZipFile(tmp_path / "a.zip") as archive:
        assert archive.testzip() is None  # every CRC checks
        assert archive.namelist() == [f"{n:05d}-BIMTEK-KDMP-35.17-2025.pdf" for n in range(25)]
        assert archive.read("00007-BIMTEK-KDMP-35.17-2025.pdf") == content(7)


def test_memory_stays_bounded_by_an_entry_not_the_archive(tmp_path: Path) -> None:
    count = 400  # 80 MB through the writer
    tracemalloc.start()
    try:
        asyncio.run(write_to(tmp_path / "big.zip", count))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (tmp_path / "big.zip").stat().st_size > count * ENTRY_SIZE
    assert peak < 10 * ENTRY_SIZE, peak  # an entry, its copy in the outbox, the joined chunk: not 80 MB


def test_more_entries_than_a_plain_zip_can_count(tmp_path: Path) -> None:
    asyncio.run(write_to(tmp_path / "province.zip", 66_000, size=16))
    with zipfile.ZipFile(tmp_path / "province.zip") as archive:
        names = archive.namelist()
        assert len(names) == 66_000
        assert archive.read(names[-1]) == content(65_999, 16)
