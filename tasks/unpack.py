"""Tasks that unpack record archives into the session layout, refusing unsafe members: while they
download (stored zips: the bytes cross the disk once), or from a downloaded file (anything else)."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Collection
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from zenodo_atlas.sessions.errors import SessionError
from zenodo_atlas.sessions.extract import Extracted, StreamExtract, archive_destination, safe_extract
from zenodo_atlas.tasks.progress import TransferProgress
from zenodo_atlas.zenodo.client import ZenodoClient
from zenodo_atlas.zenodo.download import DISK_FULL, Progress, disk_full_error, file_md5
from zenodo_atlas.zenodo.errors import ChecksumMismatchError, ZenodoError
from zenodo_atlas.zenodo.models import RecordFile


def _unpack_one(archive: Path, session_dir: Path, members: Collection[str] | None, overwrite: bool) -> Extracted:
    destination = archive_destination(archive.name, session_dir)
    if archive.suffix.lower() != ".zip":
        destination.mkdir(parents=True, exist_ok=True)
        target = destination / archive.name
        if target.is_file() and not overwrite:
            same = file_md5(target) == file_md5(archive)
            return Extracted([target], []) if same else Extracted([], [target])
        shutil.copy2(archive, target)
        return Extracted([target], [])
    return safe_extract(archive, destination, members, overwrite=overwrite)


@task(name="unpack-archive", task_run_name="unpack-{archive.name}", cache_policy=NO_CACHE)
async def unpack_archive(
    archive: Path, session_dir: Path, members: Collection[str] | None = None, overwrite: bool = False
) -> Extracted:
    """DCIM*.zip -> DCIM/, PROCESSED_DATA_X.zip -> PROCESSED_DATA/X/, others by stem; CPU off the loop.

    Local files that differ from the archive are kept unless `overwrite` (see `safe_extract`)."""
    return await asyncio.to_thread(_unpack_one, archive, session_dir, members, overwrite)


async def streaming_unpack(
    client: ZenodoClient, url: str, file: RecordFile, session_dir: Path, members: Collection[str] | None,
    overwrite: bool, journal: Path | None = None,
) -> StreamExtract | None:
    """A sink that unpacks `file` as it downloads, its members vetted from the central directory
    (UnsafeArchiveError before any byte is fetched); None when it cannot stream (not a zip,
    compressed members, or a directory not readable: the plain download then says why). With a
    `journal`, a run killed part-way is continued by the next one (see StreamExtract)."""
    if not file.key.lower().endswith(".zip"):
        return None
    try:
        infos = await client.zip_infos(url, file.size)
    except ZenodoError:
        return None
    target = archive_destination(file.key, session_dir)
    identity = f"{file.md5} {file.size} {sorted(members) if members is not None else 'all'}"
    return await asyncio.to_thread(
        StreamExtract.for_archive, infos, file.key, target, members, overwrite=overwrite, journal=journal,
        identity=identity,
    )


async def unpack_while_downloading(
    client: ZenodoClient, url: str, file: RecordFile, sink: StreamExtract, progress: Progress | None = None
) -> Extracted:
    """Download a stored zip straight into the session: members are put in place once the whole
    archive's md5 is verified. Wrong bytes or a refused archive leave nothing of it; another failure
    (a full disk, the network gave up) keeps what arrived for the next run to continue."""
    try:
        await client.download_into(url, sink, size=file.size, md5=file.md5, progress=progress)
        return await asyncio.to_thread(sink.commit)
    except (ChecksumMismatchError, SessionError):
        await asyncio.to_thread(sink.discard)
        raise
    except OSError as exc:
        if exc.errno not in DISK_FULL:
            raise
        raise disk_full_error(exc, sink.target, sink.position, file.size) from None
    finally:
        await asyncio.to_thread(sink.close)


@task(name="download-unpack", task_run_name="download-unpack-{file.key}", cache_policy=NO_CACHE)
async def download_unpacked(
    client: ZenodoClient,
    url: str,
    file: RecordFile,
    sink: StreamExtract,
    progress: TransferProgress,
    slots: asyncio.Semaphore,
) -> Extracted:
    """`unpack_while_downloading` in one of the run's transfer slots, with progress."""
    async with slots:
        progress.start_file(file.key, file.size)
        extracted = await unpack_while_downloading(client, url, file, sink, progress.callback(file.key))
        progress.finish_file(file.key)
    return extracted
