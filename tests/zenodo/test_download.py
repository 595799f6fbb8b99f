"""Downloads resume with Range, verify md5, and never leave a partial file under the final name."""

from __future__ import annotations

import asyncio
import hashlib
import io
import re
import sys
import zipfile
import zlib
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from aiohttp import web

from zenodo_atlas.zenodo.client import ZenodoClient
from zenodo_atlas.zenodo.download import part_path
from zenodo_atlas.zenodo.errors import (
    AuthenticationError,
    ChecksumMismatchError,
    InvalidInputError,
    NotFoundError,
    RestrictedFilesError,
)
from zenodo_atlas.zenodo.models import Creator, DepositMetadata
from zenodo_atlas.zenodo.streams import BytesSource

REPO = Path(__file__).resolve().parents[2]
DATA = hashlib.sha256(b"frames").digest() * 40_000  # 1.28 MB
DATA_MD5 = hashlib.md5(DATA).hexdigest()


def _client(url: str, token: str | None, **kwargs) -> ZenodoClient:
    return ZenodoClient(url, token, backoff_base=0.01, backoff_max=0.05, rate_limit_per_minute=100_000, **kwargs)


async def _publish(server, *, access_right: str = "open", files: dict[str, bytes] | None = None):
    extra = {"access_conditions": "Ask the survey team."} if access_right == "restricted" else {}
    metadata = DepositMetadata(
        title="Frames", creators=[Creator(name="Doe, Jane")], description="Frames.", license="cc-by-4.0",
        access_right=access_right, **extra,
    )
    async with _client(server.api_url, server.token) as zc:
        draft = await zc.create_deposition(metadata)
        for key, data in (files or {"frames.bin": DATA}).items():
            await zc.upload(draft.bucket_url, key, BytesSource(data))
        published = await zc.publish(draft.id)
        return await zc.get_record(published.id)


def _downloads(server) -> list:
    return [r for r in server.request_log if r.path.endswith("/files/frames.bin/content")]


async def test_download_record_file_verifies_and_reports_progress(zenodo_server, tmp_path):
    record = await _publish(zenodo_server)
    deltas: list[int] = []
    async with _client(zenodo_server.api_url, None) as anonymous:
        path = await anonymous.download_record_file(record, "frames.bin", tmp_path, progress=deltas.append)
    assert path == tmp_path / "frames.bin" and path.read_bytes() == DATA
    assert sum(deltas) == len(DATA) and not part_path(path).exists()
    assert zenodo_server.count("GET", "file_download") == 1


async def test_an_already_valid_file_is_not_fetched_again(zenodo_server, tmp_path):
    record = await _publish(zenodo_server)
    (tmp_path / "frames.bin").write_bytes(DATA)
    async with _client(zenodo_server.api_url, None) as anonymous:
        await anonymous.download_record_file(record, "frames.bin", tmp_path)
    assert zenodo_server.count("GET", "file_download") == 0


async def test_truncated_part_file_resumes_with_range(zenodo_server, tmp_path):
    record = await _publish(zenodo_server)
    part_path(tmp_path / "frames.bin").write_bytes(DATA[:500_000])
    deltas: list[int] = []
    async with _client(zenodo_server.api_url, None) as anonymous:
        path = await anonymous.download_record_file(record, "frames.bin", tmp_path, progress=deltas.append)
    assert path.read_bytes() == DATA
    assert deltas[0] == 500_000 and sum(deltas) == len(DATA)
    assert [r.status for r in _downloads(zenodo_server)] == [206]


async def test_corrupt_part_file_is_dropped_and_fetched_again(zenodo_server, tmp_path):
    record = await _publish(zenodo_server)
    part_path(tmp_path / "frames.bin").write_bytes(b"\0" * 500_000)
    async with _client(zenodo_server.api_url, None) as anonymous:
        path = await anonymous.download_record_file(record, "frames.bin", tmp_path)
    assert path.read_bytes() == DATA
    assert [r.status for r in _downloads(zenodo_server)] == [206, 200]


async def test_md5_mismatch_gives_up_after_bounded_attempts_and_leaves_nothing(zenodo_server, tmp_path):
    record = await _publish(zenodo_server)
    entry = record.file("frames.bin")
    dest = tmp_path / "frames.bin"
    async with _client(zenodo_server.api_url, None) as anonymous:
        with pytest.raises(ChecksumMismatchError, match=r"expected 0{32}"):
            await anonymous.download(entry.links["self"], dest, size=entry.size, md5="0" * 32, max_attempts=3)
    assert not dest.exists() and not part_path(dest).exists()
    assert zenodo_server.count("GET", "file_download") == 3


async def test_restricted_file_needs_the_owners_token(zenodo_server, tmp_path):
    record_id = (await _publish(zenodo_server, access_right="restricted")).id
    async with _client(zenodo_server.api_url, None) as anonymous:
        hidden = await anonymous.get_record(record_id)
        with pytest.raises(RestrictedFilesError, match="owner's token") as hidden_files:
            await anonymous.download_record_file(hidden, "frames.bin", tmp_path)
        assert not isinstance(hidden_files.value, AuthenticationError)  # no token was refused
        url = f"{zenodo_server.api_url}/records/{record_id}/files/frames.bin/content"
        with pytest.raises(AuthenticationError, match=r"restricted or hidden .*owner's token"):
            await anonymous.download(url, tmp_path / "direct.bin")
    async with _client(zenodo_server.api_url, zenodo_server.other_token) as other:
        with pytest.raises(AuthenticationError, match="not the owner's"):
            await other.download(url, tmp_path / "other.bin")
    async with _client(zenodo_server.api_url, zenodo_server.token) as owner:
        mine = await owner.get_record(record_id)
        assert (await owner.download_record_file(mine, "frames.bin", tmp_path)).read_bytes() == DATA
    assert not (tmp_path / "direct.bin").exists() and not part_path(tmp_path / "direct.bin").exists()


async def test_missing_key_lists_what_the_record_has(zenodo_server, tmp_path):
    record = await _publish(zenodo_server)
    async with _client(zenodo_server.api_url, None) as anonymous:
        with pytest.raises(NotFoundError, match=re.escape("has no file 'nope.bin' (it has: frames.bin)")):
            await anonymous.download_record_file(record, "nope.bin", tmp_path)


async def test_draft_file_download_with_owner_token(zenodo_server, tmp_path):
    async with _client(zenodo_server.api_url, zenodo_server.token) as zc:
        draft = await zc.create_deposition()
        await zc.upload(draft.bucket_url, "raw.bin", BytesSource(b"raw bytes"))
        draft = await zc.get_deposition(draft.id)
        path = await zc.download_deposition_file(draft, "raw.bin", tmp_path)
    assert path.read_bytes() == b"raw bytes"


# -- broken connections, served by a small app that misbehaves on purpose --------------------------


@asynccontextmanager
async def flaky(handler: Callable) -> AsyncIterator[tuple[str, list[str | None]]]:
    """Serve DATA at /api/f through `handler(request, attempt)`; yields (url, Range headers seen)."""
    ranges: list[str | None] = []

    async def route(request: web.Request) -> web.StreamResponse:
        ranges.append(request.headers.get("Range"))
        return await handler(request, len(ranges))

    app = web.Application()
    app.router.add_get("/api/f", route)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/api/f", ranges
    finally:
        await runner.cleanup()


async def _cut_halfway(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Length": str(len(DATA))})
    await response.prepare(request)
    await response.write(DATA[: len(DATA) // 2])
    request.transport.close()
    return response


async def _honour_range(request: web.Request) -> web.Response:
    start = int(request.headers["Range"].removeprefix("bytes=").rstrip("-"))
    return web.Response(
        status=206, body=DATA[start:], headers={"Content-Range": f"bytes {start}-{len(DATA) - 1}/{len(DATA)}"}
    )


async def test_broken_connection_resumes_from_where_it_stopped(tmp_path):
    async def handler(request: web.Request, attempt: int) -> web.StreamResponse:
        return await (_cut_halfway(request) if attempt == 1 else _honour_range(request))

    deltas: list[int] = []
    async with flaky(handler) as (url, ranges), _client(url.rsplit("/", 1)[0], None) as zc:
        path = await zc.download(url, tmp_path / "f.bin", size=len(DATA), md5=DATA_MD5, progress=deltas.append)
    assert path.read_bytes() == DATA and sum(deltas) == len(DATA)
    assert ranges[0] is None and ranges[1] is not None
    assert int(ranges[1].removeprefix("bytes=").rstrip("-")) > 0


async def test_server_ignoring_range_means_starting_over(tmp_path):
    async def handler(request: web.Request, attempt: int) -> web.StreamResponse:
        return await _cut_halfway(request) if attempt == 1 else web.Response(body=DATA)

    async with flaky(handler) as (url, ranges), _client(url.rsplit("/", 1)[0], None) as zc:
        path = await zc.download(url, tmp_path / "f.bin", size=len(DATA), md5=DATA_MD5)
    assert path.read_bytes() == DATA and ranges[1] is not None


async def test_wrong_content_range_restarts_cleanly(tmp_path):
    async def handler(request: web.Request, attempt: int) -> web.StreamResponse:
        if attempt == 1:
            return await _cut_halfway(request)
        if attempt == 2:
            return web.Response(status=206, body=DATA[5:], headers={"Content-Range": f"bytes 5-{len(DATA) - 1}/*"})
        return web.Response(body=DATA)

    async with flaky(handler) as (url, ranges), _client(url.rsplit("/", 1)[0], None) as zc:
        path = await zc.download(url, tmp_path / "f.bin", md5=DATA_MD5)
    assert path.read_bytes() == DATA and len(ranges) == 3 and ranges[2] is None


async def test_giving_up_keeps_only_the_part_file(tmp_path):
    async def handler(request: web.Request, attempt: int) -> web.StreamResponse:
        return await _cut_halfway(request)

    dest = tmp_path / "f.bin"
    async with flaky(handler) as (url, _), _client(url.rsplit("/", 1)[0], None) as zc:
        with pytest.raises(Exception, match="GET /api/f failed"):
            await zc.download(url, dest, size=len(DATA), max_attempts=2)
    assert not dest.exists() and part_path(dest).exists()


async def test_a_complete_part_of_unknown_size_is_fetched_whole_after_416(tmp_path):
    async def handler(request: web.Request, attempt: int) -> web.StreamResponse:
        if request.headers.get("Range"):
            return web.Response(status=416, headers={"Content-Range": f"bytes */{len(DATA)}"})
        return web.Response(body=DATA)

    dest = tmp_path / "f.bin"
    part_path(dest).write_bytes(DATA)
    async with flaky(handler) as (url, ranges), _client(url.rsplit("/", 1)[0], None) as zc:
        path = await zc.download(url, dest, md5=DATA_MD5)
    assert path.read_bytes() == DATA and ranges == [f"bytes={len(DATA)}-", None]


async def test_max_attempts_must_be_positive(tmp_path):
    async with _client("http://127.0.0.1:9/api", None) as zc:
        with pytest.raises(InvalidInputError, match="max_attempts"):
            await zc.download("http://127.0.0.1:9/api/f", tmp_path / "f", max_attempts=0)


def _deflated_zip(members: dict[str, bytes]) -> bytes:
    """A zip as the predecessor writes them (shutil.make_archive: deflated, directory entries)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("IA/", b"")
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize("count", [3, 2_000])  # a small directory, and one larger than the tail request
async def test_zip_members_are_read_from_the_central_directory_by_range(zenodo_server, count):
    members = {f"IA/récif_{i:05d}.csv": f"FileName,Useless\nf{i}.jpeg,{i % 2}\n".encode() for i in range(count)}
    members["IA/big.bin"] = DATA
    data = _deflated_zip(members)
    record = await _publish(zenodo_server, files={"PROCESSED_DATA_IA.zip": data})
    entry = record.file("PROCESSED_DATA_IA.zip")
    async with _client(zenodo_server.api_url, None) as anonymous:
        found = await anonymous.zip_entries(entry.links["self"], entry.size)
    assert {(e.name, e.size, e.crc32) for e in found} == {
        (name, len(body), zlib.crc32(body)) for name, body in members.items()
    }
    expected = 1 if count == 3 else 2  # the tail, then the directory when the tail does not hold it
    zenodo_server.wait_for("GET", "file_download", expected)
    fetched = [r for r in zenodo_server.request_log if r.kind == "file_download"]
    assert [r.status for r in fetched] == [206] * expected


async def test_full_disk_names_the_file_and_the_bytes_it_still_needs(zenodo_server, tmp_path):
    record = await _publish(zenodo_server)
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.zenodo.full_disk_download", zenodo_server.api_url, str(record.id), str(tmp_path),
        cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(child.communicate(), timeout=120)
    line = out.decode()
    part = part_path(tmp_path / "frames.bin")
    written = part.stat().st_size

    assert child.returncode == 1, err.decode()
    assert line.startswith("DiskFullError: File too large writing ") and str(part) in line, line
    assert f"needs {len(DATA) - written} more bytes ({len(DATA)} in all, {written} written)" in line, line
    assert len(_downloads(zenodo_server)) == 1  # a full disk is not retried like a broken connection


async def test_a_stale_part_beside_a_verified_file_is_removed_without_fetching_again(zenodo_server, tmp_path):
    record = await _publish(zenodo_server)
    async with _client(zenodo_server.api_url, None) as anonymous:
        path = await anonymous.download_record_file(record, "frames.bin", tmp_path)
        part_path(path).write_bytes(DATA[:1000])  # left by an interrupted earlier attempt
        again = await anonymous.download_record_file(record, "frames.bin", tmp_path)
    assert again == path and path.read_bytes() == DATA
    assert not part_path(path).exists() and len(_downloads(zenodo_server)) == 1
