"""The Atlas as a Zenodo record: what a publication uploads, its metadata, and whether it changed.

Change is decided by the content fingerprint (a hash of the tables, not of the DuckDB file, whose
bytes move on every checkpoint). The fingerprint travels with each published version as a small
text file, so the comparison needs no download: its md5 is in the record's file list.
"""

from __future__ import annotations

import hashlib
import shutil
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel

from zenodo_atlas.atlas.connection import open_atlas
from zenodo_atlas.atlas.etl import next_version_label
from zenodo_atlas.atlas.exports import export_all
from zenodo_atlas.atlas.fingerprint import content_fingerprint
from zenodo_atlas.atlas.legacy_db import LEGACY_DB, write_legacy_db
from zenodo_atlas.atlas.maps import session_centroids
from zenodo_atlas.sessions.template import AtlasRecordTemplate
from zenodo_atlas.zenodo.models import Community, Creator, DepositMetadata, Location, Record, RelatedIdentifier

FINGERPRINT_FILE = "ATLAS_CONTENT_SHA256.txt"


class AtlasSnapshot(BaseModel):
    """Everything one Atlas publication uploads, prepared on disk."""

    fingerprint: str
    files: list[Path]
    folder: Path
    locations: list[Location] = []

    @property
    def fingerprint_md5(self) -> str:
        return hashlib.md5(self.fingerprint.encode()).hexdigest()


def fingerprint_on_record(record: Record | None) -> str | None:
    """The md5 of the fingerprint file a published Atlas version carries, if any."""
    if record is None:
        return None
    f = record.file(FINGERPRINT_FILE)
    return f.md5 if f else None


def snapshot(committed: Path, name: str, folder: Path) -> AtlasSnapshot:
    """The committed Atlas copied into `folder` (emptied first) as `name`, then that very copy
    fingerprinted and exported: what is published is what was fingerprinted, whatever writers do."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    database = folder / name
    shutil.copy2(committed, database)
    con = open_atlas(database, read_only=True)
    try:
        fingerprint = content_fingerprint(con)
        exports = export_all(con, folder / "exports")
        # The predecessor's readers download this file by name: it stays, next to the new exports.
        exports.append(write_legacy_db(con, folder / "exports" / LEGACY_DB))
        locations = [Location(lat=lat, lon=lon, place=name) for name, lat, lon in session_centroids(con)]
    finally:
        con.close()
    marker = folder / FINGERPRINT_FILE
    marker.write_text(fingerprint)
    return AtlasSnapshot(
        fingerprint=fingerprint, files=[*exports, database, marker], folder=folder, locations=locations
    )


def _default_template(sessions: int, communities: list[str]) -> AtlasRecordTemplate:
    return AtlasRecordTemplate(
        creators=[Creator(name="Seatizen programme", affiliation="Ifremer")],
        description=(
            "<p>The Seatizen Atlas: a spatial catalogue of every published Seatizen session "
            f"({sessions} sessions in this version) with its Zenodo versions, georeferenced frames, "
            "multilabel AI predictions and human annotations.</p>"
            "<p>Files: the DuckDB database (spatial extension), a GeoPackage for QGIS (EPSG:4326), "
            "GeoParquet, CSV and Parquet tables, a Darwin Core archive of the annotations, an interactive "
            "HTML map (opens offline) and a PNG overview.</p>"
        ),
        keywords=["Seatizen", "Atlas", "marine science", "coral reef", "georeferenced images"],
        communities=communities,
    )


def _from_record(record: Record, communities: list[str]) -> AtlasRecordTemplate:
    """What the published Atlas already says about itself: people curated its creators, keep them."""
    meta = record.metadata
    licence = meta.get("license")
    return AtlasRecordTemplate(
        title=meta.get("title") or "Seatizen Atlas",
        creators=[Creator.model_validate(c) for c in meta.get("creators") or []],
        description=meta.get("description") or "",
        related_identifiers=[RelatedIdentifier.model_validate(r) for r in meta.get("related_identifiers") or []],
        license=(licence.get("id") if isinstance(licence, dict) else licence) or "cc-by-4.0",
        keywords=meta.get("keywords") or [],
        communities=communities,
    )


def atlas_metadata(
    urn: str, version: str, communities: list[str], sessions: int, locations: list[Location] | None = None,
    *, template: AtlasRecordTemplate | None = None, latest: Record | None = None,
) -> DepositMetadata:
    """The Zenodo metadata of one Atlas version; `urn` finds the Atlas concept like a session's, and
    `locations` (session centroids) let Zenodo show where the sessions are. The descriptive part is
    the template file's when given, else the published record's own (people curated its creators
    and description), else a default for a first publication."""
    if template is None:
        template = (
            _from_record(latest, communities) if latest is not None and latest.metadata.get("creators")
            else _default_template(sessions, communities)
        )
    related = [r for r in template.related_identifiers if r.identifier != urn]
    chosen = template.communities if template.communities is not None else communities
    return DepositMetadata(
        upload_type="dataset",
        title=template.title,
        creators=template.creators,
        description=template.description,
        access_right=template.access_right,
        license=template.license,
        keywords=template.keywords or None,
        version=version,
        related_identifiers=[RelatedIdentifier(identifier=urn, relation="isAlternateIdentifier"), *related],
        communities=[Community(identifier=c) for c in chosen] or None,
        publication_date=datetime.now(UTC).date(),
        locations=locations or None,
    )


def next_label(latest: Record | None) -> str:
    """The label of the Atlas version that follows the latest published one."""
    return next_version_label(latest.version_label if latest else None)
