"""Unpack downloaded archives into a session tree, refusing anything that could escape it."""

from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
import time
import zipfile
import zlib
from collections.abc import Collection
from pathlib import Path, PurePosixPath
from typing import NamedTuple

from zenodo_atlas.sessions.errors import MemberNotFoundError, SessionError, UnsafeArchiveError
from zenodo_atlas.sessions.plan import archive_name, frame_folder

_DCIM_PART = re.compile(r"DCIM(_p\d+)?\.zip", re.IGNORECASE)
_DRIVE = re.compile(r"^[A-Za-z]:")
EXTRACT_PREFIX = ".extract."
"""Each member is written to such a temporary beside its destination, then renamed into place."""


def archive_destination(archive_name: str, session_dir: Path) -> Path:
    """Where a record file belongs: `DCIM*.zip` -> DCIM/, `PROCESSED_DATA_X.zip` -> PROCESSED_DATA/X/,
    another zip -> the folder named by its stem, any other file -> the session root."""
    if not archive_name or "/" in archive_name or "\\" in archive_name or archive_name in (".", ".."):
        raise UnsafeArchiveError(f"record file name {archive_name!r} is not a plain file name")
    session_dir = Path(session_dir)
    if not archive_name.lower().endswith(".zip"):
        return session_dir
    if _DCIM_PART.fullmatch(archive_name):
        return session_dir / "DCIM"
    stem = archive_name[: -len(".zip")]
    if stem.startswith("PROCESSED_DATA_") and len(stem) > len("PROCESSED_DATA_"):
        return session_dir / "PROCESSED_DATA" / stem.removeprefix("PROCESSED_DATA_")
    return session_dir / stem


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def _safe_target(info: zipfile.ZipInfo, target: Path, zip_path: Path) -> Path:
    name = info.filename.replace("\\", "/")
    problem = None
    if name.startswith("/") or _DRIVE.match(name):
        problem = "is an absolute path"
    elif ".." in PurePosixPath(name).parts:
        problem = "climbs out with '..'"
    elif _is_symlink(info):
        problem = "is a symbolic link"
    elif "\x00" in name:
        problem = "contains a NUL byte"
    destination = (target / name).resolve()
    if problem is None and not destination.is_relative_to(target):
        problem = "would land outside the target folder"
    if problem:
        raise UnsafeArchiveError(f"{zip_path.name}: member {info.filename!r} {problem}; nothing was extracted")
    return destination


def _restore_times_and_mode(path: Path, info: zipfile.ZipInfo) -> None:
    """Give the file back its archived mtime and permissions, so re-zipping gives the same bytes."""
    mtime = time.mktime((*info.date_time, 0, 0, -1))
    os.utime(path, (mtime, mtime))
    mode = (info.external_attr >> 16) & 0o777
    if info.create_system == 3 and mode:
        path.chmod(mode)


def _same_content(path: Path, info: zipfile.ZipInfo) -> bool:
    """Whether the file on disk already holds the member's bytes (size, then the zip's CRC-32)."""
    if path.stat().st_size != info.file_size:
        return False
    crc = 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            crc = zlib.crc32(chunk, crc)
    return crc == info.CRC


class Extracted(NamedTuple):
    files: list[Path]
    """Members now on disk with the archive's bytes (written, or already identical)."""
    kept: list[Path]
    """Local files that differ from the archive and were left as they are (no `overwrite`)."""


def safe_extract(
    zip_path: Path, target_dir: Path, members: Collection[str] | None = None, *, overwrite: bool = False
) -> Extracted:
    """Extract `members` (default all) under `target_dir`; every member is vetted before any write.

    A file already there with the same bytes is left untouched; one that differs (a local edit) is
    kept unless `overwrite`, and reported in `kept`.
    """
    zip_path, target = Path(zip_path), Path(target_dir).resolve()
    with zipfile.ZipFile(zip_path) as archive:
        infos = archive.infolist()
        if members is not None:
            by_name = {i.filename: i for i in infos}
            missing = [m for m in members if m not in by_name]
            if missing:
                raise MemberNotFoundError(f"{zip_path.name} has no member {missing[0]!r}")
            infos = [by_name[m] for m in members]
        plan = [(info, _safe_target(info, target, zip_path)) for info in infos]
        result = Extracted([], [])
        for info, destination in plan:
            if info.is_dir():
                destination.mkdir(parents=True, exist_ok=True)
                continue
            if destination.is_file() and not overwrite:
                same = _same_content(destination, info)
                (result.files if same else result.kept).append(destination)
                continue
            destination.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=EXTRACT_PREFIX, dir=destination.parent)
            try:
                with os.fdopen(fd, "wb") as out, archive.open(info) as source:
                    shutil.copyfileobj(source, out, 1 << 20)
                os.replace(tmp, destination)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
            _restore_times_and_mode(destination, info)
            result.files.append(destination)
    return result


def remove_extract_leftovers(session_dir: Path) -> list[Path]:
    """Delete the `.extract.*` temporaries a killed extraction left in the session (call once the
    session's own extractions are done); returns what was removed."""
    leftovers = [p for p in Path(session_dir).rglob(f"{EXTRACT_PREFIX}*") if p.is_file()]
    for path in leftovers:
        path.unlink(missing_ok=True)
    return leftovers


def locate_frame(relative_file_path: str) -> tuple[str, str]:
    """(archive name, member) holding a frame given by its metadata.csv `relative_file_path`.

    For frames under DCIM the archive is `DCIM.zip`; a raw DCIM split in parts may hold it in a
    `DCIM_pNN.zip` instead, which the caller can check by the record's file list.
    """
    parts = PurePosixPath(relative_file_path.replace("\\", "/")).parts
    if len(parts) < 3 or ".." in parts or parts[0] == "/":
        raise SessionError(
            f"relative_file_path {relative_file_path!r} should look like "
            "<session>/PROCESSED_DATA/FRAMES/<frame> or <session>/DCIM/<frame>"
        )
    inside = "/".join(parts[1:])
    folder = frame_folder(inside)
    return archive_name(folder), inside[len(folder) + 1:]
