"""Byte sources for uploads: a known size up front and a stream that can start again from byte 0.

Zenodo takes one streamed PUT per file with a Content-Length, and a reset connection means sending
the whole file again; so a source is not an iterator but something that can be opened once per
attempt. Blocking reads (files, zipstream-ng generators) run in worker threads in ~1 MiB pieces so
the event loop never waits on disk or on zip assembly, and memory stays flat whatever the size.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Protocol, runtime_checkable

from zenodo_atlas.zenodo.errors import InvalidInputError

CHUNK_SIZE = 1 << 20


@runtime_checkable
class ByteSource(Protocol):
    """What `ZenodoClient.upload` streams: `size` bytes, restartable via `open()`."""

    @property
    def size(self) -> int: ...

    def open(self) -> AsyncIterator[bytes]:
        """A fresh stream from byte 0 (called again for every retry)."""
        ...


class FileSource:
    """A file on disk, read in a worker thread."""

    def __init__(self, path: Path | str, *, chunk_size: int = CHUNK_SIZE):
        self.path = Path(path)
        if not self.path.is_file():
            raise InvalidInputError(f"Cannot upload {self.path}: it is not a file (check the path).")
        self.chunk_size = chunk_size

    @property
    def size(self) -> int:
        return self.path.stat().st_size

    def __repr__(self) -> str:
        return f"FileSource({str(self.path)!r})"

    async def open(self) -> AsyncIterator[bytes]:
        handle = await asyncio.to_thread(self.path.open, "rb")
        try:
            while chunk := await asyncio.to_thread(handle.read, self.chunk_size):
                yield chunk
        finally:
            await asyncio.to_thread(handle.close)


class IterableSource:
    """A synchronous chunk-iterator factory (e.g. zipstream-ng's `ZipStream`) with a known length.

    `factory()` is called once per attempt and iterated in a worker thread; small chunks are joined
    so each thread hop moves about `chunk_size` bytes.
    """

    def __init__(self, size: int, factory: Callable[[], Iterable[bytes]], *, chunk_size: int = CHUNK_SIZE):
        if size < 0:
            raise InvalidInputError(f"A byte source needs a non-negative size, got {size}.")
        self._factory = factory
        self._size = size
        self.chunk_size = chunk_size

    @property
    def size(self) -> int:
        return self._size

    async def open(self) -> AsyncIterator[bytes]:
        iterator = await asyncio.to_thread(lambda: iter(self._factory()))
        try:
            while chunk := await asyncio.to_thread(_gather, iterator, self.chunk_size):
                yield chunk
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                await asyncio.to_thread(close)


class BytesSource:
    """Bytes already in memory (small files, tests)."""

    def __init__(self, data: bytes, *, chunk_size: int = CHUNK_SIZE):
        self.data = data
        self.chunk_size = chunk_size

    @property
    def size(self) -> int:
        return len(self.data)

    async def open(self) -> AsyncIterator[bytes]:
        view = memoryview(self.data)
        for start in range(0, len(view), self.chunk_size):
            yield bytes(view[start : start + self.chunk_size])


def _gather(iterator: Iterator[bytes], target: int) -> bytes:
    parts: list[bytes] = []
    total = 0
    for piece in iterator:
        if piece:
            parts.append(piece)
            total += len(piece)
            if total >= target:
                break
    return b"".join(parts)


class HashingStream:
    """Streams a source once, counting and md5-hashing exactly the bytes handed to the socket.

    A source that yields more or fewer bytes than it declared would leave the server waiting or
    reject the body; that is reported as `InvalidInputError` through `failure`, because aiohttp
    wraps exceptions raised inside a request body.
    """

    def __init__(self, source: ByteSource, progress: Callable[[int], None] | None = None):
        self.source = source
        self.expected = source.size
        self.sent = 0
        self.failure: InvalidInputError | None = None
        self._md5 = hashlib.md5()
        self._progress = progress

    @property
    def md5(self) -> str:
        return self._md5.hexdigest()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self.source.open():
            if self.sent + len(chunk) > self.expected:
                self.failure = InvalidInputError(
                    f"{self.source!r} produced more than the {self.expected} bytes it declared; "
                    "fix the source's size."
                )
                raise self.failure
            await asyncio.to_thread(self._md5.update, chunk)
            self.sent += len(chunk)
            if self._progress is not None:
                self._progress(len(chunk))
            yield chunk
        if self.sent != self.expected:
            self.failure = InvalidInputError(
                f"{self.source!r} produced {self.sent} bytes but declared {self.expected}; "
                "fix the source's size."
            )
            raise self.failure

    def rewind_progress(self) -> None:
        """Tell the progress callback that this attempt's bytes will be sent again."""
        if self._progress is not None and self.sent:
            self._progress(-self.sent)


def hash_file(path: Path, digest: hashlib._Hash | None = None) -> hashlib._Hash:
    """`digest` (default a new md5) updated with the bytes of `path`, read in CHUNK_SIZE pieces."""
    digest = digest or hashlib.md5()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_SIZE):
            digest.update(chunk)
    return digest


_HASHING = ThreadPoolExecutor(max_workers=os.cpu_count() or 2, thread_name_prefix="md5")


class Md5AlongWrites:
    """An md5 computed in a thread of its own while the caller writes the same bytes: hashlib
    releases the GIL, so on two cores hashing and writing (with the CRC-32) overlap instead of
    adding up. `update` returns at once; the digest waits for the pending block."""

    def __init__(self, digest: hashlib._Hash | None = None) -> None:
        """`digest`: the md5 of the bytes before these (a resumed file's), else a fresh one."""
        self._digest = digest or hashlib.md5()
        self._pending: Future[None] | None = None

    def update(self, chunks: list[bytes]) -> None:
        self.wait()
        self._pending = _HASHING.submit(self._update, chunks)

    def wait(self) -> None:
        """Block until every block given so far is hashed (re-raising what hashing raised)."""
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()

    def hexdigest(self) -> str:
        self.wait()
        return self._digest.hexdigest()

    def _update(self, chunks: list[bytes]) -> None:
        for chunk in chunks:
            self._digest.update(chunk)
