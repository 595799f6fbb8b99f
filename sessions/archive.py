"""Stream planned archives: bounded memory, exactly `archive.size` bytes, same bytes on every run.

The bytes depend only on the members' names, contents, modification times and permissions, so an
unchanged session re-planned later streams archives with the same md5 (which is how the Atlas and
resumed uploads recognise files already on Zenodo).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import zlib
from collections.abc import Iterator
from pathlib import Path

from zenodo_atlas.sessions.errors import ArchiveChangedError
from zenodo_atlas.sessions.plan import PlannedArchive, zip_stream

CHUNK_SIZE = 1 << 20


def _check_members(archive: PlannedArchive) -> None:
    for member in archive.members:
        try:
            size = member.source.stat().st_size
        except OSError as exc:
            raise ArchiveChangedError(
                f"{archive.name}: {member.source} is no longer readable ({exc.strerror}); plan again"
            ) from None
        if size != member.size:
            raise ArchiveChangedError(
                f"{archive.name}: {member.source} is {size} bytes, planned {member.size}; plan again"
            )


def _raw_chunks(archive: PlannedArchive) -> Iterator[bytes]:
    if not archive.zipped:
        with archive.members[0].source.open("rb") as source:
            while chunk := source.read(CHUNK_SIZE):
                yield chunk
        return
    stream = zip_stream(archive.members)
    if len(stream) != archive.size:
        raise ArchiveChangedError(f"{archive.name}: members changed since planning; plan again")
    try:
        yield from stream
    except RuntimeError as exc:
        raise ArchiveChangedError(f"{archive.name}: a member changed while streaming ({exc})") from None


def _rechunk(pieces: Iterator[bytes], chunk_size: int) -> Iterator[bytes]:
    pending: list[bytes] = []
    held = 0
    for piece in pieces:
        pending.append(piece)
        held += len(piece)
        if held < chunk_size:
            continue
        data = b"".join(pending)
        whole = len(data) - len(data) % chunk_size
        view = memoryview(data)
        for start in range(0, whole, chunk_size):
            yield bytes(view[start:start + chunk_size])
        pending = [data[whole:]] if whole < len(data) else []
        held = len(data) - whole
    if held:
        yield b"".join(pending)


def iter_archive(archive: PlannedArchive, chunk_size: int | None = CHUNK_SIZE) -> Iterator[bytes]:
    """Chunks of exactly `chunk_size` bytes (the last one shorter) adding up to `archive.size`.

    `chunk_size=None` yields the pieces as the zip writer produces them: no re-cutting copy, for
    consumers that buffer anyway (hashing, the upload stream).
    """
    if chunk_size is not None and chunk_size <= 0:
        raise ValueError(f"chunk_size must be positive, got {chunk_size}")
    _check_members(archive)
    pieces = _raw_chunks(archive)
    sent = 0
    for chunk in pieces if chunk_size is None else _rechunk(pieces, chunk_size):
        sent += len(chunk)
        yield chunk
    if sent != archive.size:
        raise ArchiveChangedError(f"{archive.name}: streamed {sent} bytes, planned {archive.size}")


def archive_md5(archive: PlannedArchive) -> str:
    digest = hashlib.md5()
    for chunk in iter_archive(archive, None):
        digest.update(chunk)
    return digest.hexdigest()


def member_signature(archive: PlannedArchive) -> frozenset[tuple[str, int, int]]:
    """(arcname, size, CRC-32) of every member: what any zip of the same files records, whatever its
    compression or timestamps, so a folder is recognised in an archive another tool made."""
    signature = set()
    for member in archive.members:
        crc = 0
        with member.source.open("rb") as source:
            while chunk := source.read(CHUNK_SIZE):
                crc = zlib.crc32(chunk, crc)
        signature.add((member.arcname, member.size, crc))
    return frozenset(signature)


def write_archive(archive: PlannedArchive, dest_dir: Path) -> tuple[Path, str]:
    """Write the archive into `dest_dir` (atomically: a partial file never has the final name)."""
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    target = dest_dir / archive.name
    digest = hashlib.md5()
    fd, tmp = tempfile.mkstemp(prefix=f".{archive.name}.", suffix=".part", dir=dest_dir)
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in iter_archive(archive, None):
                digest.update(chunk)
                out.write(chunk)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target, digest.hexdigest()
