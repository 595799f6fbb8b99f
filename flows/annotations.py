"""Import human annotation files into the Atlas."""

from __future__ import annotations

from pathlib import Path

from prefect import flow

from zenodo_atlas.atlas.annotations import AnnotationReport
from zenodo_atlas.settings import current_settings
from zenodo_atlas.tasks.atlas_db import import_annotation_files


@flow(name="import-annotations", flow_run_name="annotations from {path}")
async def import_annotations(path: str, atlas_path: str | None = None) -> AnnotationReport:
    """Import a predecessor-format annotation CSV, or a folder of them, all or nothing."""
    atlas = Path(atlas_path) if atlas_path else current_settings().atlas_path
    return await import_annotation_files(atlas, Path(path))
