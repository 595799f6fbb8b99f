"""The Atlas writer slot: writers queue (never fail on each other), per Atlas file, and say they wait;
the publisher lock: one publication at a time, freed when its process dies."""

from __future__ import annotations

import asyncio
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.fixtures.atlas import PopulatedAtlas
from zenodo_atlas.atlas import etl
from zenodo_atlas.atlas.snapshot import atlas_lock, lock_path, open_snapshot, snapshot_path
from zenodo_atlas.tasks import atlas_db
from zenodo_atlas.tasks.atlas_db import atlas_publisher, atlas_writer, read_atlas, write_atlas, writer_slot_name


@pytest.fixture(autouse=True)
def _prefect(prefect_harness):
    """The writer slot is a global concurrency limit on the Prefect server."""


@pytest.fixture
def atlas(populated_atlas: PopulatedAtlas, tmp_path: Path) -> Path:
    path = tmp_path / "a" / "atlas.duckdb"
    path.parent.mkdir()
    path.write_bytes(populated_atlas.path.read_bytes())
    return path


def test_slot_names_follow_the_file(tmp_path: Path) -> None:
    one, two = tmp_path / "a" / "Seatizen Atlas.duckdb", tmp_path / "b" / "Seatizen Atlas.duckdb"
    assert writer_slot_name(one).startswith("atlas-writer-seatizen-atlas-")
    assert writer_slot_name(one) != writer_slot_name(two)
    assert writer_slot_name(one) == writer_slot_name(tmp_path / "a" / ".." / "a" / "Seatizen Atlas.duckdb")


async def test_concurrent_writers_queue_and_all_commit(atlas: Path) -> None:
    def log_run(note: str):
        return lambda con: etl.record_run(con, started_at=datetime.now(UTC), notes=note)

    runs = await asyncio.gather(*[write_atlas(atlas, log_run(f"writer {i}")) for i in range(4)])

    assert len({r.id for r in runs}) == 4
    assert not snapshot_path(atlas).exists(), "writers copy nothing: the first reader makes the snapshot"
    notes, info = await read_atlas(atlas, lambda con: [r[0] for r in con.execute("SELECT notes FROM etl_runs")
                                                        .fetchall()])
    assert {f"writer {i}" for i in range(4)} <= set(notes)
    assert info.path == snapshot_path(atlas)


async def test_a_waiting_writer_reports_and_other_atlases_do_not_wait(
    atlas: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(atlas_db, "WAIT_REPORT_SECONDS", 0.2)
    other = tmp_path / "b" / "atlas.duckdb"
    caplog.set_level(logging.INFO, logger="zenodo_atlas.atlas")
    async with atlas_writer(atlas):
        await write_atlas(other, lambda con: None)
        assert other.is_file()
        waiting = asyncio.create_task(write_atlas(atlas, lambda con: "written"))
        while "Waiting for the Atlas writer slot" not in caplog.text:
            await asyncio.wait({waiting}, timeout=0.1)
            assert not waiting.done(), "the second writer did not wait for the slot"
    assert await waiting == "written"
    con, _ = open_snapshot(atlas)
    con.close()


_HOLD_LOCK = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o666)
fcntl.flock(fd, fcntl.LOCK_EX)
print("held", flush=True)
sys.stdin.read()
"""


async def test_one_publication_at_a_time_and_a_killed_publisher_frees_the_lock(tmp_path: Path) -> None:
    atlas = tmp_path / "atlas.duckdb"
    async with atlas_publisher(atlas):
        with atlas_lock(atlas, wait=False, role="publisher") as free:
            assert free is False, "a second publication must wait"
        with atlas_lock(atlas, wait=False) as writers:
            assert writers is True, "writers do not wait for a publication"

    lock = lock_path(atlas, "publisher")
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _HOLD_LOCK, str(lock), stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
    )
    assert child.stdout is not None
    assert await asyncio.wait_for(child.stdout.readline(), 30) == b"held\n"
    waiting = asyncio.create_task(_publish_once(atlas))
    with atlas_lock(atlas, wait=False, role="publisher") as free:
        assert free is False and not waiting.done()
    child.kill()  # a publication killed mid-way: the system drops its lock
    await child.wait()
    assert await asyncio.wait_for(waiting, 30) == "published"


async def _publish_once(atlas: Path) -> str:
    async with atlas_publisher(atlas):
        return "published"
