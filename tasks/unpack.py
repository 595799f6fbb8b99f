"""Task that unpacks downloaded archives back into the session layout, refusing unsafe members."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Collection
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from zenodo_atlas.sessions.extract import archive_destination, safe_extract


def _unpack_one(archive: Path, session_dir: Path, members: Collection[str] | None) -> list[Path]:
    destination = archive_destination(archive.name, session_dir)
    if archive.suffix.lower() != ".zip":
        destination.mkdir(parents=True, exist_ok=True)
        target = destination / archive.name
        shutil.copy2(archive, target)
        return [target]
    return safe_extract(archive, destination, members)


@task(name="unpack-archive", task_run_name="unpack-{archive.name}", cache_policy=NO_CACHE)
async def unpack_archive(archive: Path, session_dir: Path, members: Collection[str] | None = None) -> list[Path]:
    """DCIM*.zip -> DCIM/, PROCESSED_DATA_X.zip -> PROCESSED_DATA/X/, others by stem; CPU off the loop."""
    return await asyncio.to_thread(_unpack_one, archive, session_dir, members)
