"""Resumable, verified downloads: bytes land in `<name>.part` and are renamed only once verified.

A broken connection resumes with `Range: bytes=N-` (a 206 continues the part file, a 200 means the
server ignored the range, so we start over). The md5 is computed while writing, seeded with the
bytes already on disk when resuming. Progress is reported as deltas whose running sum is always the
size of the part file: resuming reports the bytes already there, a restart reports a negative delta.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, Literal
from urllib.parse import urlsplit

import aiohttp

from zenodo_atlas.zenodo.errors import (
    AuthenticationError,
    ChecksumMismatchError,
    DiskFullError,
    InvalidInputError,
    NotFoundError,
    RestrictedFilesError,
    ServerError,
    ZenodoError,
)
from zenodo_atlas.zenodo.http import TRANSPORT_ERRORS, Transport, is_retryable
from zenodo_atlas.zenodo.streams import CHUNK_SIZE

Progress = Callable[[int], None]
_CONTENT_RANGE = re.compile(r"bytes (\d+)-\d+/(\d+|\*)")
_ETAG_MD5 = re.compile(r"md5:([0-9a-fA-F]{32})")
_DISK_FULL = frozenset({errno.ENOSPC, errno.EFBIG, errno.EDQUOT})


class _Meter:
    """Keeps the running sum of reported deltas equal to the part file's size."""

    def __init__(self, progress: Progress | None):
        self._progress = progress
        self.reported = 0

    def sync(self, size: int) -> None:
        if self._progress is not None and size != self.reported:
            self._progress(size - self.reported)
        self.reported = size

    def add(self, count: int) -> None:
        self.sync(self.reported + count)


class _Restart(Exception):
    """The part file is unusable (wrong range answer, too long): drop it and fetch from byte 0."""


def part_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".part")


def file_md5(path: Path) -> str:
    return _hash_file(path).hexdigest()


async def download(
    http: Transport,
    url: str,
    dest: Path,
    *,
    size: int | None = None,
    md5: str | None = None,
    progress: Progress | None = None,
    max_attempts: int = 5,
    restricted_hint: bool = False,
) -> Path:
    """Fetch `url` to `dest`; see the module docstring for the part-file and progress rules."""
    if max_attempts < 1:
        raise InvalidInputError(f"max_attempts must be at least 1, got {max_attempts}.")
    dest = Path(dest)
    expected_md5 = md5.removeprefix("md5:").lower() if md5 else None
    part = part_path(dest)
    if await asyncio.to_thread(_already_there, dest, size, expected_md5):
        await asyncio.to_thread(part.unlink, missing_ok=True)  # an older attempt's bytes only take space
        return dest
    await asyncio.to_thread(dest.parent.mkdir, parents=True, exist_ok=True)
    path = urlsplit(url).path
    meter = _Meter(progress)
    attempt = 0
    while True:
        attempt += 1
        try:
            try:
                digest, server_md5 = await _fetch(http, url, part, size, meter)
            except OSError as exc:
                if exc.errno not in _DISK_FULL:
                    raise
                raise _disk_full(exc, part, size) from None
            wanted = expected_md5 or server_md5
            actual_size = await asyncio.to_thread(_size_or_zero, part)
            if size is not None and actual_size != size:
                raise ChecksumMismatchError(f"GET {path}: got {actual_size} bytes, expected {size}")
            if wanted and digest != wanted:
                raise ChecksumMismatchError(f"GET {path}: md5 of the downloaded bytes is {digest}, expected {wanted}")
        except ChecksumMismatchError:
            await _drop(part, meter)
            if attempt >= max_attempts:
                raise
            continue
        except _Restart:
            await _drop(part, meter)
            if attempt >= max_attempts:
                raise ChecksumMismatchError(f"GET {path}: the server's byte ranges did not fit the part file") from None
            continue
        except (ZenodoError, *TRANSPORT_ERRORS) as exc:
            if isinstance(exc, AuthenticationError | NotFoundError):
                raise _explain_denied(exc, http.has_token, restricted_hint) from None
            if not is_retryable(exc) or attempt >= max_attempts:
                if isinstance(exc, ZenodoError):
                    raise
                raise ServerError(f"GET {path} failed after {attempt} attempts: {type(exc).__name__}") from None
            await http.wait_before_retry("GET", path, exc, attempt)
            continue
        await asyncio.to_thread(os.replace, part, dest)
        return dest


async def _fetch(
    http: Transport, url: str, part: Path, size: int | None, meter: _Meter
) -> tuple[str, str | None]:
    """One attempt: continue (or start) the part file; returns (md5 of the part, server's md5)."""
    have = await asyncio.to_thread(_size_or_zero, part)
    if size is not None and have > size:
        raise _Restart
    digest = await asyncio.to_thread(_hash_file, part) if have else hashlib.md5()
    meter.sync(have)
    if size is not None and have == size:
        return digest.hexdigest(), None
    headers = {"Accept": "*/*"}
    if have:
        headers["Range"] = f"bytes={have}-"
    try:
        async with http.stream("GET", url, headers=headers) as resp:
            return await _write_response(resp, part, have, digest, meter)
    except ZenodoError as exc:
        if exc.status == 416:  # the part already reaches (or passes) the end: fetch it whole
            raise _Restart from None
        raise


async def _write_response(
    resp: aiohttp.ClientResponse, part: Path, have: int, digest: hashlib._Hash, meter: _Meter
) -> tuple[str, str | None]:
    """Append a 206 that continues the part, or rewrite the part from a 200."""
    server_md5 = _server_md5(resp.headers.get("ETag"))
    if have and resp.status == 206:
        match = _CONTENT_RANGE.match(resp.headers.get("Content-Range", ""))
        if not match or int(match.group(1)) != have:
            raise _Restart
        mode: Literal["ab", "wb"] = "ab"
    else:
        meter.sync(0)
        digest = hashlib.md5()
        mode = "wb"
    handle: BinaryIO = await asyncio.to_thread(lambda: part.open(mode))
    try:
        async for chunk in resp.content.iter_chunked(CHUNK_SIZE):
            await asyncio.to_thread(_write, handle, digest, chunk)
            meter.add(len(chunk))
    finally:
        await asyncio.to_thread(handle.close)
    return digest.hexdigest(), server_md5


def _disk_full(exc: OSError, part: Path, size: int | None) -> DiskFullError:
    """Name the file, what it still needs and where; the part stays so that a re-run resumes it."""
    have = _size_or_zero(part)
    need = f"{size - have} more bytes ({size} in all, {have} written)" if size is not None else "more bytes"
    error = DiskFullError(
        f"{os.strerror(exc.errno or errno.ENOSPC)} writing {part}: it needs {need}; free space on "
        f"{part.parent} (or download elsewhere) and run again to resume"
    )
    error.errno = exc.errno
    return error


def _size_or_zero(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def _already_there(dest: Path, size: int | None, md5: str | None) -> bool:
    """A verified file from an earlier run need not be fetched again."""
    if md5 is None or not dest.is_file() or (size is not None and dest.stat().st_size != size):
        return False
    return file_md5(dest) == md5


def _hash_file(path: Path) -> hashlib._Hash:
    digest = hashlib.md5()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_SIZE):
            digest.update(chunk)
    return digest


def _write(handle: BinaryIO, digest: hashlib._Hash, chunk: bytes) -> None:
    handle.write(chunk)
    digest.update(chunk)


def _server_md5(etag: str | None) -> str | None:
    match = _ETAG_MD5.search(etag or "")
    return match.group(1).lower() if match else None


async def _drop(part: Path, meter: _Meter) -> None:
    await asyncio.to_thread(part.unlink, missing_ok=True)
    meter.sync(0)


def _explain_denied(exc: ZenodoError, has_token: bool, restricted: bool) -> ZenodoError:
    """Say what the user can do about a refused or missing file.

    On a record known to hide its files, a 403 or 404 means restricted files (the owner's token is
    needed); elsewhere a 401/403 stays an authentication problem (a refused or expired token), and a
    404 without a token may hide a restricted file.
    """
    denied = isinstance(exc, AuthenticationError)
    if denied or restricted or not has_token:
        who = "the client has no token" if not has_token else "this token is not the owner's"
        message = (
            f"{exc} - the file is restricted or hidden ({who}); downloading it needs the record "
            "owner's token (ZenodoClient(token=...) / ZENODO_TOKEN)."
        )
        if denied and (exc.status == 401 or not restricted):
            return AuthenticationError(message, status=exc.status)
        return RestrictedFilesError(message, status=exc.status)
    return exc
