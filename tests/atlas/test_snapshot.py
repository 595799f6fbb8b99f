"""The read snapshot: readers open a committed copy while another process writes the Atlas."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.fixtures.atlas import PopulatedAtlas, Published
from zenodo_atlas.atlas import spatial_index
from zenodo_atlas.atlas.connection import open_atlas
from zenodo_atlas.atlas.errors import AtlasLockedError
from zenodo_atlas.atlas.etl import last_run, record_run
from zenodo_atlas.atlas.ingest import prepare_session, register_prepared
from zenodo_atlas.atlas.inventory import counts
from zenodo_atlas.atlas.snapshot import (
    WriterQueue,
    atlas_lock,
    is_current,
    open_snapshot,
    refresh_snapshot,
    snapshot_path,
    write_committed,
)
from zenodo_atlas.cli import app

HOLD_OPEN = """
import sys
from zenodo_atlas.atlas.connection import open_atlas
con = open_atlas(sys.argv[1])
con.execute("BEGIN")
con.execute("DELETE FROM multilabel_prediction")
print("writing", flush=True)
sys.stdin.readline()
"""


@pytest.fixture
def committed(populated_atlas: PopulatedAtlas, tmp_path: Path) -> Path:
    path = tmp_path / "atlas.duckdb"
    path.write_bytes(populated_atlas.path.read_bytes())
    refresh_snapshot(path)
    return path


def _note(con) -> str | None:
    run = last_run(con)
    return run.notes if run else None


def test_a_write_leaves_the_copy_to_the_next_reader_who_sees_the_commit(committed: Path) -> None:
    copied = snapshot_path(committed).stat().st_mtime_ns

    write_committed(committed, lambda con: record_run(con, started_at=datetime.now(UTC), notes="after"))

    assert snapshot_path(committed).stat().st_mtime_ns == copied, "the writer copied the Atlas"
    assert not is_current(committed)
    con, info = open_snapshot(committed)
    try:
        assert _note(con) == "after"
    finally:
        con.close()
    assert info.path == snapshot_path(committed) and is_current(committed)
    assert info.committed_at == datetime.fromtimestamp(committed.stat().st_mtime, UTC)
    assert not list(committed.parent.glob("*.tmp"))


def test_a_reader_does_not_wait_for_a_writer_and_reads_the_previous_commit(committed: Path) -> None:
    write_committed(committed, lambda con: record_run(con, started_at=datetime.now(UTC), notes="first"))
    open_snapshot(committed)[0].close()
    write_committed(committed, lambda con: record_run(con, started_at=datetime.now(UTC), notes="second"))

    with atlas_lock(committed) as held:  # a writer at work
        assert held
        con, info = open_snapshot(committed)
        try:
            assert _note(con) == "first"
        finally:
            con.close()
        assert info.committed_at < datetime.fromtimestamp(committed.stat().st_mtime, UTC)
    con, _ = open_snapshot(committed)
    try:
        assert _note(con) == "second"
    finally:
        con.close()


def test_readers_see_the_last_commit_while_another_process_writes(committed: Path, tmp_path: Path) -> None:
    expected, _ = open_snapshot(committed)
    frames = counts(expected)["frames"]
    expected.close()
    write_committed(committed, lambda con: record_run(con, started_at=datetime.now(UTC), notes="not copied yet"))
    writer = subprocess.Popen([sys.executable, "-c", HOLD_OPEN, str(committed)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "writing"
        with pytest.raises(AtlasLockedError):
            open_atlas(committed, read_only=True)

        con, info = open_snapshot(committed)  # the lock is free, but the file is open for writing: no copy
        try:
            assert counts(con)["frames"] == frames > 0 and _note(con) != "not copied yet"
        finally:
            con.close()
        out = tmp_path / "frames.csv"
        result = CliRunner().invoke(app, ["atlas", "query", "--atlas", str(committed), "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert f"{frames} frame(s) written" in result.output and "Atlas as committed at" in result.output
        assert "s ago" in info.describe()
    finally:
        writer.communicate("\n", timeout=30)
    con, _ = open_snapshot(committed)
    try:
        assert _note(con) == "not copied yet"
    finally:
        con.close()


async def test_writes_that_wait_together_share_one_visit_and_fail_alone(committed: Path) -> None:
    visits = []

    @contextlib.asynccontextmanager
    async def slot():
        visits.append("entered")
        yield

    def note(text: str):
        return lambda con: record_run(con, started_at=datetime.now(UTC), notes=text).id

    def half_then_fail(con) -> None:
        con.begin()
        record_run(con, started_at=datetime.now(UTC), notes="rolled back")
        raise ValueError("broken session")

    queue = WriterQueue(committed, slot)
    first, failed, last = await asyncio.gather(
        queue.write(note("first")), queue.write(half_then_fail), queue.write(note("last")), return_exceptions=True
    )

    assert visits == ["entered"]
    assert isinstance(failed, ValueError) and isinstance(first, int) and isinstance(last, int)
    con, _ = open_snapshot(committed)
    try:
        notes = {n for (n,) in con.execute("SELECT notes FROM etl_runs").fetchall()}
    finally:
        con.close()
    assert {"first", "last"} <= notes and "rolled back" not in notes
    assert await queue.write(note("again")) and visits == ["entered", "entered"]


async def test_a_reader_sees_sessions_registered_through_the_queue(
    committed: Path, published_session: Callable[..., Published]
) -> None:
    new = [published_session(name=f"20240{i}01_REU-ST-LEU_ASV-1_01", frames=12, seed=i, concept_recid=f"9{i}00",
                             first_record=int(f"9{i}01")) for i in (1, 2)]
    prepared = [prepare_session(d, dep, archive_md5s=m) for d, dep, m in new]
    queue = WriterQueue(committed)

    reports = await asyncio.gather(*[queue.write(lambda con, p=p: register_prepared(con, p)) for p in prepared])

    assert all(r.frames_added > 0 for r in reports) and not spatial_index.interrupted_write(committed)
    con, info = open_snapshot(committed)
    try:
        names = {n for (n,) in con.execute("SELECT session_name FROM deposit").fetchall()}
        frames = con.execute("SELECT count(*) FROM frame f JOIN version v USING (record_id)"
                             " WHERE v.concept_recid IN ('9100', '9200')").fetchone()[0]
    finally:
        con.close()
    assert {d.name for d, _, _ in new} <= names and frames == sum(r.frames_added for r in reports)
    assert info.path == snapshot_path(committed) and is_current(committed)
