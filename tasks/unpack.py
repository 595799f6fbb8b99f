"""Task that unpacks downloaded archives back into the session layout, refusing unsafe members."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Collection
from pathlib import Path

from prefect import task
from prefect.cache_policies import NO_CACHE

from zenodo_atlas.sessions.extract import Extracted, archive_destination, safe_extract
from zenodo_atlas.zenodo.download import file_md5


def _unpack_one(archive: Path, session_dir: Path, members: Collection[str] | None, overwrite: bool) -> Extracted:
    destination = archive_destination(archive.name, session_dir)
    if archive.suffix.lower() != ".zip":
        destination.mkdir(parents=True, exist_ok=True)
        target = destination / archive.name
        if target.is_file() and not overwrite:
            same = file_md5(target) == file_md5(archive)
            return Extracted([target], []) if same else Extracted([], [target])
        shutil.copy2(archive, target)
        return Extracted([target], [])
    return safe_extract(archive, destination, members, overwrite=overwrite)


@task(name="unpack-archive", task_run_name="unpack-{archive.name}", cache_policy=NO_CACHE)
async def unpack_archive(
    archive: Path, session_dir: Path, members: Collection[str] | None = None, overwrite: bool = False
) -> Extracted:
    """DCIM*.zip -> DCIM/, PROCESSED_DATA_X.zip -> PROCESSED_DATA/X/, others by stem; CPU off the loop.

    Local files that differ from the archive are kept unless `overwrite` (see `safe_extract`)."""
    return await asyncio.to_thread(_unpack_one, archive, session_dir, members, overwrite)
