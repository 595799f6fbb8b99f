"""Upload flows: one session to Zenodo (raw, processed, custom versions), or many, one subflow each."""

from __future__ import annotations

from pathlib import Path

from prefect import flow, get_run_logger
from prefect.artifacts import acreate_link_artifact, acreate_table_artifact
from pydantic import BaseModel

from zenodo_atlas.errors import ZenodoAtlasError
from zenodo_atlas.flows.batch import run_each
from zenodo_atlas.flows.publication import PublishedVersion, publish_version
from zenodo_atlas.sessions.listing import sessions_from
from zenodo_atlas.sessions.plan import folders_from_letters
from zenodo_atlas.sessions.zenodo_record import PROCESSED_LABEL, RAW_LABEL, raw_parts_published
from zenodo_atlas.settings import current_settings
from zenodo_atlas.tasks.archive import plan_session
from zenodo_atlas.tasks.connections import open_client
from zenodo_atlas.tasks.deposit import find_session, unchanged_version
from zenodo_atlas.tasks.progress import artifact_key, many, run_name
from zenodo_atlas.tasks.stale_runs import STALE_RUN_HOOKS
from zenodo_atlas.tasks.transfer import UPLOAD_LIMIT, ensure_global_limit

GB = 1_000_000_000


class UploadSummary(BaseModel):
    session: str
    concept_doi: str | None = None
    dry_run: bool = False
    versions: list[PublishedVersion] = []
    planned: list[dict] = []
    unchanged: list[str] = []
    """Versions already on Zenodo with exactly the planned content: nothing was sent for them."""


def parts_label(raw: bool, processed: str | None, custom: str | None) -> str:
    """What an upload publishes, as run names and logs say it: `raw+processed`, `custom`, ..."""
    return "+".join(name for name, wanted in (("raw", raw), ("processed", processed), ("custom", custom)) if wanted)


def _upload_name(what: str, p: dict) -> str:
    name = f"upload {what} {parts_label(p.get('raw', False), p.get('processed'), p.get('custom'))}"
    return f"{name} (dry run)" if p.get("dry_run") else name


async def _report_plan(summary: UploadSummary) -> None:
    """A dry run's plan: versions, archives and sizes, and nothing said to be published."""
    await acreate_table_artifact(
        [{"version": row["version"], "archive": row["archive"], "size_mb": round(row["size"] / 1e6, 2)}
         for row in summary.planned],
        key=artifact_key("plan", summary.session),
        description=f"Dry run of {summary.session}: what each version would hold; nothing was published.",
    )


async def _report(summary: UploadSummary) -> None:
    rows = [
        {"version": v.label, "archive": a.name, "size_mb": round(a.size / 1e6, 2), "md5": f"{a.md5[:8]}…",
         "seconds": round(a.seconds, 2), "mb_per_s": round(a.mb_per_s, 1), "sent": a.uploaded}
        for v in summary.versions for a in v.archives
    ]
    await acreate_table_artifact(
        rows, key=artifact_key("archives", summary.session),
        description=f"Archives published for {summary.session}: size, md5 (first 8 digits; the full value is"
                    " the file's checksum on the record) and transfer rate per archive",
    )
    for v in summary.versions:
        if v.url:
            await acreate_link_artifact(
                v.url, link_text=f"{v.label}: https://doi.org/{v.doi}",
                key=artifact_key("record", summary.session, v.label),
                description=f"The {v.label} version of {summary.session} on Zenodo",
            )


@flow(name="upload-session",
      flow_run_name=run_name(lambda p: _upload_name(Path(str(p.get("session_path", ""))).name, p)),
      on_running=STALE_RUN_HOOKS)
async def upload_session(
    session_path: str,
    raw: bool = False,
    processed: str | None = None,
    custom: str | None = None,
    metadata_template: str | None = None,
    dry_run: bool = False,
    allow_second_processed: bool = False,
    all_frames: bool = False,
    iso19115: bool = False,
) -> UploadSummary:
    """Publish one session: RAW_DATA (one version per 50 GB part), then PROCESSED_DATA, then custom.

    `processed` and `custom` take the predecessor's folder letters (f,m,g,b,i,p,c,s). A re-run after
    a crash resumes the open draft: archives whose md5 already matches are not sent again. With
    `iso19115`, METADATA/<session>_iso_19115.xml is written before the processed archives are made.

    Args:
        session_path: Session folder, e.g. /data/sessions/20231021_REU-ST-LEU_ASV-1_01.
        raw: Publish RAW_DATA (DCIM, GPS, SENSORS; one version per 50 GB part).
        processed: Folders to publish as PROCESSED_DATA, as letters: f frames, d DCIM, m metadata, g GPS,
            b bathymetry, i IA predictions, p photogrammetry, c CPCE annotations (e.g. fmgbi).
        custom: Folders to publish as a custom version: the processed letters, plus s sensors.
        metadata_template: Metadata template YAML; empty uses the configured template.
        dry_run: Only plan: report the archives and sizes each version would get, publish nothing.
        allow_second_processed: Allow a second PROCESSED_DATA version on top of a published one.
        all_frames: Publish every frame, not only the useful ones (those with predictions).
        iso19115: Write METADATA/<session>_iso_19115.xml before archiving the processed data.
    """
    settings = current_settings()
    logger = get_run_logger()
    if not (raw or processed or custom):
        raise ValueError(
            "nothing to upload: pass raw=True, processed letters (e.g. 'fmgbi') or custom letters"
        )
    session, plans = await plan_session(
        session_path, raw=raw,
        processed=folders_from_letters(processed, "processed") if processed else None,
        custom=folders_from_letters(custom, "custom") if custom else None,
        template_path=metadata_template or settings.template_path(), dcim_part_bytes=int(settings.dcim_part_gb * GB),
        record_bytes=int(settings.record_quota_gb * GB), all_frames=all_frames, iso19115=iso19115,
    )
    summary = UploadSummary(session=session.name.raw, dry_run=dry_run)
    if dry_run:
        summary.planned = [
            {"version": p.label, "archive": a.name, "size": a.size} for p in plans for a in p.archives
        ]
        logger.info("Dry run: %d version(s), %d archive(s) planned", len(plans), len(summary.planned))
        await _report_plan(summary)
        return summary
    global_limit = await ensure_global_limit(UPLOAD_LIMIT, settings.global_transfer_slots)
    async with await open_client(settings, token_required=True) as client:
        raw_part = 0
        # Searched once: after each publish the state just written is carried forward, because
        # zenodo.org's search would not show it yet (and would make the next plan create a concept).
        # A session new to the search is not waited for: its first draft confirms before publishing.
        state = await find_session(client, session.name.raw, with_drafts=True, settle_empty=False)
        for plan in plans:
            if plan.label == RAW_LABEL:
                raw_part += 1
                if raw_part <= raw_parts_published(state.labels()):
                    logger.info("%s: RAW_DATA part %d is already published: skipped", session.name.raw, raw_part)
                    summary.unchanged.append(f"{RAW_LABEL} part {raw_part}")
                    continue
            elif plan.label == PROCESSED_LABEL and state.draft is None and (
                same := await unchanged_version(state, PROCESSED_LABEL, plan.archives)
            ):
                logger.info("%s: PROCESSED_DATA %s already holds these archives: nothing to do",
                            session.name.raw, same.doi)
                summary.unchanged.append(f"{PROCESSED_LABEL} {same.doi}")
                continue
            version = await publish_version(
                client, session.name.raw, session.rules, plan, state, concurrency=settings.upload_concurrency,
                global_limit=global_limit,
                allow_stacking=allow_second_processed,
            )
            summary.versions.append(version)
            state = state.after_publish(await client.get_record(version.record_id))
            logger.info("Published %s of %s: %s", plan.label, session.name.raw, version.doi)
        summary.concept_doi = state.latest.conceptdoi if state.latest else None
    await _report(summary)
    return summary


class BatchSummary(BaseModel):
    succeeded: list[UploadSummary] = []
    failed: dict[str, str] = {}


class BatchFailedError(ZenodoAtlasError, RuntimeError):
    """Some sessions of a batch failed; the others were published."""


@flow(name="upload-sessions", flow_run_name=run_name(lambda p: _upload_name(
    many(p.get("sessions"), "paths") + (" + CSV" if p.get("csv_file") else ""), p)), on_running=STALE_RUN_HOOKS)
async def upload_sessions(
    sessions: list[str],
    csv_file: str | None = None,
    raw: bool = False,
    processed: str | None = None,
    custom: str | None = None,
    metadata_template: str | None = None,
    dry_run: bool = False,
    allow_second_processed: bool = False,
    iso19115: bool = False,
) -> BatchSummary:
    """Upload many sessions (paths, folders of sessions, or a CSV), `parallel_sessions` at once; one
    failure does not stop the rest.

    Args:
        sessions: Session folders, or folders holding sessions (one per line).
        csv_file: CSV with root_folder and session_name columns, one session per row.
        raw: Publish RAW_DATA (DCIM, GPS, SENSORS; one version per 50 GB part).
        processed: Folders to publish as PROCESSED_DATA, as letters: f frames, d DCIM, m metadata, g GPS,
            b bathymetry, i IA predictions, p photogrammetry, c CPCE annotations (e.g. fmgbi).
        custom: Folders to publish as a custom version: the processed letters, plus s sensors.
        metadata_template: Metadata template YAML; empty uses the configured template.
        dry_run: Only plan: report the archives and sizes each version would get, publish nothing.
        allow_second_processed: Allow a second PROCESSED_DATA version on top of a published one.
        iso19115: Write METADATA/<session>_iso_19115.xml before archiving the processed data.
    """
    paths = sessions_from(sessions, csv_file)

    async def one(path: str) -> UploadSummary:
        return await upload_session(
            path, raw=raw, processed=processed, custom=custom, metadata_template=metadata_template,
            dry_run=dry_run, allow_second_processed=allow_second_processed, iso19115=iso19115,
        )

    done, failed = await run_each(paths, current_settings().parallel_sessions, one)
    batch = BatchSummary(succeeded=done, failed={Path(path).name: why for path, why in failed})
    rows = [
        {"session": s.session, "status": "planned (dry run)" if s.dry_run else "published",
         "detail": f"{len(s.planned)} archive(s)" if s.dry_run else s.concept_doi or ""}
        for s in batch.succeeded
    ]
    rows += [{"session": name, "status": "failed", "detail": why} for name, why in batch.failed.items()]
    await acreate_table_artifact(
        rows, key="upload-batch", description="Sessions of this batch: planned, published (concept DOI) or failed"
    )
    if batch.failed:
        raise BatchFailedError(
            f"{len(batch.failed)} of {len(batch.failed) + len(batch.succeeded)} sessions failed: "
            + "; ".join(f"{name}: {why}" for name, why in batch.failed.items())
        )
    return batch
