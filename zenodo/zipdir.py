"""A remote zip's member list (names, sizes, CRC-32) from its central directory, fetched by Range.

The central directory sits at the end of a zip: one request for the tail finds the end record, a
second (only when the directory is larger than the tail) fetches the directory itself. A 2 GB
archive is identified with a few kilobytes, and the CRC-32s survive any re-zipping of the same
files, which md5s of whole archives do not.
"""

from __future__ import annotations

import io
import struct
import zipfile

from pydantic import BaseModel, ConfigDict

from zenodo_atlas.zenodo.errors import ServerError

TAIL_BYTES = 64 * 1024 + 22  # the end record plus the longest zip comment
_EOCD = b"PK\x05\x06"
_ZIP64_LOCATOR = b"PK\x06\x07"


class ZipEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    size: int
    crc32: int


def directory_offset(tail: bytes, tail_start: int, url: str) -> int:
    """Where the central directory starts, from the (zip64) end record found in `tail`."""
    end = tail.rfind(_EOCD)
    if end < 0 or len(tail) - end < 22:
        raise ServerError(f"{url} is not a zip (no end of central directory record in its last bytes).")
    offset = struct.unpack_from("<I", tail, end + 16)[0]
    if offset != 0xFFFFFFFF:
        return offset
    locator = end - 20
    if locator < 0 or tail[locator:locator + 4] != _ZIP64_LOCATOR:
        raise ServerError(f"{url}: a zip64 archive without its zip64 end locator.")
    record = struct.unpack_from("<Q", tail, locator + 8)[0] - tail_start
    if record < 0:
        raise ServerError(f"{url}: the zip64 end record lies outside the fetched tail.")
    return struct.unpack_from("<Q", tail, record + 48)[0]


def infos_from_directory(data: bytes, start: int, url: str) -> list[zipfile.ZipInfo]:
    """Members of a zip given only its bytes from the central directory (at offset `start`) to the
    end; zipfile reads archives with missing leading data, as it does self-extracting ones, and
    counts header offsets from the directory: `start` makes them count from the archive's start."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, struct.error, ValueError) as exc:
        raise ServerError(f"{url}: unreadable zip central directory ({exc}).") from None
    for info in infos:
        info.header_offset += start
        if not 0 <= info.header_offset < start:
            raise ServerError(f"{url}: member {info.filename!r} starts outside the archive.")
    return infos


def entries_from_directory(data: bytes, start: int, url: str) -> list[ZipEntry]:
    return [
        ZipEntry(name=i.filename, size=i.file_size, crc32=i.CRC)
        for i in infos_from_directory(data, start, url) if not i.is_dir()
    ]
