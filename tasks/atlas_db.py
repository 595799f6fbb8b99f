"""Tasks that read and write the Atlas file (DuckDB work runs in a thread; one connection per task).

Writers queue: every write takes the one Prefect global concurrency slot named after the Atlas file
(two Atlases never block each other), only for the transaction itself, and logs while it waits. Reads
open the read snapshot, brought up to the last commit first (see `atlas.snapshot`): a flow's own reads
wait for the one transaction in progress at most, so that what it decides on includes every commit.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import logging
import re
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import duckdb
from prefect import get_run_logger, task
from prefect.artifacts import acreate_image_artifact
from prefect.cache_policies import NO_CACHE
from prefect.concurrency.asyncio import concurrency
from prefect.exceptions import MissingContextError

from zenodo_atlas.atlas import etl, inventory, spatial_index
from zenodo_atlas.atlas.annotations import AnnotationReport, import_annotations
from zenodo_atlas.atlas.errors import MigrationError
from zenodo_atlas.atlas.exports import export_all
from zenodo_atlas.atlas.maps import overview_png
from zenodo_atlas.atlas.snapshot import SnapshotInfo, WriterQueue, atlas_lock, current_snapshot, open_snapshot
from zenodo_atlas.tasks.transfer import LEASE_SECONDS, ensure_global_limit

T = TypeVar("T")

WAIT_REPORT_SECONDS = 5.0
"""How often a run waiting for the Atlas writer slot says so in its log."""
PUBLISHER_POLL_SECONDS = 0.5


def writer_slot_name(atlas_path: Path) -> str:
    """`atlas-writer-<file stem>-<hash of the absolute path>`: one slot per Atlas file."""
    resolved = str(Path(atlas_path).resolve())
    stem = re.sub(r"[^a-z0-9]+", "-", Path(atlas_path).stem.lower()).strip("-") or "atlas"
    return f"atlas-writer-{stem}-{hashlib.sha256(resolved.encode()).hexdigest()[:10]}"


def _logger() -> logging.Logger | logging.LoggerAdapter:
    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger("zenodo_atlas.atlas")


@contextlib.asynccontextmanager
async def atlas_writer(atlas_path: Path) -> AsyncIterator[None]:
    """Hold the Atlas writer slot (limit 1, created on first use); report every few seconds while waiting."""
    name = writer_slot_name(atlas_path)
    await ensure_global_limit.fn(name, 1)
    logger = _logger()
    started = time.monotonic()

    async def report() -> None:
        while True:
            await asyncio.sleep(WAIT_REPORT_SECONDS)
            logger.info("Waiting for the Atlas writer slot %s (another run is writing %s): %.0f s so far",
                        name, atlas_path, time.monotonic() - started)

    reporter = asyncio.create_task(report())
    try:
        async with concurrency(name, occupy=1, strict=True, lease_duration=LEASE_SECONDS):
            reporter.cancel()
            waited = time.monotonic() - started
            if waited >= WAIT_REPORT_SECONDS:
                logger.info("Atlas writer slot %s taken after %.0f s", name, waited)
            yield
    finally:
        reporter.cancel()


@contextlib.asynccontextmanager
async def atlas_publisher(atlas_path: Path) -> AsyncIterator[None]:
    """One publication of an Atlas at a time, so two never fill the same Zenodo draft.

    A file lock rather than a Prefect slot: the system frees it when its process dies, so a killed
    publication never blocks the next one (a slot would wait for its lease to expire), and every
    Atlas flow runs on the machine that holds the Atlas (the `atlas` work queue, README Deployment)."""
    logger = _logger()
    started = reported = time.monotonic()
    while True:
        with atlas_lock(atlas_path, wait=False, role="publisher") as held:
            if held:
                yield
                return
        if time.monotonic() - reported >= WAIT_REPORT_SECONDS:
            reported = time.monotonic()
            logger.info("Waiting for another publication of %s to finish: %.0f s so far",
                        atlas_path, reported - started)
        await asyncio.sleep(PUBLISHER_POLL_SECONDS)


_queues: dict[tuple[asyncio.AbstractEventLoop, Path], WriterQueue] = {}


async def write_atlas(atlas_path: Path, work: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
    """Run `work` on a read-write connection under the writer slot, its commit checkpointed before the
    slot is let go; writes of this process that wait for the slot together share one visit
    (`atlas.snapshot.WriterQueue`)."""
    key = (asyncio.get_running_loop(), Path(atlas_path).resolve())
    for stale in [k for k in _queues if k[0].is_closed()]:
        del _queues[stale]
    queue = _queues.get(key) or _queues.setdefault(key, WriterQueue(atlas_path, lambda: atlas_writer(atlas_path)))
    return await queue.write(work)


async def _ensure_atlas(atlas_path: Path) -> None:
    if not atlas_path.is_file():
        await write_atlas(atlas_path, lambda con: None)


async def ensure_snapshot(atlas_path: Path) -> Path:
    """The read snapshot's path, holding the last commit; a missing Atlas is created first under the slot."""
    await _ensure_atlas(atlas_path)
    return await asyncio.to_thread(current_snapshot, atlas_path, wait=True)


async def read_atlas(atlas_path: Path, work: Callable[[duckdb.DuckDBPyConnection], T]) -> tuple[T, SnapshotInfo]:
    """Run `work` on the read snapshot, never queueing behind other writers; a missing Atlas or an
    outdated schema is dealt with under the writer slot first."""

    def run() -> tuple[T, SnapshotInfo]:
        con, info = open_snapshot(atlas_path, wait=True)
        try:
            return work(con), info
        finally:
            con.close()

    await _ensure_atlas(atlas_path)
    try:
        return await asyncio.to_thread(run)
    except MigrationError:
        await write_atlas(atlas_path, lambda con: None)
        return await asyncio.to_thread(run)


async def _read(atlas_path: Path, work: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
    return (await read_atlas(atlas_path, work))[0]


@task(name="read-watermark", cache_policy=NO_CACHE)
async def read_watermark(atlas_path: Path) -> datetime | None:
    return await _read(atlas_path, etl.harvest_watermark)


@task(name="check-spatial-index", cache_policy=NO_CACHE)
async def check_spatial_index(atlas_path: Path) -> spatial_index.ExtentCheck:
    """Verify each version's extent against its frames and write them again if any differs (`atlas check`)."""
    report = await write_atlas(atlas_path, spatial_index.check)
    if report.rebuilt:
        get_run_logger().warning(
            "Spatial index disagreed with the frames of version(s) %s; rebuilt the version extents",
            ", ".join(map(str, report.mismatches)),
        )
    return report


@task(name="known-versions", cache_policy=NO_CACHE)
async def known_versions(atlas_path: Path) -> dict[str, set[int]]:
    return await _read(atlas_path, inventory.known_versions)


@task(name="record-harvest", cache_policy=NO_CACHE)
async def record_harvest(
    atlas_path: Path, *, started_at: datetime, watermark: datetime | None, registered: int, notes: str
) -> etl.EtlRun:
    """Advance the watermark (the caller already held it back before any failed session)."""
    return await write_atlas(atlas_path, lambda con: etl.record_run(
        con, started_at=started_at, finished_at=datetime.now(UTC), harvest_watermark=watermark,
        sessions_registered=registered, notes=notes,
    ))


@task(name="record-publication", cache_policy=NO_CACHE)
async def record_publication(atlas_path: Path, *, version: str, fingerprint: str, doi: str | None) -> etl.EtlRun:
    now = datetime.now(UTC)
    return await write_atlas(atlas_path, lambda con: etl.record_run(
        con, started_at=now, finished_at=now, published_version=version, content_fingerprint=fingerprint,
        notes=f"published as {doi}" if doi else None,
    ))


@task(name="last-publication", cache_policy=NO_CACHE)
async def last_publication(atlas_path: Path) -> etl.EtlRun | None:
    return await _read(atlas_path, etl.last_published)


@task(name="publication-pending", cache_policy=NO_CACHE)
async def publication_pending(atlas_path: Path) -> bool:
    return await _read(atlas_path, etl.publication_pending)


@task(name="count-sessions", cache_policy=NO_CACHE)
async def count_sessions(atlas_path: Path) -> int:
    return (await _read(atlas_path, inventory.counts))["sessions"]


@task(name="atlas-stats", cache_policy=NO_CACHE)
async def atlas_stats(atlas_path: Path) -> dict[str, int]:
    return await _read(atlas_path, inventory.counts)


@task(name="label-names", cache_policy=NO_CACHE)
async def label_names(atlas_path: Path) -> list[str]:
    return await _read(atlas_path, inventory.label_names)


@task(name="import-annotation-files", cache_policy=NO_CACHE)
async def import_annotation_files(atlas_path: Path, path: Path) -> AnnotationReport:
    return await write_atlas(atlas_path, lambda con: import_annotations(con, path))


@task(name="export-atlas", cache_policy=NO_CACHE)
async def export_atlas(atlas_path: Path, out_dir: Path) -> list[Path]:
    return await _read(atlas_path, lambda con: export_all(con, out_dir))


@task(name="atlas-overview", cache_policy=NO_CACHE)
async def overview_artifact(atlas_path: Path, after: str) -> None:
    """The Atlas as a picture in the run's artifacts (an inline PNG: the UI needs no file server)."""
    png = await _read(atlas_path, overview_png)
    await acreate_image_artifact(
        f"data:image/png;base64,{base64.b64encode(png).decode()}", key="atlas-overview",
        description=f"Sessions of the Atlas after {after}: footprints and tracks by platform, frames as dots",
    )
