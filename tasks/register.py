"""Tasks that feed the Atlas: gather a session's files and versions, then register it in one transaction.

A local session is identified on Zenodo by re-planning its METADATA and IA archives: planned archives
are byte-for-byte reproducible, so their md5 names the Zenodo version that holds them. Archives made by
another tool (the predecessor's deflated zips) have other bytes: they are recognised by their members'
names, sizes and CRC-32, read from the remote zip's central directory by Range requests. Failing both,
the newest version holding both archives is taken, with a warning. A remote session needs only two
small archives, METADATA.zip and PROCESSED_DATA_IA.zip.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel

from zenodo_atlas.atlas.ingest import (
    IA_ARCHIVE,
    METADATA_ARCHIVE,
    DepositRef,
    RegistrationReport,
    deposit_ref_from_records,
    prepare_session,
    register_prepared,
)
from zenodo_atlas.sessions.archive import archive_md5, member_signature
from zenodo_atlas.sessions.plan import PlannedArchive, plan_processed
from zenodo_atlas.sessions.session import Session
from zenodo_atlas.sessions.zenodo_record import DEPRECATED_LABEL, is_deprecated
from zenodo_atlas.tasks.atlas_db import write_atlas
from zenodo_atlas.tasks.progress import TransferProgress, artifact_key
from zenodo_atlas.tasks.transfer import content_url, download_file
from zenodo_atlas.tasks.unpack import unpack_archive
from zenodo_atlas.zenodo.client import ZenodoClient
from zenodo_atlas.zenodo.errors import ZenodoError
from zenodo_atlas.zenodo.models import Record, RecordFile

REGISTRATION_ARCHIVES = (METADATA_ARCHIVE, IA_ARCHIVE)


class RegistrationSource(BaseModel):
    """A folder holding METADATA/ and PROCESSED_DATA/IA/, and the md5 of the archives it came from."""

    session_dir: Path
    archive_md5s: dict[str, str]
    warnings: list[str] = []


def _registration_archives(session_path: str) -> list[PlannedArchive]:
    session = Session.open(session_path)
    archives = plan_processed(session, ["METADATA", "PROCESSED_DATA/IA"])
    return [a for a in archives if a.name in REGISTRATION_ARCHIVES]


async def _match_by_content(
    client: ZenodoClient, archive: PlannedArchive, versions: list[Record]
) -> str | None:
    """md5 of the earliest remote `archive.name` holding the same members; each distinct remote file
    (versions inherit files unchanged) has its central directory read once."""
    local = await asyncio.to_thread(member_signature, archive)
    seen: set[str] = set()
    for record in sorted(versions, key=lambda r: r.id):
        f = record.file(archive.name)
        if f is None or f.md5 in seen:
            continue
        seen.add(f.md5)
        try:
            entries = await client.zip_entries(content_url(record, f), f.size)
        except ZenodoError:  # unreadable or hidden: another version, or the fallback, decides
            continue
        if frozenset((e.name, e.size, e.crc32) for e in entries) == local:
            return f.md5
    return None


@task(name="local-registration-source", cache_policy=NO_CACHE)
async def local_source(client: ZenodoClient, session_path: str, versions: list[Record]) -> RegistrationSource:
    """Which Zenodo files the folder's METADATA and IA are: by md5, else by content, else the newest."""
    archives = await asyncio.to_thread(_registration_archives, session_path)
    published = {f.md5 for r in versions for f in r.files}
    md5s: dict[str, str] = {}
    for archive in archives:
        md5 = await asyncio.to_thread(archive_md5, archive)
        matched = md5 if md5 in published else await _match_by_content(client, archive, versions)
        if matched:
            md5s[archive.name] = matched
    warnings = []
    unmatched = [a.name for a in archives if a.name not in md5s]
    newest = next((r for r in sorted(versions, key=lambda r: -r.id)
                   if all(r.file(k) for k in REGISTRATION_ARCHIVES)), None)
    if unmatched and newest is not None:
        md5s.update({k: f.md5 for k in unmatched if (f := newest.file(k)) is not None})
        warnings.append(
            f"{', '.join(unmatched)} of {session_path} match(es) no published archive by content; "
            f"registered as version {newest.id}, the newest holding {' and '.join(REGISTRATION_ARCHIVES)}."
        )
    return RegistrationSource(session_dir=Path(session_path), archive_md5s=md5s, warnings=warnings)


def _latest_holding(versions: list[Record], key: str) -> tuple[Record, RecordFile] | None:
    """The newest version holding `key`; DEPRECATED ones were superseded (and are restricted)."""
    for record in sorted(versions, key=lambda r: r.id, reverse=True):
        f = None if is_deprecated(record) else record.file(key)
        if f is not None:
            return record, f
    return None


@task(name="remote-registration-source", cache_policy=NO_CACHE)
async def remote_source(
    client: ZenodoClient, session_name: str, versions: list[Record], work_dir: Path, slots: asyncio.Semaphore
) -> RegistrationSource:
    """Download only METADATA.zip and PROCESSED_DATA_IA.zip of the newest version holding each.

    `slots` is the run's transfer semaphore (see `transfer_slots`): registration downloads share the
    per-run and global limits with every other download.
    """
    session_dir = Path(tempfile.mkdtemp(prefix="register-", dir=work_dir)) / session_name
    zips = session_dir / "ZIP"
    zips.mkdir(parents=True)
    md5s: dict[str, str] = {}
    wanted = [(key, hit) for key in REGISTRATION_ARCHIVES if (hit := _latest_holding(versions, key))]
    if not any(key == METADATA_ARCHIVE for key, _ in wanted):
        deprecated = [str(v.id) for v in versions if is_deprecated(v)]
        why = (f" outside its {DEPRECATED_LABEL} version(s) {', '.join(deprecated)}, which were superseded"
               if deprecated else ": publish its processed data first")
        raise LookupError(f"{session_name} has no {METADATA_ARCHIVE} on Zenodo{why}")
    async with TransferProgress(artifact_key("register", session_name),
                                sum(f.size for _, (_, f) in wanted), f"Archives of {session_name}") as progress:
        for key, (record, f) in wanted:
            path = await download_file(client, content_url(record, f), f, zips, progress, slots)
            await unpack_archive(path, session_dir)
            md5s[key] = f.md5
    return RegistrationSource(session_dir=session_dir, archive_md5s=md5s)


@task(name="register-in-atlas", task_run_name="register-{deposit.session_name}", cache_policy=NO_CACHE)
async def register_in_atlas(
    atlas_path: Path, source: RegistrationSource, deposit: DepositRef, all_frames: bool = False
) -> RegistrationReport:
    """One transaction per session under the Atlas writer slot; the files are read and checked before
    it is taken (on another core while someone else writes), DuckDB work runs off the event loop."""
    prepared = await asyncio.to_thread(
        prepare_session, source.session_dir, deposit, archive_md5s=source.archive_md5s, all_frames=all_frames
    )
    report = await write_atlas(atlas_path, lambda con: register_prepared(con, prepared))
    report.warnings[:0] = source.warnings
    logger = get_run_logger()
    logger.info(
        "%s: %d version(s), %d frame(s), %d prediction(s) added",
        report.session, report.versions_added, report.frames_added, report.predictions_added,
    )
    for warning in report.warnings:
        logger.warning("%s: %s", report.session, warning)
    if report.unknown_columns:
        logger.warning("%s: score columns with no class: %s", report.session, ", ".join(report.unknown_columns))
    return report


async def register_remote(
    client: ZenodoClient,
    atlas_path: Path,
    session_name: str,
    versions: list[Record],
    work_dir: Path,
    slots: asyncio.Semaphore,
    *,
    all_frames: bool = False,
) -> RegistrationReport:
    """Fetch the two registration archives (no slot held), register, and always remove the scratch copy."""
    work_dir.mkdir(parents=True, exist_ok=True)
    source = await remote_source(client, session_name, versions, work_dir, slots)
    try:
        return await register_in_atlas(atlas_path, source, deposit_ref_from_records(versions), all_frames)
    finally:
        shutil.rmtree(source.session_dir.parent, ignore_errors=True)
