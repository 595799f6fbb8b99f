"""Tasks that read and write the Atlas file (DuckDB work runs in a thread; one connection per task)."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import duckdb
from prefect import get_run_logger, task
from prefect.artifacts import acreate_image_artifact
from prefect.cache_policies import NO_CACHE

from zenodo_atlas.atlas import etl, inventory, spatial_index
from zenodo_atlas.atlas.annotations import AnnotationReport, import_annotations
from zenodo_atlas.atlas.connection import open_atlas
from zenodo_atlas.atlas.exports import export_all
from zenodo_atlas.atlas.maps import overview_png

T = TypeVar("T")


async def _with_atlas(atlas_path: Path, work: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
    def run() -> T:
        con = open_atlas(atlas_path)
        try:
            return work(con)
        finally:
            con.close()

    return await asyncio.to_thread(run)


@task(name="read-watermark", cache_policy=NO_CACHE)
async def read_watermark(atlas_path: Path) -> datetime | None:
    return await _with_atlas(atlas_path, etl.harvest_watermark)


@task(name="check-spatial-index", cache_policy=NO_CACHE)
async def check_spatial_index(atlas_path: Path) -> spatial_index.IndexCheck:
    """Verify the R-tree against a scan per session and rebuild it if they disagree (`atlas check`)."""
    report = await _with_atlas(atlas_path, spatial_index.check)
    if report.rebuilt:
        get_run_logger().warning(
            "Spatial index disagreed with a scan for %s; rebuilt %s",
            ", ".join(report.mismatches), ", ".join(report.rebuilt),
        )
    return report


@task(name="known-versions", cache_policy=NO_CACHE)
async def known_versions(atlas_path: Path) -> dict[str, set[int]]:
    return await _with_atlas(atlas_path, inventory.known_versions)


@task(name="record-harvest", cache_policy=NO_CACHE)
async def record_harvest(
    atlas_path: Path, *, started_at: datetime, watermark: datetime | None, registered: int, notes: str
) -> etl.EtlRun:
    """Advance the watermark (the caller already held it back before any failed session)."""
    return await _with_atlas(atlas_path, lambda con: etl.record_run(
        con, started_at=started_at, finished_at=datetime.now(UTC), harvest_watermark=watermark,
        sessions_registered=registered, notes=notes,
    ))


@task(name="record-publication", cache_policy=NO_CACHE)
async def record_publication(atlas_path: Path, *, version: str, fingerprint: str) -> etl.EtlRun:
    now = datetime.now(UTC)
    return await _with_atlas(atlas_path, lambda con: etl.record_run(
        con, started_at=now, finished_at=now, published_version=version, content_fingerprint=fingerprint,
    ))


@task(name="publication-pending", cache_policy=NO_CACHE)
async def publication_pending(atlas_path: Path) -> bool:
    return await _with_atlas(atlas_path, etl.publication_pending)


@task(name="count-sessions", cache_policy=NO_CACHE)
async def count_sessions(atlas_path: Path) -> int:
    return (await _with_atlas(atlas_path, inventory.counts))["sessions"]


@task(name="atlas-stats", cache_policy=NO_CACHE)
async def atlas_stats(atlas_path: Path) -> dict[str, int]:
    return await _with_atlas(atlas_path, inventory.counts)


@task(name="label-names", cache_policy=NO_CACHE)
async def label_names(atlas_path: Path) -> list[str]:
    return await _with_atlas(atlas_path, inventory.label_names)


@task(name="import-annotation-files", cache_policy=NO_CACHE)
async def import_annotation_files(atlas_path: Path, path: Path) -> AnnotationReport:
    return await _with_atlas(atlas_path, lambda con: import_annotations(con, path))


@task(name="export-atlas", cache_policy=NO_CACHE)
async def export_atlas(atlas_path: Path, out_dir: Path) -> list[Path]:
    return await _with_atlas(atlas_path, lambda con: export_all(con, out_dir))


@task(name="atlas-overview", cache_policy=NO_CACHE)
async def overview_artifact(atlas_path: Path, after: str) -> None:
    """The Atlas as a picture in the run's artifacts (an inline PNG: the UI needs no file server)."""
    png = await _with_atlas(atlas_path, overview_png)
    await acreate_image_artifact(
        f"data:image/png;base64,{base64.b64encode(png).decode()}", key="atlas-overview",
        description=f"Sessions of the Atlas after {after}: footprints and tracks by platform, frames as dots",
    )
