"""Byte sources restart from byte 0, keep memory bounded, and refuse a size they cannot deliver."""

from __future__ import annotations

import hashlib
import threading

import pytest

from zenodo_atlas.zenodo.errors import InvalidInputError
from zenodo_atlas.zenodo.streams import ByteSource, BytesSource, FileSource, HashingStream, IterableSource


async def _collect(source: ByteSource) -> bytes:
    return b"".join([chunk async for chunk in source.open()])


async def test_file_source_reads_in_chunks_and_restarts(tmp_path):
    path = tmp_path / "data.bin"
    path.write_bytes(bytes(range(256)) * 100)
    source = FileSource(path, chunk_size=1000)
    chunks = [c async for c in source.open()]
    assert source.size == 25600
    assert max(len(c) for c in chunks) == 1000
    assert b"".join(chunks) == await _collect(source) == path.read_bytes()


def test_file_source_rejects_a_missing_path(tmp_path):
    with pytest.raises(InvalidInputError, match="not a file"):
        FileSource(tmp_path / "nope.bin")


async def test_iterable_source_joins_small_pieces_off_the_loop():
    loop_thread = threading.get_ident()
    seen_threads: set[int] = set()

    def pieces():
        for i in range(100):
            seen_threads.add(threading.get_ident())
            yield bytes([i]) * 10

    source = IterableSource(1000, pieces, chunk_size=300)
    chunks = [c async for c in source.open()]
    assert [len(c) for c in chunks] == [300, 300, 300, 100]
    assert b"".join(chunks) == b"".join(bytes([i]) * 10 for i in range(100))
    assert loop_thread not in seen_threads
    assert await _collect(source) == b"".join(chunks)


async def test_iterable_source_closes_an_abandoned_generator():
    closed = []

    def pieces():
        try:
            while True:
                yield b"x" * 10
        finally:
            closed.append(True)

    stream = IterableSource(10**6, pieces, chunk_size=10).open()
    assert await anext(stream) == b"x" * 10
    await stream.aclose()
    assert closed == [True]


def test_negative_size_is_refused():
    with pytest.raises(InvalidInputError):
        IterableSource(-1, lambda: [])


async def test_hashing_stream_counts_hashes_and_rewinds_progress():
    data = b"abc" * 1000
    deltas: list[int] = []
    stream = HashingStream(BytesSource(data, chunk_size=1024), deltas.append)
    assert b"".join([c async for c in stream]) == data
    assert stream.md5 == hashlib.md5(data).hexdigest()
    assert sum(deltas) == len(data) and all(d > 0 for d in deltas)
    stream.rewind_progress()
    assert sum(deltas) == 0


@pytest.mark.parametrize(("declared", "actual"), [(10, 11), (10, 9)])
async def test_hashing_stream_refuses_a_size_lie(declared, actual):
    stream = HashingStream(IterableSource(declared, lambda: [b"z" * actual]))
    with pytest.raises(InvalidInputError, match="declared"):
        _ = [c async for c in stream]
    assert isinstance(stream.failure, InvalidInputError)
