"""The nightly Atlas refresh: harvest what was published on Zenodo since the last run and register it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

from prefect import flow, get_run_logger
from prefect.artifacts import acreate_table_artifact
from pydantic import BaseModel

from zenodo_atlas.atlas.etl import next_watermark
from zenodo_atlas.errors import one_line
from zenodo_atlas.flows.publish_atlas import AtlasPublication, publish_atlas
from zenodo_atlas.sessions.zenodo_record import new_session_versions, session_name_of, versions_by_concept
from zenodo_atlas.settings import current_settings
from zenodo_atlas.tasks.atlas_db import (
    check_spatial_index,
    known_versions,
    overview_artifact,
    publication_pending,
    read_watermark,
    record_harvest,
)
from zenodo_atlas.tasks.connections import open_client
from zenodo_atlas.tasks.progress import run_name
from zenodo_atlas.tasks.register import register_remote
from zenodo_atlas.tasks.stale_runs import STALE_RUN_HOOKS
from zenodo_atlas.tasks.transfer import DOWNLOAD_LIMIT, ensure_global_limit, transfer_slots
from zenodo_atlas.zenodo.client import ZenodoClient
from zenodo_atlas.zenodo.models import Record


class Outcome(BaseModel):
    session: str
    status: str
    detail: str = ""


class AutoUpdateSummary(BaseModel):
    watermark_before: datetime | None
    watermark_after: datetime
    outcomes: list[Outcome]
    publication: AtlasPublication | None = None

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)


async def _harvest(client: ZenodoClient, communities: list[str], since: datetime | None) -> dict[str, list[Record]]:
    """Every version in the communities updated since `since`, by concept, oldest first.

    One paged search over all versions (pages of the size zenodo.org allows) instead of one
    `versions` search per record, which the search budget (30/min) would not allow at scale.
    """
    return versions_by_concept(
        [r for c in communities async for r in client.community_records(c, since=since, all_versions=True)]
    )


@flow(name="auto-update", flow_run_name=run_name(
    lambda p: f"auto-update {', '.join(p.get('communities') or []) or 'configured communities'}"),
      on_running=STALE_RUN_HOOKS)
async def auto_update(
    communities: list[str] | None = None,
    atlas_path: str | None = None,
    publish: bool = True,
    parallel_downloads: int = 3,
) -> AutoUpdateSummary:
    """Register new sessions and new versions of known sessions; publish the Atlas only if it changed.

    The harvest watermark only moves past what succeeded: a session that failed is harvested again
    on the next run, and a crashed run is simply run again.

    Args:
        communities: Zenodo communities to harvest; empty uses ATLAS_COMMUNITIES (e.g. seatizen-data).
        atlas_path: Atlas DuckDB file; empty uses the configured ATLAS_ATLAS_PATH.
        publish: Publish a new Atlas version on Zenodo when its content changed.
        parallel_downloads: Sessions fetched at the same time (each downloads only its metadata archives).
    """
    settings = current_settings()
    logger = get_run_logger()
    atlas = Path(atlas_path) if atlas_path else settings.atlas_path
    started = datetime.now(UTC)
    await check_spatial_index(atlas)
    watermark = await read_watermark(atlas)
    known = await known_versions(atlas)
    outcomes: list[Outcome] = []
    failed_at: list[datetime] = []
    limit = await ensure_global_limit(DOWNLOAD_LIMIT, settings.global_transfer_slots)
    async with (
        await open_client(settings, token_required=False) as client,
        transfer_slots(DOWNLOAD_LIMIT, parallel_downloads, limit) as slots,  # the run's share of the global limit
    ):
        harvested = await _harvest(client, communities or settings.communities, watermark)
        logger.info("Harvested %d concept(s) updated since %s", len(harvested), watermark or "the beginning")

        async def refresh(concept: str, seen: list[Record]) -> None:
            record = seen[-1]
            name = session_name_of(record)
            if name is None:
                outcomes.append(Outcome(session=f"record {record.id}", status="skipped", detail="not a session"))
                return
            try:
                new = new_session_versions(seen, known.get(concept, set()))
                if not new:
                    outcomes.append(Outcome(session=name, status="skipped", detail="already up to date"))
                    return
                # A first harvest saw every version; after that, older versions are read only
                # for the concepts that did get a new one.
                versions = seen if watermark is None else await client.record_versions(record.id)
                report = await register_remote(client, atlas, name, versions, settings.work_dir, slots)
                if not report.versions_added:
                    outcomes.append(Outcome(session=name, status="skipped", detail="registered meanwhile"))
                    return
                status = "updated" if concept in known else "added"
                outcomes.append(Outcome(
                    session=name, status=status,
                    detail=f"{len(new)} new version(s), {report.frames_added} frame(s), "
                           f"{report.predictions_added} prediction(s)",
                ))
            except Exception as exc:
                failed_at.append(record.updated_at or datetime.now(UTC))
                outcomes.append(Outcome(session=name, status="failed", detail=one_line(exc)))

        await asyncio.gather(*[refresh(c, r) for c, r in harvested.items()])
    # zenodo.org's search shows a record seconds after it changed: the next harvest overlaps by
    # that lag so nothing published just before `started` is missed (known versions are skipped).
    summary = AutoUpdateSummary(
        watermark_before=watermark,
        watermark_after=next_watermark(started - timedelta(seconds=settings.search_lag), failed_at),
        outcomes=outcomes,
    )
    await record_harvest(
        atlas, started_at=started, watermark=summary.watermark_after,
        registered=summary.count("added") + summary.count("updated"),
        notes=", ".join(f"{s}: {summary.count(s)}" for s in ("added", "updated", "skipped", "failed")),
    )
    # Also when nothing is new but the last publication failed: its sessions must not wait for the next one.
    if publish and (summary.count("added") or summary.count("updated") or await publication_pending(atlas)):
        summary.publication = await publish_atlas(str(atlas), unless_published_since=started)
    await acreate_table_artifact(
        [o.model_dump() for o in outcomes] or [{"session": "-", "status": "nothing new", "detail": ""}],
        key="auto-update-summary",
        description=f"Sessions harvested since {watermark or 'the beginning'}",
    )
    if atlas.is_file():
        await overview_artifact(atlas, "auto-update")
    return summary
