"""Unpack downloaded archives into a session tree, refusing anything that could escape it."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import stat
import struct
import tempfile
import time
import zipfile
import zlib
from collections.abc import Collection, Sequence
from pathlib import Path, PurePosixPath
from typing import BinaryIO, NamedTuple

from zenodo_atlas.sessions.errors import MemberNotFoundError, SessionError, UnsafeArchiveError
from zenodo_atlas.sessions.plan import archive_name, frame_folder
from zenodo_atlas.zenodo.errors import ChecksumMismatchError
from zenodo_atlas.zenodo.streams import Md5AlongWrites, hash_file

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


def _safe_target(info: zipfile.ZipInfo, target: Path, zip_name: str) -> Path:
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
        raise UnsafeArchiveError(f"{zip_name}: member {info.filename!r} {problem}; nothing was extracted")
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


def _vetted(
    infos: Sequence[zipfile.ZipInfo], zip_name: str, target: Path, members: Collection[str] | None
) -> list[tuple[zipfile.ZipInfo, Path]]:
    """The wanted members (default all) with their destinations; raises before anything is written."""
    if members is not None:
        by_name = {i.filename: i for i in infos}
        missing = [m for m in members if m not in by_name]
        if missing:
            raise MemberNotFoundError(f"{zip_name} has no member {missing[0]!r}")
        infos = [by_name[m] for m in members]
    return [(info, _safe_target(info, target, zip_name)) for info in infos]


def _local_file_stays(destination: Path, overwrite: bool) -> bool:
    return not overwrite and destination.is_file()


def _local_decides(destination: Path, info: zipfile.ZipInfo, overwrite: bool, result: Extracted) -> bool:
    """A file already at `destination` stays unless `overwrite`: listed in `files` when it holds the
    member's bytes, in `kept` when it differs (a local edit). False: the member is to be written."""
    if not _local_file_stays(destination, overwrite):
        return False
    (result.files if _same_content(destination, info) else result.kept).append(destination)
    return True


def _install(tmp: Path, destination: Path, info: zipfile.ZipInfo, result: Extracted) -> None:
    os.replace(tmp, destination)
    _restore_times_and_mode(destination, info)
    result.files.append(destination)


def safe_extract(
    zip_path: Path, target_dir: Path, members: Collection[str] | None = None, *, overwrite: bool = False
) -> Extracted:
    """Extract `members` (default all) under `target_dir`; every member is vetted before any write.

    A file already there with the same bytes is left untouched; one that differs (a local edit) is
    kept unless `overwrite`, and reported in `kept`.
    """
    zip_path, target = Path(zip_path), Path(target_dir).resolve()
    with zipfile.ZipFile(zip_path) as archive:
        plan = _vetted(archive.infolist(), zip_path.name, target, members)
        result = Extracted([], [])
        for info, destination in plan:
            if info.is_dir():
                destination.mkdir(parents=True, exist_ok=True)
                continue
            if _local_decides(destination, info, overwrite, result):
                continue
            destination.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=EXTRACT_PREFIX, dir=destination.parent)
            try:
                with os.fdopen(fd, "wb") as out, archive.open(info) as source:
                    shutil.copyfileobj(source, out, 1 << 20)
                _install(Path(tmp), destination, info, result)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
    return result


_LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature ... file name length, extra field length
_LOCAL_SIGNATURE = b"PK\x03\x04"


class _Member:
    """A member being streamed: where its bytes go, and their CRC-32 so far."""

    def __init__(self, info: zipfile.ZipInfo, destination: Path):
        self.info, self.destination = info, destination
        self.header = bytearray()
        self.data_start: int | None = None
        self.tmp: Path | None = None
        self.fd: int | None = None
        self.crc = 0

    @property
    def data_end(self) -> int | None:
        return None if self.data_start is None else self.data_start + self.info.compress_size


class StreamExtract:
    """Unpacks a stored zip while its bytes arrive (a download sink, see `zenodo.download.Sink`).

    The members come from the archive's central directory, fetched before the download: every one
    is vetted by the same rules as `safe_extract` before a byte is written, and data descriptors or
    zip64 sizes need no look-ahead. Each member's data goes to an `EXTRACT_PREFIX` temporary beside
    its destination (its CRC-32 checked as it passes), unless a local file already holds those
    bytes; `commit()`, called once the whole archive's md5 is verified, renames them into place
    with `safe_extract`'s rules for local files, and `discard()` removes them.

    A cut connection continues where the bytes stopped, mid-member. With a `journal`, a later run
    (after a kill) continues after the last complete member: the journal lists the members done
    and `<journal>.bytes` keeps every byte that is in no temporary (headers, descriptors, members
    not asked for), so the md5 of what came before is read back from disk, as a `.part` file's is.
    """

    def __init__(
        self, plan: list[tuple[zipfile.ZipInfo, Path]], zip_name: str, target: Path, *, overwrite: bool,
        journal: Path | None = None, identity: str = "",
    ):
        self.target = target
        """The folder the members go to."""
        self._zip_name, self._overwrite = zip_name, overwrite
        self._dirs = [d for i, d in plan if i.is_dir()]
        self._files = sorted((_Member(i, d) for i, d in plan if not i.is_dir()), key=lambda m: m.info.header_offset)
        self._made: list[Path] = []
        self._journal = journal
        self._identity = json.dumps({"archive": zip_name, "identity": identity, "members": len(self._files)})
        self._journal_fd: int | None = None
        self._kept_fd: int | None = None
        self._pos, self._next, self._broken, self._opened = 0, 0, False, False
        self._md5 = Md5AlongWrites()

    @classmethod
    def for_archive(
        cls,
        infos: Sequence[zipfile.ZipInfo],
        zip_name: str,
        target_dir: Path,
        members: Collection[str] | None = None,
        *,
        overwrite: bool = False,
        journal: Path | None = None,
        identity: str = "",
    ) -> StreamExtract | None:
        """A sink for the archive whose central directory gave `infos` (header offsets from the
        archive's start); None when it cannot stream (compressed or encrypted members): unpack the
        downloaded file with `safe_extract` instead. Raises UnsafeArchiveError for a hostile member.
        `identity` (e.g. the record file's md5) ties a `journal` to this very archive."""
        target = Path(target_dir).resolve()
        plan = _vetted(infos, zip_name, target, members)
        if any(i.compress_type != zipfile.ZIP_STORED or i.flag_bits & 0x1 for i, _ in plan if not i.is_dir()):
            return None
        return cls(plan, zip_name, target, overwrite=overwrite, journal=journal, identity=identity)

    # -- the download sink ----------------------------------------------------------------------

    def resume(self) -> int:
        if self._broken:  # a write failed part-way: what is on disk no longer matches the count
            self.restart()
        elif not self._opened:
            self._opened = True
            if self._journal is not None and not self._load_journal():
                self.restart()
        return self._pos

    def restart(self) -> None:
        self._drop_temporaries()
        self._close_journal()
        for member in self._files:
            member.header.clear()
            member.data_start, member.crc = None, 0
        self._pos, self._next, self._broken, self._opened = 0, 0, False, True
        self._md5 = Md5AlongWrites()
        if self._journal is not None:
            self._journal.parent.mkdir(parents=True, exist_ok=True)
            self._journal.write_text(self._identity + "\n")
            self._kept_path.write_bytes(b"")
            self._open_journal()

    def take(self, chunks: list[bytes]) -> int:
        if not self._opened:
            self.resume()
        total = 0
        self._md5.update(chunks)
        try:
            for chunk in chunks:
                view = memoryview(chunk)
                while view:
                    view = self._consume(view)
                total += len(chunk)
        except BaseException:
            self._broken = True
            raise
        finally:
            self._md5.wait()
        return total

    def pause(self) -> None:
        """Temporaries stay open between attempts: a resumed attempt appends to the current one."""

    def md5(self) -> str:
        return self._md5.hexdigest()

    @property
    def position(self) -> int:
        """Bytes of the archive taken so far."""
        return self._pos

    # -- the outcome ----------------------------------------------------------------------------

    def commit(self) -> Extracted:
        """Put every member in place (the caller verified the archive's md5 and size)."""
        if self._next < len(self._files):
            raise ChecksumMismatchError(
                f"{self._zip_name}: the download ended before member {self._files[self._next].info.filename!r}"
            )
        result = Extracted([], [])
        for folder in self._dirs:
            folder.mkdir(parents=True, exist_ok=True)
        for member in self._files:
            if _local_decides(member.destination, member.info, self._overwrite, result):
                if member.tmp is not None:  # a local edit: the downloaded copy is not needed
                    member.tmp.unlink()
                    member.tmp = None
                continue
            if member.tmp is None:
                raise SessionError(f"{member.destination} was removed while downloading {self._zip_name}; run again")
            _install(member.tmp, member.destination, member.info, result)
            member.tmp = None
        self._made.clear()
        self._drop_journal()
        return result

    def close(self) -> None:
        """Release open files and keep the rest (temporaries, journal) for a later run to resume."""
        for member in self._files:
            if member.fd is not None:
                os.close(member.fd)
                member.fd = None
        self._close_journal()

    def discard(self) -> None:
        """Remove every temporary and the journal, and the folders made for them if left empty."""
        self._drop_temporaries()
        self._drop_journal()
        for folder in reversed(self._made):
            with contextlib.suppress(OSError):  # something else was put there meanwhile
                folder.rmdir()
        self._made.clear()

    # -- parsing --------------------------------------------------------------------------------

    def _consume(self, view: memoryview) -> memoryview:
        """Take the bytes of `view` that belong to the current place in the archive; return the rest."""
        if self._next >= len(self._files):
            count = len(view)
            self._keep(view)
            self._pos += count
            return view[count:]
        member = self._files[self._next]
        if self._pos < member.info.header_offset:  # between members: a data descriptor, an unwanted member
            count = min(len(view), member.info.header_offset - self._pos)
            self._keep(view[:count])
        elif member.data_start is None:
            count = self._read_header(member, view)
            self._keep(view[:count])
        else:
            count = min(len(view), member.data_start + member.info.compress_size - self._pos)
            member.crc = zlib.crc32(view[:count], member.crc)
            if member.fd is not None:
                _write_all(member.fd, view[:count])
        self._pos += count
        if self._pos == member.data_end:
            self._finish(member)
        return view[count:]

    def _read_header(self, member: _Member, view: memoryview) -> int:
        """Gather the local header (fixed part, then name and extra field); the data follows it."""
        if len(member.header) < _LOCAL_HEADER.size:
            count = min(len(view), _LOCAL_HEADER.size - len(member.header))
            member.header += view[:count]
            return count
        signature, name_length, extra_length = _LOCAL_HEADER.unpack_from(member.header)
        if signature != _LOCAL_SIGNATURE:
            raise self._corrupt(member, "has no local header where the directory puts it")
        count = min(len(view), _LOCAL_HEADER.size + name_length + extra_length - len(member.header))
        member.header += view[:count]
        if len(member.header) == _LOCAL_HEADER.size + name_length + extra_length:
            self._start_data(member, self._pos + count)
        return count

    def _start_data(self, member: _Member, data_start: int) -> None:
        _, name_length, _ = _LOCAL_HEADER.unpack_from(member.header)
        name = bytes(member.header[_LOCAL_HEADER.size:_LOCAL_HEADER.size + name_length])
        if name.decode("utf-8" if member.info.flag_bits & 0x800 else "cp437", "replace") != member.info.orig_filename:
            raise self._corrupt(member, "has another name in its local header")
        following = self._files[self._next + 1].info.header_offset if self._next + 1 < len(self._files) else None
        if following is not None and data_start + member.info.compress_size > following:
            raise UnsafeArchiveError(f"{self._zip_name}: member {member.info.filename!r} overlaps the next one")
        member.data_start = data_start
        if _local_file_stays(member.destination, self._overwrite) and _same_content(member.destination, member.info):
            return  # the local file already holds these bytes
        self._make_folder(member.destination.parent)
        member.fd, tmp = tempfile.mkstemp(prefix=EXTRACT_PREFIX, dir=member.destination.parent)
        member.tmp = Path(tmp)

    def _finish(self, member: _Member) -> None:
        if member.fd is not None:
            os.close(member.fd)
            member.fd = None
        if member.crc != member.info.CRC:
            raise self._corrupt(member, f"has CRC-32 {member.crc:08x}, its directory says {member.info.CRC:08x}")
        if self._journal_fd is not None:
            line = {"member": self._next, "start": member.data_start, "tmp": member.tmp and member.tmp.name}
            os.write(self._journal_fd, (json.dumps(line) + "\n").encode())
        self._next += 1

    def _corrupt(self, member: _Member, problem: str) -> ChecksumMismatchError:
        return ChecksumMismatchError(f"{self._zip_name}: member {member.info.filename!r} {problem}")

    def _make_folder(self, folder: Path) -> None:
        missing = []
        while not folder.exists():
            missing.append(folder)
            folder = folder.parent
        for made in reversed(missing):
            made.mkdir(exist_ok=True)
            self._made.append(made)

    def _drop_temporaries(self) -> None:
        self.close()
        for member in self._files:
            if member.tmp is not None:
                member.tmp.unlink(missing_ok=True)
                member.tmp = None

    # -- the journal ----------------------------------------------------------------------------

    @property
    def _kept_path(self) -> Path:
        assert self._journal is not None
        return self._journal.with_name(self._journal.name + ".bytes")

    def _keep(self, data: memoryview) -> None:
        if self._kept_fd is not None:
            _write_all(self._kept_fd, data)

    def _open_journal(self) -> None:
        assert self._journal is not None
        self._journal_fd = os.open(self._journal, os.O_WRONLY | os.O_APPEND)
        self._kept_fd = os.open(self._kept_path, os.O_WRONLY | os.O_APPEND)

    def _close_journal(self) -> None:
        for fd in (self._journal_fd, self._kept_fd):
            if fd is not None:
                os.close(fd)
        self._journal_fd = self._kept_fd = None

    def _drop_journal(self) -> None:
        self._close_journal()
        if self._journal is not None:
            self._journal.unlink(missing_ok=True)
            self._kept_path.unlink(missing_ok=True)

    def _load_journal(self) -> bool:
        """Continue after the last member an earlier run completed; False: nothing usable."""
        assert self._journal is not None
        try:
            lines = self._journal.read_text().splitlines()
            kept = self._kept_path.open("rb")
        except OSError:
            return False
        done: list[str] = []
        md5, position, used = hashlib.md5(), 0, 0
        with kept:
            for line in lines[1:] if lines[:1] == [self._identity] else []:
                member = self._journaled(line, len(done))
                if member is None or member.data_start is None or member.data_start < position:
                    break
                gap = member.data_start - position
                if _hash_from(kept, gap, md5) != gap:
                    break
                hash_file(member.tmp or member.destination, md5)
                done.append(line)
                used += gap
                position = member.data_start + member.info.compress_size
        if not done:
            return False
        for member in self._files[len(done):]:
            member.data_start, member.tmp = None, None
        self._pos, self._next, self._md5 = position, len(done), Md5AlongWrites(md5)
        os.truncate(self._kept_path, used)
        self._journal.write_text("\n".join([self._identity, *done]) + "\n")
        self._open_journal()
        return True

    def _journaled(self, line: str, index: int) -> _Member | None:
        """The member a journal line says is complete, its bytes found on disk; None if not."""
        try:
            entry = json.loads(line)
            start, tmp = int(entry["start"]), entry["tmp"]
            if entry["member"] != index or index >= len(self._files):
                return None
        except (ValueError, KeyError, TypeError):
            return None
        member = self._files[index]
        if tmp is not None and (not str(tmp).startswith(EXTRACT_PREFIX) or "/" in tmp or "\\" in tmp):
            return None
        holder = member.destination.parent / tmp if tmp is not None else member.destination
        try:
            if holder.stat().st_size != member.info.compress_size:
                return None
        except OSError:
            return None
        member.data_start, member.tmp = start, holder if tmp is not None else None
        return member


def _hash_from(source: BinaryIO, count: int, md5: hashlib._Hash) -> int:
    """Hash the next `count` bytes of `source`; returns how many there were."""
    done = 0
    while done < count and (chunk := source.read(min(1 << 20, count - done))):
        md5.update(chunk)
        done += len(chunk)
    return done


def _write_all(fd: int, data: memoryview) -> None:
    while data:
        data = data[os.write(fd, data):]


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
