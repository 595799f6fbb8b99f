"""Tasks that move archives: stream planned archives into a draft, verify them, fetch record files.

Archives are zipped while they upload (stored zips of known length, streamed), several at once under
a semaphore for this run and a Prefect global concurrency limit shared by every run, so a nightly
job and a UI-triggered upload together never exceed what Zenodo tolerates.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path

from prefect import get_client, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
from prefect.concurrency.asyncio import concurrency
from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound
from pydantic import BaseModel

from zenodo_atlas.errors import ZenodoAtlasError
from zenodo_atlas.sessions.archive import archive_md5, iter_archive
from zenodo_atlas.sessions.plan import PlannedArchive
from zenodo_atlas.settings import LEASES_ON_DISK, current_settings
from zenodo_atlas.tasks.progress import TransferProgress
from zenodo_atlas.zenodo.client import ZenodoClient
from zenodo_atlas.zenodo.download import file_md5
from zenodo_atlas.zenodo.models import Deposition, DepositionFile, Record, RecordFile
from zenodo_atlas.zenodo.streams import IterableSource

UPLOAD_LIMIT = "zenodo-atlas-uploads"
DOWNLOAD_LIMIT = "zenodo-atlas-downloads"
LEASE_SECONDS = 60
"""The shortest lease Prefect grants: slots of a killed run come back after a minute, not five."""


class ArchiveResult(BaseModel):
    name: str
    size: int
    md5: str
    seconds: float
    uploaded: bool

    @property
    def mb_per_s(self) -> float:
        return self.size / 1e6 / self.seconds if self.uploaded and self.seconds > 0 else 0.0


class DraftVerificationError(ZenodoAtlasError, RuntimeError):
    """The draft's files do not match what was uploaded; it is left unpublished."""


@task(name="ensure-concurrency-limit", cache_policy=NO_CACHE)
async def ensure_global_limit(name: str, limit: int) -> int:
    """The shared limit's size, creating it on first use so runs on a fresh server are bounded too."""
    async with get_client() as client:
        try:
            return (await client.read_global_concurrency_limit_by_name(name)).limit
        except ObjectNotFound:
            with contextlib.suppress(ObjectAlreadyExists):
                await client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=limit))
            return (await client.read_global_concurrency_limit_by_name(name)).limit


class TransferSlotsBusyError(ZenodoAtlasError, RuntimeError):
    """The global transfer limit stayed full for the whole wait."""


async def _busy_message(name: str, share: int, waited: float) -> str:
    async with get_client() as client:
        limit = await client.read_global_concurrency_limit_by_name(name)
    return (
        f"Waited {waited:g} s for {share} slot(s) of the Prefect global concurrency limit '{name}' "
        f"({limit.active_slots} of {limit.limit} in use). If no other transfer is running, a Prefect server "
        f"crash left them taken: free them with `prefect gcl update {name} --active-slots 0`, and start the "
        f"server with {' '.join(f'{k}={v}' for k, v in LEASES_ON_DISK.items())} so it cannot happen again."
    )


@contextlib.asynccontextmanager
async def transfer_slots(name: str, wanted: int, configured: int) -> AsyncIterator[asyncio.Semaphore]:
    """Slots for one batch of transfers: taken from the global limit once, shared by a local semaphore.

    Acquiring the global limit per file costs a server round trip and a poll on contention; taking
    the batch's share once keeps every run within the limit at no per-file cost. The wait is bounded
    (ATLAS_SLOT_WAIT_SECONDS): slots leaked by a server crash must end in a message, not a hang.
    """
    share = max(1, min(wanted, configured))
    wait = current_settings().slot_wait_seconds
    async with contextlib.AsyncExitStack() as stack:
        try:
            await stack.enter_async_context(
                concurrency(name, occupy=share, strict=True, lease_duration=LEASE_SECONDS, timeout_seconds=wait)
            )
        except TimeoutError:
            raise TransferSlotsBusyError(await _busy_message(name, share, wait)) from None
        yield asyncio.Semaphore(share)


async def _already_there(archive: PlannedArchive, existing: DepositionFile | None) -> str | None:
    """The archive's md5 when the draft already holds exactly these bytes (a resumed run)."""
    if existing is None or existing.filesize != archive.size:
        return None
    local = await asyncio.to_thread(archive_md5, archive)
    return local if local == existing.md5 else None


@task(name="upload-archive", task_run_name="upload-{archive.name}", cache_policy=NO_CACHE)
async def upload_archive(
    client: ZenodoClient,
    draft: Deposition,
    archive: PlannedArchive,
    existing: DepositionFile | None,
    progress: TransferProgress,
    slots: asyncio.Semaphore,
) -> ArchiveResult:
    logger = get_run_logger()
    md5 = await _already_there(archive, existing)
    if md5 is not None:
        logger.info("%s already on draft %s with the same md5: not sent again", archive.name, draft.id)
        progress.skip(archive.size)
        return ArchiveResult(name=archive.name, size=archive.size, md5=md5, seconds=0.0, uploaded=False)
    async with slots:
        started = time.perf_counter()
        progress.start_file(archive.name, archive.size)
        source = IterableSource(archive.size, lambda: iter_archive(archive, None))
        result = await client.upload(
            draft.bucket_url, archive.name, source, progress=progress.callback(archive.name)
        )
        progress.finish_file(archive.name)
        seconds = time.perf_counter() - started
    logger.info("%s: %.1f MB in %.1f s", archive.name, archive.size / 1e6, seconds)
    return ArchiveResult(name=archive.name, size=archive.size, md5=result.md5, seconds=seconds, uploaded=True)


@task(name="verify-draft", cache_policy=NO_CACHE)
async def verify_draft(client: ZenodoClient, draft: Deposition, expected: dict[str, str]) -> None:
    """Every uploaded archive is on the draft with the md5 computed while streaming it."""
    on_draft = {f.filename: f.md5 for f in await client.list_files(draft.id)}
    problems = [
        f"{key}: {'missing' if key not in on_draft else f'md5 {on_draft[key]} != local {md5}'}"
        for key, md5 in expected.items()
        if on_draft.get(key) != md5
    ]
    if problems:
        raise DraftVerificationError(
            f"draft {draft.id} does not match the local archives ({'; '.join(problems)}); it was not "
            "published. Re-run the same upload: matching files are kept and the rest sent again."
        )


def content_url(record: Record, f: RecordFile) -> str:
    """Where a record file's bytes are served (Zenodo-JSON puts it in the file's `self` link)."""
    return f.links.get("content") or f.links.get("self") or f"{record.links['files']}/{f.key}/content"


@task(name="download-file", task_run_name="download-{file.key}", cache_policy=NO_CACHE)
async def download_file(
    client: ZenodoClient,
    url: str,
    file: RecordFile,
    dest_dir: Path,
    progress: TransferProgress,
    slots: asyncio.Semaphore,
) -> Path:
    dest_dir.mkdir(parents=True, exist_ok=True)
    dest = dest_dir / file.key
    if dest.is_file() and dest.stat().st_size == file.size and await asyncio.to_thread(file_md5, dest) == file.md5:
        progress.skip(file.size)
        return dest
    async with slots:
        progress.start_file(file.key, file.size)
        path = await client.download(
            url, dest, size=file.size, md5=file.md5, progress=progress.callback(file.key)
        )
        progress.finish_file(file.key)
    return path
