"""Tasks that turn a session folder into an archive plan and Zenodo metadata (CPU and disk, no HTTP)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel

from zenodo_atlas.sessions.iso19115 import write_iso19115
from zenodo_atlas.sessions.layout import require_ready
from zenodo_atlas.sessions.metadata import (
    MetadataTemplate,
    People,
    build_custom_metadata,
    build_processed_metadata,
    build_raw_metadata,
    default_template,
    load_template,
    template_people,
)
from zenodo_atlas.sessions.plan import PlannedArchive, plan_custom, plan_processed, plan_raw
from zenodo_atlas.sessions.session import Session
from zenodo_atlas.sessions.zenodo_record import CUSTOM_LABEL, PROCESSED_LABEL, RAW_LABEL
from zenodo_atlas.zenodo.models import DepositMetadata


class VersionPlan(BaseModel):
    """One Zenodo version to publish: its metadata and the archives it receives."""

    label: str
    metadata: DepositMetadata
    archives: list[PlannedArchive]
    drop_all_carried: bool = False

    @property
    def total_bytes(self) -> int:
        return sum(a.size for a in self.archives)


def load_metadata_inputs(template_path: str | None) -> tuple[MetadataTemplate, People]:
    """The template (the packaged demo one by default) and the people files it names."""
    template = load_template(Path(template_path)) if template_path else default_template()
    return template, template_people(template)


def _plan_versions(
    session: Session,
    *,
    raw: bool,
    processed: list[str] | None,
    custom: list[str] | None,
    template: MetadataTemplate,
    people: People,
    dcim_part_bytes: int,
    record_bytes: int,
    all_frames: bool,
    iso19115: bool,
) -> list[VersionPlan]:
    versions: list[VersionPlan] = []
    if raw:
        require_ready(session, "raw")
        metadata = build_raw_metadata(session, template, people)
        parts = plan_raw(session, dcim_part_bytes=dcim_part_bytes, record_bytes=record_bytes)
        versions += [
            VersionPlan(label=RAW_LABEL, metadata=metadata, archives=part, drop_all_carried=True)
            for part in parts
        ]
    if processed:
        require_ready(session, "processed")
        metadata = build_processed_metadata(session, template, people)
        if iso19115:
            write_iso19115(session, metadata)
        archives = plan_processed(session, processed, all_frames=all_frames, record_bytes=record_bytes)
        versions.append(VersionPlan(label=PROCESSED_LABEL, metadata=metadata, archives=archives))
    if custom:
        metadata = build_custom_metadata(session, template, people)
        archives = plan_custom(session, custom)
        versions.append(VersionPlan(label=metadata.version or CUSTOM_LABEL, metadata=metadata, archives=archives))
    return versions


@task(name="plan-session", cache_policy=NO_CACHE)
async def plan_session(
    session_path: str,
    *,
    raw: bool,
    processed: list[str] | None,
    custom: list[str] | None,
    template_path: str | None,
    dcim_part_bytes: int,
    record_bytes: int,
    all_frames: bool = False,
    iso19115: bool = False,
) -> tuple[Session, list[VersionPlan]]:
    """Read the session and plan every version; stat-ing thousands of files runs off the loop."""

    def work() -> tuple[Session, list[VersionPlan]]:
        session = Session.open(session_path)
        template, people = load_metadata_inputs(template_path)
        return session, _plan_versions(
            session, raw=raw, processed=processed, custom=custom, template=template, people=people,
            dcim_part_bytes=dcim_part_bytes, record_bytes=record_bytes, all_frames=all_frames, iso19115=iso19115,
        )

    return await asyncio.to_thread(work)
