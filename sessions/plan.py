"""Which archives a session becomes, with the exact byte size of each, before any byte is written.

Zenodo takes one streamed PUT per file, so an archive's length must be known up front: every
planned zip is sized by zipstream-ng from the member names and sizes alone (stored, no
compression), and the same members stream later in the same order, giving the same bytes.

Plain files at the session root (preview PDFs, overview PNG) are published as they are: they are a
`PlannedArchive` with `zipped=False` and exactly one member, so callers upload every plan entry the
same way (`name`, `size`, `iter_archive`) without caring which kind it is.
"""

from __future__ import annotations

import csv
import os
import posixpath
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal

import zipstream
from pydantic import BaseModel, ConfigDict

from zenodo_atlas.sessions.errors import PlanError, RecordTooLargeError, RestrictedFolderError
from zenodo_atlas.sessions.frames import relative_path_column, useful_frame_names
from zenodo_atlas.sessions.links import inside
from zenodo_atlas.sessions.session import Session

DCIM_PART_BYTES = 15e9
RECORD_BYTES = 50e9
RECORD_MAX_FILES = 100
FRAMES = "FRAMES"
"""Pseudo-folder for the useful-frames archive (frames listed in METADATA/metadata.csv)."""

FRAME_SUFFIXES = (".jpg", ".jpeg", ".png")
_IGNORED_SUFFIXES = (".tif.aux.xml",)

PROCESSED_LETTERS: dict[str, str] = {
    "f": FRAMES, "d": FRAMES, "m": "METADATA", "g": "GPS", "b": "PROCESSED_DATA/BATHY",
    "i": "PROCESSED_DATA/IA", "p": "PROCESSED_DATA/PHOTOGRAMMETRY",
    "c": "PROCESSED_DATA/CPCE_ANNOTATION",
}
CUSTOM_LETTERS: dict[str, str] = {
    "f": "PROCESSED_DATA/FRAMES", "d": "DCIM", "m": "METADATA", "g": "GPS",
    "b": "PROCESSED_DATA/BATHY", "i": "PROCESSED_DATA/IA", "p": "PROCESSED_DATA/PHOTOGRAMMETRY",
    "c": "PROCESSED_DATA/CPCE_ANNOTATION", "s": "SENSORS",
}


class ArchiveMember(BaseModel):
    model_config = ConfigDict(frozen=True)

    source: Path
    arcname: str
    size: int


class PlannedArchive(BaseModel):
    """One file of a Zenodo record: a stored zip of `members`, or (`zipped=False`) one plain file."""

    model_config = ConfigDict(frozen=True)

    name: str
    folder: str
    members: tuple[ArchiveMember, ...]
    size: int
    zipped: bool = True

    @property
    def content_bytes(self) -> int:
        return sum(m.size for m in self.members)


def human_size(size: float) -> str:
    """Decimal units, as Zenodo states its limits (50 GB = 50e9 bytes)."""
    for unit in ("B", "kB", "MB", "GB"):
        if abs(size) < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.2f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")


def natural_key(text: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key where `G2` comes before `G10` (numbers compare as numbers)."""
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part.lower())
        for part in re.split(r"(\d+)", text) if part
    )


def zip_stream(members: Iterable[ArchiveMember]) -> zipstream.ZipStream:
    """The stored, sized zip of `members`, the one place plan and stream agree on the layout."""
    stream = zipstream.ZipStream(compress_type=zipstream.ZIP_STORED, sized=True)
    for member in members:
        stream.add_path(str(member.source), member.arcname)
    return stream


def make_archive(name: str, folder: str, members: Sequence[ArchiveMember]) -> PlannedArchive:
    return PlannedArchive(
        name=name, folder=folder, members=tuple(members), size=len(zip_stream(members))
    )


def plain_file(path: Path, folder: str = "", name: str | None = None) -> PlannedArchive:
    size = path.stat().st_size
    member = ArchiveMember(source=path, arcname=name or path.name, size=size)
    return PlannedArchive(
        name=name or path.name, folder=folder, members=(member,), size=size, zipped=False
    )


def archive_name(folder: str) -> str:
    """`PROCESSED_DATA/IA` -> `PROCESSED_DATA_IA.zip`, as the predecessor named them."""
    return folder.strip("/").replace("/", "_") + ".zip"


def _ignored(name: str) -> bool:
    return name.startswith(".") or name.endswith(_IGNORED_SUFFIXES)


def folder_members(folder: Path, *, include: str | None = None, root: Path | None = None) -> list[ArchiveMember]:
    """Every regular file under `folder`, arcnames relative to it, in natural order.

    `include` is an optional regular expression the arcname must fully match. Links are followed
    only when they resolve inside `root` (the session; default `folder`), see `sessions.links`.
    """
    if not folder.is_dir():
        return []
    root = root or folder
    members = []
    seen: set[Path] = set()
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=True):
        real = Path(dirpath).resolve()
        if real in seen:
            dirnames[:] = []
            continue
        seen.add(real)
        dirnames[:] = [d for d in dirnames if not d.startswith(".") and inside(Path(dirpath) / d, root)]
        for filename in filenames:
            path = Path(dirpath) / filename
            arcname = path.relative_to(folder).as_posix()
            if _ignored(filename) or not inside(path, root) or not path.is_file():
                continue
            if include is not None and not re.fullmatch(include, arcname, flags=re.IGNORECASE):
                continue
            members.append(ArchiveMember(source=path, arcname=arcname, size=path.stat().st_size))
    members.sort(key=lambda m: natural_key(m.arcname))
    return members


def _part_name(index: int) -> str:
    return "DCIM.zip" if index == 1 else f"DCIM_p{index:02d}.zip"


def split_dcim(members: Sequence[ArchiveMember], part_bytes: float) -> list[PlannedArchive]:
    """Cut DCIM into zips of at most `part_bytes` each (a lone larger file gets a part of its own)."""
    parts: list[PlannedArchive] = []
    current: list[ArchiveMember] = []
    stream = zip_stream(())
    for member in members:
        stream.add_path(str(member.source), member.arcname)
        if len(stream) > part_bytes and current:
            parts.append(make_archive(_part_name(len(parts) + 1), "DCIM", current))
            current = []
            stream = zip_stream([member])
        current.append(member)
    if current:
        parts.append(make_archive(_part_name(len(parts) + 1), "DCIM", current))
    return parts


GPS_RAW_SELECTION = r"(DEVICE/[^/]+\.(zip|gpx)|BASE/[^/]+\.(o|zip))"


def _raw_folder(session: Session, folder: str, dcim_part_bytes: float) -> list[PlannedArchive]:
    source = session.path / folder
    if folder == "DCIM":
        return split_dcim(folder_members(source, root=session.path), dcim_part_bytes)
    # The predecessor filters raw GPS for ASV-like sessions only; its UAV manager zips the whole GPS
    # folder, PPK solution included (SeatizenDOI/zenodo-tools,
    # src/seatizen_session/manager/ssm_uav_session.py: prepare_raw_data zips GPS as it is).
    select = folder == "GPS" and session.rules.group != "UAV"
    members = folder_members(source, include=GPS_RAW_SELECTION if select else None, root=session.path)
    return [make_archive(archive_name(folder), folder, members)] if members else []


def plan_raw(
    session: Session,
    *,
    dcim_part_bytes: float = DCIM_PART_BYTES,
    record_bytes: float = RECORD_BYTES,
    max_files: int = RECORD_MAX_FILES,
) -> list[list[PlannedArchive]]:
    """The RAW_DATA archives, grouped into as many Zenodo versions as their size requires."""
    archives: list[PlannedArchive] = []
    for folder in session.rules.raw_archives:
        archives += _raw_folder(session, folder, dcim_part_bytes)
    for filename in session.rules.raw_root_files:
        if inside(session.path / filename, session.path) and (session.path / filename).is_file():
            archives.append(plain_file(session.path / filename))
    if not archives:
        raise PlanError(
            f"{session.name}: nothing to publish as raw data; expected some of "
            f"{', '.join(session.rules.raw_archives)} for a {session.name.platform} session"
        )
    return _split_versions(archives, record_bytes, max_files)


def _split_versions(
    archives: Sequence[PlannedArchive], record_bytes: float, max_files: int
) -> list[list[PlannedArchive]]:
    """Greedy, in plan order: a new version starts when the next archive would not fit."""
    versions: list[list[PlannedArchive]] = [[]]
    total = 0
    for archive in archives:
        if archive.size > record_bytes:
            raise RecordTooLargeError(
                f"{archive.name} is {human_size(archive.size)}, more than a Zenodo record holds "
                f"({human_size(record_bytes)}); split the folder {archive.folder} before publishing"
            )
        if versions[-1] and (total + archive.size > record_bytes or len(versions[-1]) >= max_files):
            versions.append([])
            total = 0
        versions[-1].append(archive)
        total += archive.size
    return versions


def folders_from_letters(letters: str, mode: Literal["processed", "custom"]) -> list[str]:
    """The predecessor's folder letters (`-up fmi`, `-uc dms`) as session-relative folders."""
    table = PROCESSED_LETTERS if mode == "processed" else CUSTOM_LETTERS
    folders: list[str] = []
    for letter in letters.replace(",", "").replace(" ", ""):
        if letter not in table:
            valid = ", ".join(f"{k}={v}" for k, v in table.items())
            raise PlanError(f"unknown {mode} folder letter {letter!r}; valid letters: {valid}")
        if table[letter] not in folders:
            folders.append(table[letter])
    if not folders:
        raise PlanError(f"no folder letters given; choose among {', '.join(table)}")
    return folders


def resolve_in_session(session: Session, relative_file_path: str) -> Path | None:
    """Resolve a metadata.csv `relative_file_path` (first part = the session name) inside the session.

    The first component is replaced by the session folder, so a renamed or moved session still
    resolves; a path that would leave the session gives None.
    """
    parts = Path(relative_file_path.replace("\\", "/")).parts
    if len(parts) < 2 or Path(relative_file_path).is_absolute():
        return None
    candidate = (session.path.joinpath(*parts[1:])).resolve()
    return candidate if candidate.is_relative_to(session.path) else None


def frame_folder(path_in_session: str) -> str:
    """The folder whose archive holds a frame: `DCIM` at any depth, `PROCESSED_DATA/<X>`, else the top."""
    parts = path_in_session.strip("/").split("/")
    if len(parts) < 2:
        return ""
    if parts[0] == "PROCESSED_DATA" and len(parts) > 2:
        return f"PROCESSED_DATA/{parts[1]}"
    return parts[0]


def frame_archive_member(relative_file_path: str) -> tuple[str, str] | None:
    """(archive name, path inside it) of a frame listed as `<session>/<folder>/.../<file>` in metadata.csv."""
    inside = "/".join(relative_file_path.replace("\\", "/").strip("/").split("/")[1:])
    folder = frame_folder(inside)
    if not folder:
        return None
    return archive_name(folder), inside.removeprefix(f"{folder}/")


def _frames_archive(session: Session, all_frames: bool) -> PlannedArchive:
    if not session.metadata_csv.is_file():
        raise PlanError(f"{session.name}: METADATA/metadata.csv is missing, so frames cannot be selected")
    useful = None if all_frames else useful_frame_names(session.path)
    if useful is None and not all_frames:
        raise PlanError(
            f"{session.name}: no METADATA/predictions_gps.csv nor usefulness CSV to select useful "
            "frames; add one or ask for all frames"
        )
    paths: list[Path] = []
    with session.metadata_csv.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        column = relative_path_column(reader.fieldnames)
        if column is None:
            raise PlanError(f"{session.name}: METADATA/metadata.csv has no relative_file_path column")
        for row in reader:
            if useful is not None and row.get("FileName") not in useful:
                continue
            path = resolve_in_session(session, row.get(column) or "")
            if path and path.suffix.lower() in FRAME_SUFFIXES and path.is_file():
                paths.append(path)
    if not paths:
        raise PlanError(f"{session.name}: no frame listed in METADATA/metadata.csv exists on disk")
    folders = {frame_folder(p.relative_to(session.path).as_posix()) for p in paths}
    if len(folders) != 1 or "" in folders:
        where = ", ".join(sorted(f or "<session root>" for f in folders))
        raise PlanError(
            f"{session.name}: frames must all lie in one folder such as PROCESSED_DATA/FRAMES "
            f"or DCIM, found {where}"
        )
    folder = folders.pop()
    parent = session.path / folder
    _refuse_restricted(session, [folder])
    members = sorted(
        {ArchiveMember(source=p, arcname=p.relative_to(parent).as_posix(), size=p.stat().st_size)
         for p in paths},
        key=lambda m: natural_key(m.arcname),
    )
    return make_archive(archive_name(folder), folder, members)


def _refuse_restricted(session: Session, folders: Iterable[str]) -> None:
    for folder in folders:
        if session.rules.is_restricted(folder):
            raise RestrictedFolderError(
                f"{folder} is restricted for {session.name.platform} sessions and never goes into an "
                "open PROCESSED_DATA version; publish it with the raw data instead"
            )


def _check_record(session: Session, archives: Sequence[PlannedArchive], record_bytes: float) -> None:
    total = sum(a.size for a in archives)
    if total > record_bytes:
        raise RecordTooLargeError(
            f"{session.name}: the planned files total {human_size(total)}, more than one Zenodo "
            f"record holds ({human_size(record_bytes)}); publish fewer folders at once"
        )
    if len(archives) > RECORD_MAX_FILES:
        raise RecordTooLargeError(
            f"{session.name}: {len(archives)} files planned, more than the {RECORD_MAX_FILES} a record holds"
        )


def _folder_archives(session: Session, folders: Sequence[str]) -> list[PlannedArchive]:
    archives = []
    for folder in folders:
        members = folder_members(session.path / folder, root=session.path)
        if members:
            archives.append(make_archive(archive_name(folder), folder, members))
    return archives


def plan_processed(
    session: Session,
    folders: Sequence[str],
    *,
    all_frames: bool = False,
    record_bytes: float = RECORD_BYTES,
) -> list[PlannedArchive]:
    """The open PROCESSED_DATA files: one zip per folder, the useful frames, the root files.

    Missing or empty folders are left out (so one letter set can serve many sessions); a
    restricted folder of the session's platform is refused.
    """
    folders = [f if f == FRAMES else normalize_folder(f) for f in folders]
    _refuse_restricted(session, [f for f in folders if f != FRAMES])
    archives = []
    if FRAMES in folders:
        archives.append(_frames_archive(session, all_frames))
    archives += _folder_archives(session, [f for f in folders if f != FRAMES])
    report = session.path / "PROCESSED_DATA" / "PHOTOGRAMMETRY" / "odm_report" / "report.pdf"
    if "PROCESSED_DATA/PHOTOGRAMMETRY" in folders and inside(report, session.path) and report.is_file():
        archives.append(plain_file(report, "PROCESSED_DATA/PHOTOGRAMMETRY", "000_photogrammetry_report.pdf"))
    archives += root_files(session)
    _refuse_restricted_content(session, archives)
    _check_record(session, archives, record_bytes)
    return archives


def _refuse_restricted_content(session: Session, archives: Sequence[PlannedArchive]) -> None:
    """Last guard: no member may resolve into a restricted folder, whatever links lead there."""
    restricted = [(session.path / f).resolve() for f in session.rules.restricted_folders]
    for archive in archives:
        for member in archive.members:
            source = member.source.resolve()
            if any(source.is_relative_to(folder) for folder in restricted):
                raise RestrictedFolderError(
                    f"{archive.name} would carry {member.arcname}, which lies in a restricted folder of "
                    f"{session.name.platform} sessions ({source}); remove the link or the file"
                )


def normalize_folder(folder: str) -> str:
    """`./PROCESSED_DATA//IA/` -> `PROCESSED_DATA/IA`; a folder outside the session is refused."""
    normalized = posixpath.normpath(folder.replace("\\", "/").strip())
    if posixpath.isabs(normalized) or normalized == "." or normalized.split("/")[0] == "..":
        raise PlanError(f"folder {folder!r} is not a folder inside the session")
    return normalized


def root_files(session: Session) -> list[PlannedArchive]:
    files = [
        p for p in session.path.iterdir() if not _ignored(p.name) and inside(p, session.path) and p.is_file()
    ]
    return [plain_file(p) for p in sorted(files, key=lambda p: natural_key(p.name))]


def plan_custom(
    session: Session, folders: Sequence[str], *, record_bytes: float = RECORD_BYTES
) -> list[PlannedArchive]:
    """Zips of the given folders, restricted ones included: a custom record sets its own access."""
    archives = _folder_archives(session, [normalize_folder(f) for f in folders])
    if not archives:
        raise PlanError(f"{session.name}: none of {', '.join(folders)} exists or has files")
    _check_record(session, archives, record_bytes)
    return archives
