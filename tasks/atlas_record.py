"""Task that prepares an Atlas publication on disk; the rules live in `atlas.publication`."""

from __future__ import annotations

import asyncio
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from zenodo_atlas.atlas.publication import AtlasSnapshot, snapshot


@task(name="snapshot-atlas", cache_policy=NO_CACHE)
async def snapshot_atlas(atlas_path: Path, folder: Path) -> AtlasSnapshot:
    """Fingerprint, exports and a consistent copy of the database file, off the event loop."""
    return await asyncio.to_thread(snapshot, atlas_path, folder)
