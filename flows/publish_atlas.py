"""Publish the Atlas on Zenodo as a new version, only when its content changed."""

from __future__ import annotations

import asyncio
import shutil
from datetime import datetime
from pathlib import Path

from prefect import flow, get_run_logger
from prefect.artifacts import acreate_link_artifact
from pydantic import BaseModel

from zenodo_atlas.atlas.publication import AtlasSnapshot, atlas_metadata, fingerprint_on_record, next_label
from zenodo_atlas.errors import ZenodoAtlasError, one_line
from zenodo_atlas.flows.publication import publish_version
from zenodo_atlas.sessions.plan import plain_file
from zenodo_atlas.sessions.template import load_atlas_template
from zenodo_atlas.sessions.versions import VersionPlan
from zenodo_atlas.sessions.zenodo_record import strip_urn
from zenodo_atlas.settings import current_settings
from zenodo_atlas.tasks.atlas_db import atlas_publisher, count_sessions, last_publication, record_publication
from zenodo_atlas.tasks.atlas_record import snapshot_atlas
from zenodo_atlas.tasks.connections import open_client
from zenodo_atlas.tasks.deposit import find_session
from zenodo_atlas.tasks.progress import artifact_key, run_name
from zenodo_atlas.tasks.stale_runs import STALE_RUN_HOOKS
from zenodo_atlas.tasks.transfer import UPLOAD_LIMIT, ensure_global_limit


class AtlasPublication(BaseModel):
    published: bool
    reason: str
    fingerprint: str
    version: str | None = None
    record_id: int | None = None
    doi: str | None = None
    concept_doi: str | None = None


class AtlasPublishedError(ZenodoAtlasError, RuntimeError):
    """The Atlas version was published (its DOI is in the message) but a later step failed."""


async def _record_if_missing(atlas: Path, version: str | None, fingerprint: str, doi: str | None) -> None:
    """Record a publication an earlier run made but did not live to record (killed right after publishing)."""
    recorded = await last_publication(atlas)
    if version and (recorded is None or (recorded.published_version, recorded.content_fingerprint)
                    != (version, fingerprint)):
        get_run_logger().warning("Atlas %s (%s) was published by an earlier run that did not record it: recorded now",
                                 version, doi)
        await record_publication(atlas, version=version, fingerprint=fingerprint, doi=doi)


@flow(name="publish-atlas", flow_run_name=run_name(lambda p: "publish atlas" + (" (forced)" if p.get("force") else "")),
      on_running=STALE_RUN_HOOKS)
async def publish_atlas(
    atlas_path: str | None = None, force: bool = False, unless_published_since: datetime | None = None
) -> AtlasPublication:
    """Upload the database, its exports and its fingerprint as the next Atlas version.

    Nothing is published when the fingerprint equals the last published one (unless `force`): a
    re-run after a run that died right after publishing reports that version and records it. Only
    the bookkeeping takes the Atlas writer slot; the whole run holds the Atlas publisher lock, so a
    second publication waits and then finds the content already published.

    Args:
        atlas_path: Atlas DuckDB file; empty uses the configured ATLAS_ATLAS_PATH.
        force: Publish even when the content equals the last published version.
        unless_published_since: Publish nothing if another run published the Atlas after this time
            (the nightly refresh: runs started together make one new version, the next night the rest).
    """
    settings = current_settings()
    atlas = Path(atlas_path) if atlas_path else settings.atlas_path
    if not atlas.is_file():
        raise FileNotFoundError(f"no Atlas at {atlas}: register sessions first (zenodo-atlas atlas register ...)")
    async with atlas_publisher(atlas):
        snapshot = await snapshot_atlas(atlas, settings.work_dir / "atlas-publication")
        try:
            return await _publish_snapshot(atlas, snapshot, force, unless_published_since)
        finally:
            await asyncio.to_thread(shutil.rmtree, snapshot.folder, True)  # this run's copy and exports


async def _publish_snapshot(
    atlas: Path, snapshot: AtlasSnapshot, force: bool, unless_published_since: datetime | None
) -> AtlasPublication:
    settings = current_settings()
    logger = get_run_logger()
    record_name = strip_urn(settings.atlas_urn)
    global_limit = await ensure_global_limit(UPLOAD_LIMIT, settings.global_transfer_slots)
    async with await open_client(settings, token_required=True) as client:
        state = await find_session(client, record_name, with_drafts=True)
        latest = state.latest
        unchanged = latest is not None and fingerprint_on_record(latest) == snapshot.fingerprint_md5
        if latest is not None and unchanged and state.draft is None and not force:
            await _record_if_missing(atlas, latest.version_label, snapshot.fingerprint, latest.doi)
            logger.info("Atlas content unchanged since %s (%s): nothing published", latest.version_label, latest.doi)
            return AtlasPublication(
                published=False, reason="content unchanged", fingerprint=snapshot.fingerprint,
                version=latest.version_label, record_id=latest.id, doi=latest.doi, concept_doi=latest.conceptdoi,
            )
        if latest is not None and unless_published_since and latest.created and (
            datetime.fromisoformat(latest.created) >= unless_published_since
        ):
            logger.info("Atlas %s was published by another run during this one: not published again",
                        latest.version_label)
            return AtlasPublication(
                published=False, reason="published meanwhile by another run", fingerprint=snapshot.fingerprint,
                version=latest.version_label, record_id=latest.id, doi=latest.doi, concept_doi=latest.conceptdoi,
            )
        label = (state.draft.version_label if state.draft else None) or next_label(state.latest)
        plan = VersionPlan(
            label=label,
            metadata=atlas_metadata(
                settings.atlas_urn, label, settings.communities, await count_sessions(atlas), snapshot.locations,
                template=load_atlas_template(settings.atlas_template) if settings.atlas_template else None,
                latest=state.latest,
            ),
            archives=[plain_file(path) for path in snapshot.files],
            drop_all_carried=True,
        )
        version = await publish_version(
            client, record_name, None, plan, state, concurrency=settings.upload_concurrency,
            global_limit=global_limit,
        )
        try:
            if version.url:
                await acreate_link_artifact(
                    version.url, link_text=f"Atlas {label}: https://doi.org/{version.doi}",
                    key=artifact_key("atlas-record", label),
                    description=f"Atlas version {label} on Zenodo ({len(snapshot.locations)} session locations)",
                )
            await record_publication(atlas, version=label, fingerprint=snapshot.fingerprint, doi=version.doi)
            final = await client.get_record(version.record_id)
        except Exception as exc:
            raise AtlasPublishedError(
                f"Atlas {label} was published as {version.doi}, but then {one_line(exc)}; re-run publish-atlas: "
                "it finds this version by its fingerprint and publishes nothing again"
            ) from exc
    return AtlasPublication(
        published=True, reason="forced" if unchanged and force else "content changed", fingerprint=snapshot.fingerprint,
        version=label, record_id=version.record_id, doi=version.doi, concept_doi=final.conceptdoi,
    )
