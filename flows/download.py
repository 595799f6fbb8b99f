"""Download flows: bring a session back from Zenodo and rebuild its folder layout."""

from __future__ import annotations

import shutil
from pathlib import Path

from prefect import flow, get_run_logger
from prefect.artifacts import acreate_table_artifact
from pydantic import BaseModel

from zenodo_atlas.errors import ZenodoAtlasError
from zenodo_atlas.flows.batch import all_or_none, run_each
from zenodo_atlas.sessions.download_lists import frames_from_csv, requests_from_csv
from zenodo_atlas.sessions.errors import UnsafeArchiveError
from zenodo_atlas.sessions.extract import Extracted, StreamExtract, remove_extract_leftovers
from zenodo_atlas.sessions.zenodo_record import files_to_fetch, label_of
from zenodo_atlas.settings import current_settings
from zenodo_atlas.tasks.connections import open_client
from zenodo_atlas.tasks.progress import TransferProgress, artifact_key, many, run_name
from zenodo_atlas.tasks.resolve import ResolvedSession, resolve_session
from zenodo_atlas.tasks.stale_runs import STALE_RUN_HOOKS
from zenodo_atlas.tasks.transfer import DOWNLOAD_LIMIT, content_url, download_file, ensure_global_limit, transfer_slots
from zenodo_atlas.tasks.unpack import download_unpacked, streaming_unpack, unpack_archive
from zenodo_atlas.zenodo.client import ZenodoClient
from zenodo_atlas.zenodo.errors import RestrictedFilesError
from zenodo_atlas.zenodo.models import Record, RecordFile


class DownloadSummary(BaseModel):
    session: str
    folder: str
    versions: list[int]
    files: list[str]
    skipped_restricted: list[str] = []
    hidden_records: list[str] = []
    """Restricted versions whose file list Zenodo hides from this client, so their file count is unknown."""

    def skipped_message(self) -> str | None:
        """What was left out, counting files only where Zenodo lists them (a hidden list is not one file)."""
        parts = [f"{len(self.skipped_restricted)} restricted file(s) ({', '.join(self.skipped_restricted)})"]
        parts = parts if self.skipped_restricted else []
        if self.hidden_records:
            parts.append(f"every file of {', '.join(self.hidden_records)} (Zenodo hides their list and count)")
        if not parts:
            return None
        return f"{self.session}: skipped {' and '.join(parts)}: set ZENODO_TOKEN to the record owner's token"
    kept: list[str] = []
    """Local files that differ from the record, left as they were (no `overwrite`), session-relative."""


async def _fetch(
    client: ZenodoClient,
    resolved: ResolvedSession,
    out: Path,
    concurrency: int,
    global_limit: int,
    members: dict[str, set[str]] | None,
    overwrite: bool = False,
) -> DownloadSummary:
    logger = get_run_logger()
    session_dir = out / resolved.session_name
    new_session = not session_dir.exists()
    zip_dir = session_dir / "ZIP"
    zip_dir.mkdir(parents=True, exist_ok=True)
    wanted = [(r, f) for r, f in files_to_fetch(resolved.versions) if members is None or f.key in members]
    total = sum(f.size for _, f in wanted)

    async def one(record: Record, f: RecordFile, sink: StreamExtract | None) -> Path | Extracted | None:
        try:
            if sink is not None:
                return await download_unpacked(client, content_url(record, f), f, sink, progress, slots)
            return await download_file(client, content_url(record, f), f, zip_dir / str(record.id), progress, slots)
        except RestrictedFilesError:  # an expired or refused token (AuthenticationError) fails the run
            return None

    def wanted_members(f: RecordFile) -> set[str] | None:
        return members.get(f.key) if members else None

    kept: list[str] = []
    try:
        sinks = await all_or_none([
            streaming_unpack(client, content_url(r, f), f, session_dir, wanted_members(f), overwrite,
                             journal=zip_dir / str(r.id) / f"{f.key}.stream")
            for r, f in wanted
        ])
        async with (
            transfer_slots(DOWNLOAD_LIMIT, min(concurrency, len(wanted)), global_limit) as slots,
            TransferProgress(artifact_key("download", resolved.session_name), total,
                             f"Download of {resolved.session_name}") as progress,
        ):
            results = await all_or_none([one(r, f, s) for (r, f), s in zip(wanted, sinks, strict=True)])
        for (_, f), result in zip(wanted, results, strict=True):
            if isinstance(result, Path):
                result = await unpack_archive(result, session_dir, wanted_members(f), overwrite)
            if result is not None:
                kept += [p.relative_to(session_dir.resolve()).as_posix() for p in result.kept]
    except UnsafeArchiveError:
        # A refused archive must not stay on disk, nor a session folder this run created for it.
        shutil.rmtree(zip_dir)
        if new_session and not any(session_dir.iterdir()):
            session_dir.rmdir()
        raise
    skipped = [f.key for (_, f), result in zip(wanted, results, strict=True) if result is None]
    hidden = [f"{label_of(v)} record {v.id}" for v in resolved.versions if not v.files and v.hides_files]
    for leftover in remove_extract_leftovers(session_dir):
        logger.info("Removed %s, left by an interrupted extraction", leftover)
    shutil.rmtree(zip_dir)
    if kept:
        logger.warning("%s: kept %d local file(s) that differ from the record: %s", resolved.session_name,
                       len(kept), ", ".join(kept))
    summary = DownloadSummary(
        session=resolved.session_name, folder=str(session_dir), versions=[v.id for v in resolved.versions],
        files=[f.key for (_, f), r in zip(wanted, results, strict=True) if r is not None], skipped_restricted=skipped,
        hidden_records=hidden, kept=kept,
    )
    if message := summary.skipped_message():
        logger.warning(message)
    return summary


def _run_name() -> str:
    from prefect.runtime import flow_run

    return f"download {flow_run.parameters.get('name') or flow_run.parameters.get('doi')}"


@flow(name="download-session", flow_run_name=_run_name, on_running=STALE_RUN_HOOKS)
async def download_session(
    out_dir: str, name: str | None = None, doi: str | None = None, raw: bool = True, processed: bool = True,
    overwrite: bool = False,
) -> DownloadSummary:
    """Fetch a session by name or DOI (a version DOI is honoured exactly) and rebuild its folders.

    Open records need no token; restricted files are skipped with a warning unless the owner's token is set.

    Args:
        out_dir: Folder the session is rebuilt in.
        name: Session name, e.g. 20231021_REU-ST-LEU_ASV-1_01 (or give a DOI).
        doi: Concept or version DOI (or give a name).
        raw: Download the RAW_DATA versions.
        processed: Download the PROCESSED_DATA version.
        overwrite: Replace local files that differ from the record (kept and listed otherwise).
    """
    if bool(name) == bool(doi):
        raise ValueError("give exactly one of a session name or a DOI")
    if not (raw or processed):
        raise ValueError("nothing to download: ask for raw and/or processed data")
    settings = current_settings()
    limit = await ensure_global_limit(DOWNLOAD_LIMIT, settings.global_transfer_slots)
    async with await open_client(settings, token_required=False) as client:
        resolved = await resolve_session(client, name=name, doi=doi, raw=raw, processed=processed)
        if not resolved.versions:
            kinds = " and ".join(k for k, on in (("raw", raw), ("processed", processed)) if on)
            reason = f" ({resolved.note})" if resolved.note else ""
            raise LookupError(f"{resolved.session_name} has no {kinds} version on Zenodo{reason}")
        if resolved.note:
            get_run_logger().warning("%s: %s", resolved.session_name, resolved.note)
        summary = await _fetch(client, resolved, Path(out_dir), settings.download_concurrency, limit, None, overwrite)
    await acreate_table_artifact(
        [{"session": summary.session, "folder": summary.folder, "files": ", ".join(summary.files),
          "skipped": ", ".join([*summary.skipped_restricted, *summary.hidden_records]),
          "kept": ", ".join(summary.kept)}],
        key=artifact_key("download", summary.session),
        description=f"Files of {summary.session} downloaded into {summary.folder}, restricted files skipped, "
                    "local edits kept",
    )
    return summary


class DownloadBatchFailedError(ZenodoAtlasError, RuntimeError):
    """Some downloads of a batch failed; the others completed."""


@flow(name="download-sessions", flow_run_name=run_name(
    lambda p: f"download {many([*(p.get('names') or []), *(p.get('dois') or [])], 'sessions')}"
    + (" + CSV" if p.get("csv_file") else "")), on_running=STALE_RUN_HOOKS)
async def download_sessions(
    out_dir: str,
    names: list[str] | None = None,
    dois: list[str] | None = None,
    csv_file: str | None = None,
    raw: bool = True,
    processed: bool = True,
    overwrite: bool = False,
) -> list[DownloadSummary]:
    """Download several sessions (names, DOIs or a CSV), `parallel_sessions` at once; one failure does
    not stop the others.

    Args:
        out_dir: Folder the sessions are rebuilt in (one sub-folder per session).
        names: Session names, e.g. 20231021_REU-ST-LEU_ASV-1_01.
        dois: Concept or version DOIs; a version DOI downloads exactly that version.
        csv_file: CSV with a session_name or doi column, one session per row.
        raw: Download the RAW_DATA versions.
        processed: Download the PROCESSED_DATA version.
        overwrite: Replace local files that differ from the record (kept and listed otherwise).
    """
    requests = [{"name": n} for n in names or []] + [{"doi": d} for d in dois or []]
    requests += requests_from_csv(csv_file) if csv_file else []

    async def one(request: dict[str, str]) -> DownloadSummary:
        return await download_session(out_dir, raw=raw, processed=processed, overwrite=overwrite, **request)

    done, failures = await run_each(requests, current_settings().parallel_sessions, one)
    failed = {next(iter(request.values())): why for request, why in failures}
    if failed:
        raise DownloadBatchFailedError("; ".join(f"{k}: {v}" for k, v in failed.items()))
    return done


@flow(name="download-frames", on_running=STALE_RUN_HOOKS)
async def download_frames(csv_file: str, out_dir: str) -> list[str]:
    """Fetch only the frames listed in a CSV of `version_doi,relative_file_path`, keeping their paths.

    Args:
        csv_file: CSV with version_doi and relative_file_path columns (e.g. an Atlas query result).
        out_dir: Folder the frames are written in, under their session paths.
    """
    wanted = frames_from_csv(csv_file)
    settings = current_settings()
    limit = await ensure_global_limit(DOWNLOAD_LIMIT, settings.global_transfer_slots)
    extracted: list[str] = []
    async with await open_client(settings, token_required=False) as client:
        for version_doi, members in wanted.items():
            resolved = await resolve_session(client, doi=version_doi)
            summary = await _fetch(client, resolved, Path(out_dir), settings.download_concurrency, limit, members)
            extracted += summary.files
    return extracted
