"""The Atlas survives a writer killed between its commit and its checkpoint (duckdb-spatial #861)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from tests.fixtures.atlas import Published
from zenodo_atlas.atlas import spatial_index
from zenodo_atlas.atlas.connection import open_atlas
from zenodo_atlas.atlas.errors import AtlasError
from zenodo_atlas.atlas.ingest import register_session
from zenodo_atlas.atlas.query import FrameQuery, run_query
from zenodo_atlas.cli import app

REPO = Path(__file__).resolve().parents[2]


def kill_after_commit(atlas: Path, published: Published, tmp: Path) -> None:
    """Run a registration in a child, wait until its commit sits in the WAL, SIGKILL it."""
    marker = tmp / "committed"
    _, deposit, _ = published
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.atlas.crash_register", str(atlas), str(published[0]), deposit.concept_recid,
         str(deposit.versions[0].record_id), str(marker)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 120
        while not (marker.exists() and spatial_index.interrupted_write(atlas)):
            if child.poll() is not None:
                raise AssertionError(f"the child exited ({child.returncode}): {child.stdout.read().decode()}")
            assert time.monotonic() < deadline, "the child never committed"
            time.sleep(0.05)  # polling an observable condition (marker and WAL), not waiting a guessed time
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        child.stdout.close()


def polygon_vs_scan(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[int, int]]:
    """Per session: frames a polygon query over its bounding box returns, and frames a lon/lat scan finds."""
    out = {}
    boxes = con.execute(
        "SELECT d.session_name, min(longitude), min(latitude), max(longitude), max(latitude) FROM frame f "
        "JOIN version v USING (record_id) JOIN deposit d USING (concept_recid) WHERE f.geom IS NOT NULL "
        "GROUP BY ALL"
    ).fetchall()
    for session, x0, y0, x1, y1 in boxes:
        polygon = f"POLYGON(({x0} {y0}, {x1} {y0}, {x1} {y1}, {x0} {y1}, {x0} {y0}))"
        via_query = run_query(con, FrameQuery(polygon=polygon)).num_rows
        by_scan = con.execute(
            "SELECT count(*) FROM frame WHERE geom IS NOT NULL "
            "AND longitude BETWEEN ? AND ? AND latitude BETWEEN ? AND ?",
            [x0, x1, y0, y1],
        ).fetchone()[0]
        out[session] = (via_query, by_scan)
    return out


@pytest.mark.slow
def test_a_register_killed_after_commit_leaves_a_sound_atlas(
    atlas_path: Path, atlas_template: Path, published_session: Callable[..., Published], tmp_path: Path
) -> None:
    atlas_path.parent.mkdir(parents=True)
    shutil.copyfile(atlas_template, atlas_path)
    first = published_session(frames=30, seed=1)
    crashed = published_session(name="20231022_REU-ST-LEU_ASV-1_02", frames=30, seed=2, concept_recid="2000",
                                first_record=2001)
    later = published_session(name="20231023_REU-ST-LEU_ASV-1_03", frames=30, seed=3, concept_recid="3000",
                              first_record=3001)
    con = open_atlas(atlas_path)
    register_session(con, first[0], first[1], archive_md5s=first[2])
    con.close()

    kill_after_commit(atlas_path, crashed, tmp_path)

    with pytest.raises(AtlasError, match="interrupted write; run `zenodo-atlas atlas check"):
        open_atlas(atlas_path, read_only=True)
    checked = CliRunner().invoke(app, ["atlas", "check", "--atlas", str(atlas_path)])
    assert checked.exit_code == 0, checked.output
    assert "agrees with a scan for 2 session(s)" in checked.output
    assert not spatial_index.interrupted_write(atlas_path)
    con = open_atlas(atlas_path)
    try:
        assert register_session(con, later[0], later[1], archive_md5s=later[2]).frames_added > 0
        counts = polygon_vs_scan(con)
        assert set(counts) == {first[0].name, crashed[0].name, later[0].name}
        assert all(via_query == by_scan > 0 for via_query, by_scan in counts.values()), counts
        assert spatial_index.check(con, repair=False).healthy
    finally:
        con.close()


def test_a_write_failing_for_lack_of_space_reports_that_not_the_rollback(
    atlas_path: Path, atlas_template: Path, published_session: Callable[..., Published]
) -> None:
    atlas_path.parent.mkdir(parents=True)
    shutil.copyfile(atlas_template, atlas_path)
    session = published_session(frames=200, seed=4)
    child = subprocess.run(
        [sys.executable, "-m", "tests.atlas.full_disk_register", str(atlas_path), str(session[0])],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert child.returncode == 1, child.stderr
    assert "File too large" in child.stdout and str(atlas_path) in child.stdout, child.stdout
    assert "no transaction is active" not in child.stdout
