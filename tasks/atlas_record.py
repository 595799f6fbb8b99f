"""Task that prepares an Atlas publication on disk; the rules live in `atlas.publication`."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from zenodo_atlas.atlas.publication import AtlasSnapshot, snapshot
from zenodo_atlas.tasks.atlas_db import ensure_snapshot


@task(name="snapshot-atlas", cache_policy=NO_CACHE)
async def snapshot_atlas(atlas_path: Path, parent: Path) -> AtlasSnapshot:
    """A copy of the last committed Atlas, its fingerprint and exports, off the event loop (no slot held),
    in a folder of this run's own under `parent` (runs publishing at once must not share one); the
    caller removes it."""
    committed = await ensure_snapshot(atlas_path)
    parent.mkdir(parents=True, exist_ok=True)
    return await asyncio.to_thread(snapshot, committed, atlas_path.name, Path(tempfile.mkdtemp(dir=parent)))
