"""Byte ranges and streamed receipt of bodies."""

from __future__ import annotations

import hashlib

import pytest

from zenodo_atlas.zenodo.server.responses import ApiError
from zenodo_atlas.zenodo.server.transfer import UploadCut, parse_range, receive


@pytest.mark.parametrize(("header", "span"), [
    (None, None), ("bytes=0-9", (0, 9)), ("bytes=5-", (5, 99)), ("bytes=-10", (90, 99)),
    ("bytes=90-500", (90, 99)), ("bytes=-500", (0, 99)),
])
def test_parse_range(header, span):
    assert parse_range(header, 100) == span


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=9-3", "bytes=0-1,5-6", "items=0-1", "bytes=-"])
def test_unsatisfiable_or_unsupported_ranges_are_416(header):
    with pytest.raises(ApiError) as caught:
        parse_range(header, 100)
    assert caught.value.status == 416


async def _chunks(*parts: bytes):
    for part in parts:
        yield part


async def test_receive_writes_and_hashes(tmp_path):
    got = await receive(_chunks(b"a" * 3, b"b" * 2_000_000), tmp_path / "x.part", limit=10**9)
    data = b"a" * 3 + b"b" * 2_000_000
    assert got.size == len(data) and got.md5 == hashlib.md5(data).hexdigest()
    assert got.path.read_bytes() == data


async def test_receive_over_limit_deletes_and_refuses(tmp_path):
    with pytest.raises(ApiError) as caught:
        await receive(_chunks(b"12345", b"678"), tmp_path / "x.part", limit=6)
    assert caught.value.message == "Bucket quota exceeded."
    assert list(tmp_path.iterdir()) == []


async def test_receive_cut_and_broken_stream_leave_nothing(tmp_path):
    with pytest.raises(UploadCut):
        await receive(_chunks(b"1" * 10, b"2" * 10), tmp_path / "a.part", limit=100, cut_after=15)

    async def broken():
        yield b"partial"
        raise ConnectionResetError("peer went away")

    with pytest.raises(ConnectionResetError):
        await receive(broken(), tmp_path / "b.part", limit=100)
    assert list(tmp_path.iterdir()) == []
