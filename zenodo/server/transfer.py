"""Moving bytes: request bodies streamed to disk with their md5, files streamed back with ranges.

Bodies are never held in memory: chunks are gathered up to CHUNK bytes and written (and hashed)
in a worker thread, so several uploads proceed at once without blocking the event loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import mimetypes
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from aiohttp import web

from zenodo_atlas.zenodo.server.responses import ApiError
from zenodo_atlas.zenodo.server.state import QUOTA_MESSAGE, StoredFile

CHUNK = 1024 * 1024
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class UploadCut(Exception):
    """The upload was deliberately cut by fault injection."""


@dataclass(frozen=True)
class Received:
    path: Path
    size: int
    md5: str


def guess_mimetype(key: str) -> str:
    return mimetypes.guess_type(key)[0] or "application/octet-stream"


async def receive(chunks: AsyncIterator[bytes], tmp: Path, *, limit: int, cut_after: int | None = None) -> Received:
    """Write `chunks` to `tmp`; refuse (after draining) more than `limit` bytes; delete on any failure.

    `cut_after` stops reading once that many bytes arrived and raises UploadCut, so the caller
    can drop the connection the way a failing proxy does.
    """
    digest = hashlib.md5(usedforsecurity=False)
    size = 0
    over = False
    buffer = bytearray()
    handle: BinaryIO = await asyncio.to_thread(open, tmp, "wb")
    try:
        async for chunk in chunks:
            size += len(chunk)
            if cut_after is not None and size >= cut_after:
                raise UploadCut
            if size > limit:
                over = True
                buffer.clear()
                continue
            buffer += chunk
            if len(buffer) >= CHUNK:
                await asyncio.to_thread(_write, handle, digest, bytes(buffer))
                buffer.clear()
        if buffer and not over:
            await asyncio.to_thread(_write, handle, digest, bytes(buffer))
    except BaseException:
        await asyncio.to_thread(handle.close)
        tmp.unlink(missing_ok=True)
        raise
    await asyncio.to_thread(handle.close)
    if over:
        tmp.unlink(missing_ok=True)
        raise ApiError(400, QUOTA_MESSAGE)
    return Received(tmp, size, digest.hexdigest())


def _write(handle: BinaryIO, digest, data: bytes) -> None:
    handle.write(data)
    digest.update(data)


async def body_chunks(request: web.Request) -> AsyncIterator[bytes]:
    async for chunk in request.content.iter_chunked(CHUNK):
        yield chunk


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(first, last) inclusive for a single `bytes=` range; None for the whole file; 416 if unsatisfiable."""
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if match is None or match.group(1) == match.group(2) == "":
        raise ApiError(416, f"Unsupported Range header {header!r}; use a single 'bytes=first-last' range.")
    first, last = match.group(1), match.group(2)
    if first == "":
        length = int(last)
        if length == 0 or size == 0:
            raise ApiError(416, "The requested range is not satisfiable.")
        return max(size - length, 0), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        raise ApiError(416, "The requested range is not satisfiable.")
    return start, end


async def send_file(
    request: web.Request, path: Path, stored: StoredFile, *, cut_at: int | None = None
) -> web.StreamResponse:
    """Stream a stored file with Zenodo's download headers, honouring a single byte range; with
    `cut_at`, the connection closes once that many bytes are sent (a broken download)."""
    span = parse_range(request.headers.get("Range"), stored.size)
    first, last = span if span else (0, stored.size - 1)
    response = web.StreamResponse(status=206 if span else 200)
    response.content_type = stored.mimetype
    response.content_length = max(last - first + 1, 0)
    response.headers.update({
        "ETag": f'"md5:{stored.md5}"',
        "Content-MD5": stored.md5,
        "Accept-Ranges": "bytes",
        "Content-Disposition": f"attachment; filename={_header_safe(stored.key)}",
    })
    if span:
        response.headers["Content-Range"] = f"bytes {first}-{last}/{stored.size}"
    await response.prepare(request)
    if request.method == "HEAD" or stored.size == 0:
        await response.write_eof()
        return response
    handle: BinaryIO = await asyncio.to_thread(open, path, "rb")
    try:
        await asyncio.to_thread(handle.seek, first)
        remaining = last - first + 1
        if cut_at is not None:
            remaining = min(remaining, cut_at)
        while remaining > 0:
            data = await asyncio.to_thread(handle.read, min(CHUNK, remaining))
            if not data:
                break
            remaining -= len(data)
            await response.write(data)
    finally:
        await asyncio.to_thread(handle.close)
    if cut_at is not None and request.transport is not None:
        request.transport.close()
        return response
    await response.write_eof()
    return response


def _header_safe(key: str) -> str:
    name = key.rsplit("/", 1)[-1]
    return '"' + "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name) + '"'
