"""Register sessions in the Atlas: from local folders or straight from their Zenodo records."""

from __future__ import annotations

import asyncio
from pathlib import Path

from prefect import flow
from prefect.artifacts import acreate_table_artifact

from zenodo_atlas.atlas.ingest import RegistrationReport, deposit_ref_from_records
from zenodo_atlas.errors import ZenodoAtlasError
from zenodo_atlas.flows.batch import run_each
from zenodo_atlas.sessions.session import Session
from zenodo_atlas.sessions.zenodo_record import names_a_record
from zenodo_atlas.settings import current_settings
from zenodo_atlas.tasks.atlas_db import overview_artifact
from zenodo_atlas.tasks.connections import open_client
from zenodo_atlas.tasks.progress import many, run_name
from zenodo_atlas.tasks.register import local_source, register_in_atlas, register_remote
from zenodo_atlas.tasks.resolve import published_records, resolve_session
from zenodo_atlas.tasks.stale_runs import STALE_RUN_HOOKS
from zenodo_atlas.tasks.transfer import DOWNLOAD_LIMIT, ensure_global_limit, transfer_slots
from zenodo_atlas.zenodo.client import ZenodoClient


class RegistrationFailedError(ZenodoAtlasError, RuntimeError):
    """Some sessions could not be registered; the others were (each in its own transaction)."""


async def register_one(
    client: ZenodoClient, item: str, atlas_path: Path, work_dir: Path, all_frames: bool, slots: asyncio.Semaphore
) -> RegistrationReport:
    """`item` is a local session folder, a session name, or a DOI of one of its records."""
    if Path(item).is_dir():
        session = Session.open(item)
        records = await published_records(client, session.name.urn)
        if not records:
            raise LookupError(
                f"{session.name.raw} is not published on Zenodo; upload it first "
                f"(zenodo-atlas upload {item} --raw --processed fmgbi)"
            )
        source = await local_source(client, item, records)
    else:
        by_doi = names_a_record(item)
        resolved = await resolve_session(client, doi=item if by_doi else None, name=None if by_doi else item)
        # Every version, not only the selected ones: the Atlas keeps the history, and DEPRECATED
        # versions explain a missing METADATA.zip.
        records = await client.record_versions(resolved.versions[-1].id)
        return await register_remote(client, atlas_path, resolved.session_name, records, work_dir, slots,
                                     all_frames=all_frames)
    return await register_in_atlas(atlas_path, source, deposit_ref_from_records(records), all_frames)


@flow(name="register-sessions", flow_run_name=run_name(lambda p: f"register {many(p.get('sessions'), 'sessions')}"),
      on_running=STALE_RUN_HOOKS)
async def register_sessions(
    sessions: list[str], atlas_path: str | None = None, all_frames: bool = False
) -> list[RegistrationReport]:
    """Add or update sessions in the Atlas, `parallel_sessions` at once (downloads overlap, writes queue on
    the Atlas writer slot); a failing session leaves no row and does not stop the others.

    Args:
        sessions: Session folders, session names or DOIs on Zenodo (one per line), e.g.
            20231021_REU-ST-LEU_ASV-1_01 or 10.5281/zenodo.1234567.
        atlas_path: Atlas DuckDB file; empty uses the configured ATLAS_ATLAS_PATH.
        all_frames: Register every frame of metadata.csv, not only the useful ones (those with predictions).
    """
    settings = current_settings()
    atlas = Path(atlas_path) if atlas_path else settings.atlas_path
    limit = await ensure_global_limit(DOWNLOAD_LIMIT, settings.global_transfer_slots)
    async with (
        await open_client(settings, token_required=False) as client,
        transfer_slots(DOWNLOAD_LIMIT, settings.parallel_sessions, limit) as slots,
    ):
        reports, failures = await run_each(
            sessions, settings.parallel_sessions,
            lambda item: register_one(client, item, atlas, settings.work_dir, all_frames, slots),
        )
    failed = dict(failures)
    rows = [
        {"session": r.session, "versions": r.versions_added, "frames": r.frames_added,
         "predictions": r.predictions_added, "status": "registered"} for r in reports
    ] + [{"session": k, "versions": 0, "frames": 0, "predictions": 0, "status": f"failed: {v}"}
         for k, v in failed.items()]
    await acreate_table_artifact(rows, key="atlas-registration", description=f"Registration into {atlas}")
    if reports:
        await overview_artifact(atlas, "registration")
    if failed:
        raise RegistrationFailedError("; ".join(f"{k}: {v}" for k, v in failed.items()))
    return reports
