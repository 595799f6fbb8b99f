"""The read snapshot: a committed copy of the Atlas that readers open while a writer holds the file.

DuckDB lets one process write a file and refuses every other open of it, read-only included. So
each writer, still holding the Atlas writer slot, copies the checkpointed file beside itself and
renames the copy over the snapshot: a reader sees either the previous commit or this one, never a
half-written state, and a reader that already has the old snapshot open keeps its (unlinked) inode.
The copy keeps the Atlas file's mtime, which is therefore the time of the commit it holds.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import duckdb
from pydantic import BaseModel

from zenodo_atlas.atlas.connection import open_atlas
from zenodo_atlas.atlas.errors import AtlasError, AtlasNotFoundError, MigrationError

SUFFIX = ".snapshot.duckdb"


def snapshot_path(atlas_path: Path) -> Path:
    """`atlas.duckdb` -> `atlas.snapshot.duckdb`, in the same folder (so the rename is atomic)."""
    return atlas_path.with_name(atlas_path.stem + SUFFIX)


def checkpoint_and_close(con: duckdb.DuckDBPyConnection) -> None:
    """Fold the WAL into the file before it is copied: the copy must hold every commit."""
    try:
        con.execute("CHECKPOINT")
    finally:
        con.close()


def refresh_snapshot(atlas_path: Path) -> Path:
    """Copy the (closed, checkpointed) Atlas over its snapshot atomically; the caller holds the writer slot."""
    target = snapshot_path(atlas_path)
    wal = atlas_path.with_name(atlas_path.name + ".wal")
    if wal.exists() and wal.stat().st_size:
        raise AtlasError(f"{atlas_path} still has a write-ahead log; checkpoint it before copying it.")
    handle, tmp = tempfile.mkstemp(prefix=f".{atlas_path.stem}-", suffix=".tmp", dir=atlas_path.parent)
    os.close(handle)
    try:
        shutil.copy2(atlas_path, tmp)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


class SnapshotInfo(BaseModel):
    """Which committed state a reader sees, and how old it is."""

    path: Path
    committed_at: datetime

    def age_seconds(self, now: datetime | None = None) -> float:
        return max(0.0, ((now or datetime.now(UTC)) - self.committed_at).total_seconds())

    def describe(self) -> str:
        return f"Atlas as committed at {self.committed_at:%Y-%m-%d %H:%M:%S} UTC ({self.age_seconds():.0f} s ago)"


def open_snapshot(atlas_path: Path) -> tuple[duckdb.DuckDBPyConnection, SnapshotInfo]:
    """A read-only connection to the latest committed state: the snapshot, or the Atlas itself when no
    writer has made one yet (an Atlas written before snapshots existed, or copied in by hand).

    Raises MigrationError when the snapshot's schema is behind this code (a writer brings it up to date).
    """
    snapshot = snapshot_path(atlas_path)
    source = snapshot if snapshot.is_file() else atlas_path
    if not source.is_file():
        raise AtlasNotFoundError(
            f"No Atlas at {atlas_path}; create it with `zenodo-atlas atlas migrate --atlas {atlas_path}`."
        )
    con = open_atlas(source, read_only=True)
    committed = datetime.fromtimestamp(source.stat().st_mtime, UTC)
    return con, SnapshotInfo(path=source, committed_at=committed)


__all__ = [
    "MigrationError",
    "SnapshotInfo",
    "checkpoint_and_close",
    "open_snapshot",
    "refresh_snapshot",
    "snapshot_path",
]
