"""The versions a session upload publishes: their labels, metadata and archives, planned before any request.

Planning only reads the session (the ISO 19115 file is written into METADATA when asked), so the
rule for what each version holds is testable without Prefect or Zenodo.
"""

from __future__ import annotations

from pathlib import Path

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


def plan_versions(
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
    """Every version asked for, in publication order: the RAW_DATA parts, PROCESSED_DATA, then custom."""
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
