"""Before switching from the predecessor: can zenodo-atlas download and register every published record?

Read-only: it lists the records of communities (or of the token's account), reads the zip directories
of METADATA.zip and PROCESSED_DATA_IA.zip with Range requests, downloads those two small archives
into scratch space to validate them exactly as registration would, and removes them. Nothing is
written on Zenodo or in the Atlas.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from prefect import flow, get_run_logger
from pydantic import BaseModel

from zenodo_atlas.atlas.errors import AtlasError
from zenodo_atlas.atlas.ingest import IA_ARCHIVE, METADATA_ARCHIVE
from zenodo_atlas.atlas.session_files import read_session
from zenodo_atlas.errors import one_line
from zenodo_atlas.sessions.errors import SessionError
from zenodo_atlas.sessions.naming import parse_session_name
from zenodo_atlas.sessions.zenodo_record import (
    DEPRECATED_LABEL,
    PROCESSED_LABEL,
    RAW_LABEL,
    is_deprecated,
    label_of,
    select_versions,
    session_name_of,
)
from zenodo_atlas.settings import current_settings
from zenodo_atlas.tasks.connections import open_client
from zenodo_atlas.tasks.register import remote_source
from zenodo_atlas.tasks.transfer import DOWNLOAD_LIMIT, content_url, ensure_global_limit, transfer_slots
from zenodo_atlas.zenodo.client import ZenodoClient
from zenodo_atlas.zenodo.errors import ZenodoError
from zenodo_atlas.zenodo.models import Record


class RecordCheck(BaseModel):
    concept: str
    name: str
    versions: int
    can_download: bool
    can_register: bool
    reason: str

    def line(self) -> str:
        verdict = "OK " if self.can_download and self.can_register else "NO "
        return (f"{verdict} {self.name} (concept {self.concept}, {self.versions} version(s)): "
                f"download {'yes' if self.can_download else 'no'}, register {'yes' if self.can_register else 'no'}"
                f" - {self.reason}")


class MigrationCheck(BaseModel):
    records: list[RecordCheck]

    def summary(self) -> str:
        total = len(self.records)
        down = sum(r.can_download for r in self.records)
        reg = sum(r.can_register for r in self.records)
        return f"{total} record(s): {down} downloadable, {reg} registrable, {total - min(down, reg)} need attention"


async def _zip_lists(client: ZenodoClient, record: Record, key: str, wanted: str) -> str | None:
    """Why the archive `key` of `record` cannot serve registration, from its zip directory; None if fine."""
    f = record.file(key)
    if f is None:
        return f"no {key}"
    try:
        entries = await client.zip_entries(content_url(record, f), f.size)
    except ZenodoError as exc:
        return f"{key} of version {record.id} is unreadable ({one_line(exc)})"
    if not any(e.name.rsplit("/", 1)[-1].endswith(wanted) for e in entries):
        return f"{key} of version {record.id} holds no *{wanted}"
    return None


def _download_verdict(versions: list[Record]) -> tuple[bool, str]:
    chosen = select_versions(versions, raw=True, processed=True)
    if not chosen:
        labels = sorted({label_of(v) or "(none)" for v in versions})
        return False, f"no {RAW_LABEL} or {PROCESSED_LABEL} version (labels: {', '.join(labels)})"
    hidden = [v.id for v in chosen if v.hides_files and not v.files]
    if hidden:
        return True, f"version(s) {hidden} are restricted: their files need the owner's token"
    return True, f"{len(chosen)} version(s) to download"


async def check_concept(
    client: ZenodoClient, versions: list[Record], work_dir: Path, atlas_urn: str, slots: asyncio.Semaphore
) -> RecordCheck:
    """One concept's verdict: download by its versions' labels and visible files; registration by the
    newest version holding METADATA.zip, validated as registration would read it."""
    latest = versions[-1]
    name = session_name_of(latest)
    base = {"concept": latest.conceptrecid or str(latest.id), "versions": len(versions)}
    if atlas_urn in latest.alternate_identifiers:
        return RecordCheck(name=atlas_urn, can_download=True, can_register=True,
                           reason="the Atlas record: `atlas publish` adds its next version, keeping its "
                           "creators and the files its readers download", **base)
    if name is None:
        title = latest.metadata.get("title") or f"record {latest.id}"
        return RecordCheck(name=title, can_download=False, can_register=False,
                           reason="not a session record (no urn:YYYYMMDD_... identifier)", **base)
    try:
        parse_session_name(name)
    except SessionError as exc:
        return RecordCheck(name=name, can_download=False, can_register=False, reason=str(exc), **base)
    download, why = _download_verdict(versions)
    if any(is_deprecated(v) for v in versions):
        why += f"; {DEPRECATED_LABEL} versions are skipped"
    holder = next((v for v in reversed(versions) if not is_deprecated(v) and v.file(METADATA_ARCHIVE)), None)
    if holder is None:
        return RecordCheck(name=name, can_download=download, can_register=False,
                           reason=f"{why}; no version holds {METADATA_ARCHIVE}", **base)
    problem = await _zip_lists(client, holder, METADATA_ARCHIVE, "metadata.csv")
    ia = next((v for v in reversed(versions) if not is_deprecated(v) and v.file(IA_ARCHIVE)), None)
    if problem is None and ia is not None:
        problem = await _zip_lists(client, ia, IA_ARCHIVE, "_scores.csv")
    if problem is not None:
        return RecordCheck(name=name, can_download=download, can_register=False, reason=f"{why}; {problem}", **base)
    try:
        source = await remote_source(client, name, versions, work_dir, slots)
    except ZenodoError as exc:
        return RecordCheck(name=name, can_download=download, can_register=False,
                           reason=f"{why}; {one_line(exc)}", **base)
    try:
        files = await asyncio.to_thread(read_session, source.session_dir, name)
        useful = int(files.frames["useful"].sum())
        return RecordCheck(name=name, can_download=download, can_register=True,
                           reason=f"{why}; {useful} frame(s) from version {holder.id}", **base)
    except (AtlasError, SessionError) as exc:
        return RecordCheck(name=name, can_download=download, can_register=False,
                           reason=f"{why}; {one_line(exc)}", **base)
    finally:
        shutil.rmtree(source.session_dir.parent, ignore_errors=True)


@flow(name="migrate-check")
async def migrate_check(communities: list[str] | None = None, mine: bool = False) -> MigrationCheck:
    """Check every record of the communities (default: the configured ones) or of the token's account."""
    settings = current_settings()
    logger = get_run_logger()
    work_dir = settings.work_dir / "migrate-check"
    work_dir.mkdir(parents=True, exist_ok=True)
    checks: list[RecordCheck] = []
    limit = await ensure_global_limit(DOWNLOAD_LIMIT, settings.global_transfer_slots)
    async with (
        await open_client(settings, token_required=mine) as client,
        transfer_slots(DOWNLOAD_LIMIT, 1, limit) as slots,  # records are checked one after the other
    ):
        concepts: dict[str, int] = {}
        if mine:
            page = 1
            while batch := await client.list_depositions(status="published", page=page, size=100):
                concepts.update({d.conceptrecid or str(d.id): d.id for d in batch})
                page += 1
        for community in ([] if mine else communities or settings.communities):
            async for record in client.community_records(community):
                concepts.setdefault(record.conceptrecid or str(record.id), record.id)
        for _, record_id in sorted(concepts.items()):
            versions = await client.record_versions(record_id)
            check = await check_concept(client, versions, work_dir, settings.atlas_urn, slots)
            logger.info(check.line())
            checks.append(check)
    shutil.rmtree(work_dir, ignore_errors=True)
    return MigrationCheck(records=checks)
