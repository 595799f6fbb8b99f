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
from zenodo_atlas.atlas.maps import session_centroids
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


def snapshot(atlas_path: Path, folder: Path) -> AtlasSnapshot:
    """Fingerprint, exports and a consistent copy of the database file in `folder` (emptied first)."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    con = open_atlas(atlas_path)
    try:
        fingerprint = content_fingerprint(con)
        exports = export_all(con, folder / "exports")
        locations = [Location(lat=lat, lon=lon, place=name) for name, lat, lon in session_centroids(con)]
        con.execute("CHECKPOINT")
    finally:
        con.close()
    database = folder / atlas_path.name
    shutil.copy2(atlas_path, database)
    marker = folder / FINGERPRINT_FILE
    marker.write_text(fingerprint)
    return AtlasSnapshot(
        fingerprint=fingerprint, files=[*exports, database, marker], folder=folder, locations=locations
    )


def atlas_metadata(
    urn: str, version: str, communities: list[str], sessions: int, locations: list[Location] | None = None
) -> DepositMetadata:
    """The Zenodo metadata of one Atlas version; `urn` finds the Atlas concept like a session's, and
    `locations` (session centroids) let Zenodo show where the sessions are."""
    return DepositMetadata(
        upload_type="dataset",
        title="Seatizen Atlas",
        creators=[Creator(name="Seatizen programme", affiliation="Ifremer")],
        description=(
            "<p>The Seatizen Atlas: a spatial catalogue of every published Seatizen session "
            f"({sessions} sessions in this version) with its Zenodo versions, georeferenced frames, "
            "multilabel AI predictions and human annotations.</p>"
            "<p>Files: the DuckDB database (spatial extension), a GeoPackage for QGIS (EPSG:4326), "
            "GeoParquet, CSV and Parquet tables, a Darwin Core archive of the annotations, an interactive "
            "HTML map (opens offline) and a PNG overview.</p>"
        ),
        access_right="open",
        license="cc-by-4.0",
        keywords=["Seatizen", "Atlas", "marine science", "coral reef", "georeferenced images"],
        version=version,
        related_identifiers=[RelatedIdentifier(identifier=urn, relation="isAlternateIdentifier")],
        communities=[Community(identifier=c) for c in communities] or None,
        publication_date=datetime.now(UTC).date(),
        locations=locations or None,
    )


def next_label(latest: Record | None) -> str:
    """The label of the Atlas version that follows the latest published one."""
    return next_version_label(latest.version_label if latest else None)
