"""The read snapshot: a committed copy of the Atlas that readers open while a writer holds the file.

DuckDB lets one process write a file and refuses every other open of it, read-only included. So
readers open a copy of the checkpointed file, `<name>.snapshot.duckdb`, renamed into place whole: a
reader sees one commit, never half of one, and a reader that already has an older copy open keeps
its (unlinked) inode. The copy keeps the Atlas file's mtime, which is therefore the time of the
commit it holds, and tells whether the copy is current.

The copy is made when a reader needs it, not after every write: a copy is linear in the Atlas's size
(1.5 GB, 1-4 s at 1M frames) while a registration is not, so copying on each write made the cost of
a registration grow with the Atlas. Writers and copiers take one exclusive file lock (see `lock_path`)
for the time they hold the file; a reader that finds the lock taken does not
wait but opens the copy it has, which says how old it is.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import duckdb
from pydantic import BaseModel

from zenodo_atlas.atlas import spatial_index
from zenodo_atlas.atlas.connection import CONFIG, open_atlas, rollback
from zenodo_atlas.atlas.errors import AtlasError, AtlasNotFoundError, MigrationError

SUFFIX = ".snapshot.duckdb"
WRITER_THREADS = 1
"""A write is a handful of statements over one session's rows: starting DuckDB's parallel operators
cost more than they saved (a 1,000-frame registration took 189 ms with 2 threads, 138 ms with one)."""
WRITER_VACUUM_TASKS = 0
"""DuckDB appends a write to a table loaded from disk as a row group of its own, then its checkpoint's
vacuum merges that small row group into the one before and so rewrites it whole: every deposit's
footprint and track, up to 122,880 rows of frames or predictions. Without vacuum each registration
writes only its own rows: 300 registrations in a row went from 70 to 85 ms each, and from 74 to
205 ms with vacuum. Row groups then follow registrations (one per session and table, which zone maps
prune by version); the file is ~1.4x the size of a vacuumed one and full scans ~10% slower."""
T = TypeVar("T")


def snapshot_path(atlas_path: Path) -> Path:
    """`atlas.duckdb` -> `atlas.snapshot.duckdb`, in the same folder (so the rename is atomic)."""
    return atlas_path.with_name(atlas_path.stem + SUFFIX)


def lock_path(atlas_path: Path, role: str = "file") -> Path:
    """The Atlas's lock file for `role`, in the machine's temporary folder: nothing is written beside the
    user's file, and the Atlas file itself cannot carry it (closing any descriptor of it would drop the
    POSIX lock DuckDB holds on it)."""
    digest = hashlib.sha256(str(atlas_path.resolve()).encode()).hexdigest()[:16]
    suffix = "" if role == "file" else f".{role}"
    return Path(tempfile.gettempdir()) / "zenodo-atlas-locks" / f"{atlas_path.stem}-{digest}{suffix}.lock"


@contextlib.contextmanager
def atlas_lock(atlas_path: Path, *, wait: bool = True, role: str = "file") -> Iterator[bool]:
    """Hold the Atlas lock of `role` (flock: per open file, so threads of one process exclude each other
    too; the system releases it when its process dies). "file" guards the file's writers and copiers.

    Yields False without waiting when `wait` is off and someone else holds it.
    """
    lock = lock_path(atlas_path, role)
    lock.parent.mkdir(mode=0o1777, exist_ok=True)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def checkpoint_and_close(con: duckdb.DuckDBPyConnection) -> None:
    """Fold the WAL into the file before letting it go: a copy of the file must hold every commit."""
    try:
        con.execute("CHECKPOINT")
    finally:
        con.close()


def write_committed(atlas_path: Path, work: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
    """Run `work` on a read-write connection under the Atlas file lock, then checkpoint and close.

    What every writer pays for the Atlas itself; Prefect's writer slot (tasks.atlas_db) queues writers
    before this.
    """
    with atlas_lock(atlas_path):
        con = open_atlas(atlas_path)
        try:
            con.execute(f"SET threads = {WRITER_THREADS}")
            con.execute(f"SET max_vacuum_tasks = {WRITER_VACUUM_TASKS}")
            result = work(con)
        except BaseException:
            con.close()
            raise
        checkpoint_and_close(con)
        return result


Entry = Callable[[], contextlib.AbstractAsyncContextManager[object]]


class WriterQueue:
    """Writes to one Atlas that wait together are made in one visit: one open, checkpoint and close for
    all of them (each DuckDB open costs ~12 ms and the close ~6 ms, a third of a 1,000-frame
    registration). Each write is still its own transaction; one that fails is rolled back and fails
    alone. `enter` is what a visit holds besides the file lock (the Prefect writer slot); writes that
    arrive while a visit waits for it join that visit.
    """

    def __init__(self, atlas_path: Path, enter: Entry | None = None) -> None:
        self.atlas_path = atlas_path
        self._enter = enter or contextlib.nullcontext
        self._pending: list[tuple[Callable[[duckdb.DuckDBPyConnection], object], asyncio.Future[object]]] = []
        self._visitor: asyncio.Task[None] | None = None

    async def write(self, work: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        self._pending.append((work, future))
        if self._visitor is None or self._visitor.done():
            self._visitor = asyncio.create_task(self._visit())
        return await future  # type: ignore[return-value]

    async def _visit(self) -> None:
        batch: list[tuple[Callable[[duckdb.DuckDBPyConnection], object], asyncio.Future[object]]] = []
        try:
            while self._pending:
                batch = []
                try:
                    async with self._enter():
                        batch, self._pending = self._pending, []
                        outcomes = await asyncio.to_thread(
                            write_committed, self.atlas_path, functools.partial(_attempt_each, [w for w, _ in batch])
                        )
                except Exception as exc:  # the visit itself failed (slot, open): so did every write in it
                    if not batch:
                        batch, self._pending = self._pending, []
                    outcomes = [(None, exc)] * len(batch)
                for (_, future), (value, error) in zip(batch, outcomes, strict=True):
                    if future.done():  # its caller was cancelled
                        continue
                    if error is None:
                        future.set_result(value)
                    else:
                        future.set_exception(error)
        finally:  # cancelled: nobody may wait for ever
            for _, future in [*batch, *self._pending]:
                future.cancel()


def _attempt_each(
    works: list[Callable[[duckdb.DuckDBPyConnection], object]], con: duckdb.DuckDBPyConnection
) -> list[tuple[object, Exception | None]]:
    """Each write in turn on one connection; a failed one is rolled back and does not stop the others."""
    outcomes: list[tuple[object, Exception | None]] = []
    for work in works:
        try:
            outcomes.append((work(con), None))
        except Exception as exc:
            rollback(con)
            outcomes.append((None, exc))
    return outcomes


def _identity(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


def is_current(atlas_path: Path) -> bool:
    """The snapshot holds the Atlas's last checkpoint: same size and mtime (the copy keeps both)."""
    try:
        return _identity(snapshot_path(atlas_path)) == _identity(atlas_path)
    except FileNotFoundError:
        return False


def refresh_snapshot(atlas_path: Path) -> Path:
    """Copy the (closed, checkpointed) Atlas over its snapshot atomically; the caller holds the Atlas lock.

    A read-only DuckDB open of the Atlas stands guard during the copy: it fails while any process
    writes the file, and it keeps other processes from opening the file for writing until the copy is
    done, whether they take the Atlas lock or not.
    """
    target = snapshot_path(atlas_path)
    if spatial_index.interrupted_write(atlas_path):
        raise AtlasError(f"{atlas_path} still has a write-ahead log; checkpoint it before copying it.")
    try:
        guard = duckdb.connect(str(atlas_path), read_only=True, config=CONFIG)
    except duckdb.Error as exc:
        raise AtlasError(f"{atlas_path} is open for writing elsewhere; it cannot be copied now ({exc}).") from exc
    handle, tmp = tempfile.mkstemp(prefix=f".{atlas_path.stem}-", suffix=".tmp", dir=atlas_path.parent)
    os.close(handle)
    try:
        shutil.copy2(atlas_path, tmp)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        guard.close()
    return target


def current_snapshot(atlas_path: Path, *, wait: bool = False) -> Path:
    """The file a reader should open: the snapshot, brought up to the last commit when it is behind.

    Without `wait`, a reader that finds a writer (or another copier) at work opens the snapshot it has,
    an older commit that says its age, rather than wait; with no snapshot yet it opens the Atlas itself
    (writing nothing, as before any snapshot existed). With `wait` it queues for the Atlas lock and
    gets the last commit. An Atlas with an interrupted write and no snapshot is opened as is, so that
    the reader is told to repair it.
    """
    snapshot = snapshot_path(atlas_path)
    if is_current(atlas_path):
        return snapshot
    if not atlas_path.is_file():
        return snapshot if snapshot.is_file() else atlas_path
    if not wait and not snapshot.is_file():  # no copy yet: read the file itself, as long as nobody writes it
        return atlas_path
    with atlas_lock(atlas_path, wait=wait) as held:
        if held and not is_current(atlas_path) and not spatial_index.interrupted_write(atlas_path):
            with contextlib.suppress(AtlasError):  # a writer that skips the lock: read the copy there is
                refresh_snapshot(atlas_path)
    return snapshot if snapshot.is_file() else atlas_path


class SnapshotInfo(BaseModel):
    """Which committed state a reader sees, and how old it is."""

    path: Path
    committed_at: datetime

    def age_seconds(self, now: datetime | None = None) -> float:
        return max(0.0, ((now or datetime.now(UTC)) - self.committed_at).total_seconds())

    def describe(self) -> str:
        return f"Atlas as committed at {self.committed_at:%Y-%m-%d %H:%M:%S} UTC ({self.age_seconds():.0f} s ago)"


def open_snapshot(atlas_path: Path, *, wait: bool = False) -> tuple[duckdb.DuckDBPyConnection, SnapshotInfo]:
    """A read-only connection to the latest committed state (see `current_snapshot`).

    Raises MigrationError when the snapshot's schema is behind this code (a writer brings it up to date).
    """
    source = current_snapshot(atlas_path, wait=wait)
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
    "WriterQueue",
    "atlas_lock",
    "checkpoint_and_close",
    "current_snapshot",
    "is_current",
    "open_snapshot",
    "refresh_snapshot",
    "snapshot_path",
    "write_committed",
]
