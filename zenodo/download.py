"""Resumable, verified downloads into a `Sink`: by default `<name>.part`, renamed only once verified.

A broken connection resumes with `Range: bytes=N-` where N is what the sink holds (a 206 continues
it, a 200 means the server ignored the range, so we start over). The sink hashes the md5 as it
takes the bytes, so another sink (e.g. one unpacking a zip as it arrives) gets the same rules.
Bytes are gathered in blocks of ~`BLOCK` and handed to a worker thread while the next block is
received (one thread hop per block); there the md5 runs in a thread of its own beside the write,
so receiving, hashing and writing overlap. Progress is reported
as deltas whose running sum is always what the sink holds: resuming reports the bytes already
there, a restart reports a negative delta.
"""

from __future__ import annotations

import asyncio
import errno
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Protocol
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
from zenodo_atlas.zenodo.streams import Md5AlongWrites, hash_file

BLOCK = 4 << 20
"""Bytes gathered from the socket per hand-over to the writer thread (memory: about two blocks)."""
Progress = Callable[[int], None]
_CONTENT_RANGE = re.compile(r"bytes (\d+)-\d+/(\d+|\*)")
_ETAG_MD5 = re.compile(r"md5:([0-9a-fA-F]{32})")
DISK_FULL = frozenset({errno.ENOSPC, errno.EFBIG, errno.EDQUOT})


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


class Sink(Protocol):
    """Where a download's bytes go. Blocking methods: they run in a worker thread, one at a time."""

    def resume(self) -> int:
        """Ready for an attempt; how many leading bytes it already holds (0: start from byte 0)."""
        ...

    def restart(self) -> None:
        """Forget every byte taken: the next attempt starts from byte 0."""
        ...

    def take(self, chunks: list[bytes]) -> int:
        """Write and hash the next bytes; returns how many. May raise ChecksumMismatchError."""
        ...

    def pause(self) -> None:
        """The attempt ended (done or broken): release what it held open."""
        ...

    def md5(self) -> str:
        """Hex md5 of every byte taken since byte 0."""
        ...


class PartFile:
    """The plain sink: `<dest>.part`, resumable across runs (its md5 is re-read from disk)."""

    def __init__(self, dest: Path):
        self.part = part_path(dest)
        self._digest = Md5AlongWrites()
        self._fd: int | None = None

    def resume(self) -> int:
        have = _size_or_zero(self.part)
        self._digest = Md5AlongWrites(hash_file(self.part) if have else None)
        return have

    def restart(self) -> None:
        self.pause()
        self.part.unlink(missing_ok=True)
        self._digest = Md5AlongWrites()

    def take(self, chunks: list[bytes]) -> int:
        if self._fd is None:  # opened on the first bytes: a refused request leaves no part file
            self._fd = os.open(self.part, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self._digest.update(chunks)
        try:
            return _write_all(self._fd, chunks)
        finally:
            self._digest.wait()

    def pause(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def md5(self) -> str:
        return self._digest.hexdigest()


def _write_all(fd: int, chunks: list[bytes]) -> int:
    """writev every byte (a short write continues where it stopped); returns the count."""
    total = sum(len(c) for c in chunks)
    views = [memoryview(c) for c in chunks if c]
    while views:
        done = os.writev(fd, views[:1024])
        while views and done >= len(views[0]):
            done -= len(views[0])
            views.pop(0)
        if done:
            views[0] = views[0][done:]
    return total


def part_path(dest: Path) -> Path:
    return dest.with_name(dest.name + ".part")


def file_md5(path: Path) -> str:
    return hash_file(path).hexdigest()


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
    """Fetch `url` to `dest` through `dest.part`; see the module docstring for the rules."""
    dest = Path(dest)
    expected_md5 = md5.removeprefix("md5:").lower() if md5 else None
    part = part_path(dest)
    if await asyncio.to_thread(_already_there, dest, size, expected_md5):
        await asyncio.to_thread(part.unlink, missing_ok=True)  # an older attempt's bytes only take space
        return dest
    await asyncio.to_thread(dest.parent.mkdir, parents=True, exist_ok=True)
    sink = PartFile(dest)
    try:
        await download_into(http, url, sink, size=size, md5=md5, progress=progress, max_attempts=max_attempts,
                            restricted_hint=restricted_hint)
    except OSError as exc:
        if exc.errno not in DISK_FULL:
            raise
        raise disk_full_error(exc, part, await asyncio.to_thread(_size_or_zero, part), size) from None
    await asyncio.to_thread(os.replace, part, dest)
    return dest


async def download_into(
    http: Transport,
    url: str,
    sink: Sink,
    *,
    size: int | None = None,
    md5: str | None = None,
    progress: Progress | None = None,
    max_attempts: int = 5,
    restricted_hint: bool = False,
) -> None:
    """Fetch `url` into `sink`, resuming with Range and checking size and md5 (the given one, else
    the server's ETag); a mismatch restarts the sink from byte 0, up to `max_attempts` in all.
    On success the sink holds exactly the verified bytes; on failure it is left paused."""
    if max_attempts < 1:
        raise InvalidInputError(f"max_attempts must be at least 1, got {max_attempts}.")
    expected_md5 = md5.removeprefix("md5:").lower() if md5 else None
    path = urlsplit(url).path
    meter = _Meter(progress)
    attempt = 0
    while True:
        attempt += 1
        try:
            try:
                have, server_md5 = await _fetch(http, url, sink, size, meter)
            finally:
                await asyncio.to_thread(sink.pause)
            wanted = expected_md5 or server_md5
            if size is not None and have != size:
                raise ChecksumMismatchError(f"GET {path}: got {have} bytes, expected {size}")
            digest = sink.md5()
            if wanted and digest != wanted:
                raise ChecksumMismatchError(f"GET {path}: md5 of the downloaded bytes is {digest}, expected {wanted}")
        except ChecksumMismatchError:
            await _drop(sink, meter)
            if attempt >= max_attempts:
                raise
            continue
        except _Restart:
            await _drop(sink, meter)
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
        return


async def _fetch(http: Transport, url: str, sink: Sink, size: int | None, meter: _Meter) -> tuple[int, str | None]:
    """One attempt: continue (or start) the sink; returns (bytes it holds, server's md5)."""
    have = await asyncio.to_thread(sink.resume)
    if size is not None and have > size:
        raise _Restart
    meter.sync(have)
    if size is not None and have == size:
        return have, None
    headers = {"Accept": "*/*"}
    if have:
        headers["Range"] = f"bytes={have}-"
    try:
        async with http.stream("GET", url, headers=headers) as resp:
            server_md5 = _server_md5(resp.headers.get("ETag"))
            if have and resp.status == 206:
                match = _CONTENT_RANGE.match(resp.headers.get("Content-Range", ""))
                if not match or int(match.group(1)) != have:
                    raise _Restart
            elif have:  # a 200: the server sent the whole file again
                await asyncio.to_thread(sink.restart)
                have = 0
                meter.sync(0)
            return have + await _pump(resp, sink, meter), server_md5
    except ZenodoError as exc:
        if exc.status == 416:  # the part already reaches (or passes) the end: fetch it whole
            raise _Restart from None
        raise


async def _pump(resp: aiohttp.ClientResponse, sink: Sink, meter: _Meter) -> int:
    """Receive blocks of ~BLOCK bytes while the previous one is written and hashed in a thread.

    Bytes received before a cut are still handed to the sink, so the next attempt resumes after them."""
    loop = asyncio.get_running_loop()
    pending: asyncio.Future[int] | None = None
    taken = 0
    try:
        while True:
            chunks: list[bytes] = []
            held, broken = 0, None
            try:
                while held < BLOCK and (chunk := await resp.content.readany()):
                    chunks.append(chunk)
                    held += len(chunk)
            except TRANSPORT_ERRORS as exc:
                broken = exc
            if pending is not None:
                done = await pending
                pending = None
                taken += done
                meter.add(done)
            if chunks:
                pending = loop.run_in_executor(None, sink.take, chunks)
            if chunks and broken is None:
                continue
            if pending is not None:
                done = await pending
                pending = None
                taken += done
                meter.add(done)
            if broken is not None:
                raise broken
            return taken
    finally:
        if pending is not None:  # never leave a write running behind the caller's back
            await asyncio.wait([pending])
            if not pending.cancelled():
                pending.exception()  # the error that ended the attempt is already on its way up


def disk_full_error(exc: OSError, writing: Path, have: int, size: int | None) -> DiskFullError:
    """Name what was being written, what it still needs and where; what arrived stays on disk, so
    that a re-run resumes it."""
    need = f"{size - have} more bytes ({size} in all, {have} written)" if size is not None else "more bytes"
    error = DiskFullError(
        f"{os.strerror(exc.errno or errno.ENOSPC)} writing {writing}: it needs {need}; free space on "
        f"{writing.parent} (or download elsewhere) and run again to resume"
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


def _server_md5(etag: str | None) -> str | None:
    match = _ETAG_MD5.search(etag or "")
    return match.group(1).lower() if match else None


async def _drop(sink: Sink, meter: _Meter) -> None:
    await asyncio.to_thread(sink.restart)
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
