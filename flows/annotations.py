"""Import human annotation files into the Atlas."""

from __future__ import annotations

from pathlib import Path

from prefect import flow

from zenodo_atlas.atlas.annotations import AnnotationReport
from zenodo_atlas.settings import current_settings
from zenodo_atlas.tasks.atlas_db import import_annotation_files


def _run_name() -> str:
    from prefect.runtime import flow_run

    return f"import annotations {Path(str(flow_run.parameters.get('path', ''))).name}"


@flow(name="import-annotations", flow_run_name=_run_name)
async def import_annotations(path: str, atlas_path: str | None = None) -> AnnotationReport:
    """Import a predecessor-format annotation CSV, or a folder of them, all or nothing.

    Args:
        path: Annotation CSV named YYYYMMDD_HHMMSS__author__dataset.csv, or a folder of them.
        atlas_path: Atlas DuckDB file; empty uses the configured ATLAS_ATLAS_PATH.
    """
    atlas = Path(atlas_path) if atlas_path else current_settings().atlas_path
    return await import_annotation_files(atlas, Path(path))
