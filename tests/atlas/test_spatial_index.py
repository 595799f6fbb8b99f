"""The spatial index (each version's extent): kept with its frames, used by polygon queries, checked and
repaired by `atlas check`; and an Atlas whose writer was killed between commit and checkpoint opens
sound, including one of schema 5 or older whose WAL holds R-tree appends (duckdb-spatial #861)."""

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
import pandas as pd
import pytest
from typer.testing import CliRunner

from tests.fixtures.atlas import Published, deposit_for
from zenodo_atlas.atlas import spatial_index
from zenodo_atlas.atlas.connection import connect_atlas, open_atlas
from zenodo_atlas.atlas.errors import AtlasError
from zenodo_atlas.atlas.ingest import register_session
from zenodo_atlas.atlas.migrate import migrate
from zenodo_atlas.atlas.query import FrameQuery, run_query
from zenodo_atlas.cli import app
from zenodo_atlas.sessions.sample import write_sample_session

REPO = Path(__file__).resolve().parents[2]


def kill_after_commit(atlas: Path, published: Published, tmp: Path, *mode: str) -> None:
    """Run a registration in a child, wait until its commit sits in the WAL, SIGKILL it."""
    marker = tmp / "committed"
    _, deposit, _ = published
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.atlas.crash_register", str(atlas), str(published[0]), deposit.concept_recid,
         str(deposit.versions[0].record_id), str(marker), *mode],
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


def box(x0: float, y0: float, x1: float, y1: float) -> str:
    return f"POLYGON(({x0} {y0}, {x1} {y0}, {x1} {y1}, {x0} {y1}, {x0} {y0}))"


def polygon_vs_scan(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[int, int]]:
    """Per session: frames a polygon query over its bounding box returns, and frames a lon/lat scan finds."""
    out = {}
    boxes = con.execute(
        "SELECT d.session_name, min(longitude), min(latitude), max(longitude), max(latitude) FROM frame f "
        "JOIN version v USING (record_id) JOIN deposit d USING (concept_recid) WHERE f.geom IS NOT NULL "
        "GROUP BY ALL"
    ).fetchall()
    for session, x0, y0, x1, y1 in boxes:
        via_query = run_query(con, FrameQuery(polygon=box(x0, y0, x1, y1))).num_rows
        by_scan = con.execute(
            "SELECT count(*) FROM frame WHERE geom IS NOT NULL "
            "AND longitude BETWEEN ? AND ? AND latitude BETWEEN ? AND ?",
            [x0, x1, y0, y1],
        ).fetchone()[0]
        out[session] = (via_query, by_scan)
    return out


def moved_session(root: Path, name: str, east: float, *, seed: int, concept_recid: str, first_record: int) -> Published:
    """A sample session whose positions (plancha metadata.csv) are shifted `east` degrees of longitude."""
    session = write_sample_session(root, name=name, frames=30, dcim_mb=0.0, seed=seed)
    meta = session / "METADATA" / "metadata.csv"
    table = pd.read_csv(meta, dtype=str, keep_default_na=False)
    table["GPSLongitude"] = (table["GPSLongitude"].astype(float) + east).round(8).astype(str)
    table.to_csv(meta, index=False)
    return deposit_for(session, concept_recid=concept_recid, first_record=first_record)


def test_a_polygon_meeting_one_sessions_extent_returns_exactly_its_frames(
    atlas_con: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    here = moved_session(tmp_path, "20231021_REU-ST-LEU_ASV-1_01", 0.0, seed=1, concept_recid="1000",
                         first_record=1001)
    there = moved_session(tmp_path, "20231022_REU-ST-LEU_ASV-1_02", 0.5, seed=2, concept_recid="2000",
                          first_record=2001)
    for session, deposit, md5s in (here, there):
        register_session(atlas_con, session, deposit, archive_md5s=md5s)
    extents = dict(atlas_con.execute(
        "SELECT record_id, [min_lon, min_lat, max_lon, max_lat] FROM version WHERE min_lon IS NOT NULL ORDER BY 1"
    ).fetchall())
    assert set(extents) == {1002, 2002}  # the PROCESSED_DATA versions, which hold the frames
    x0, y0, x1, y1 = extents[1002]
    assert extents[2002][0] > x1  # the sessions' extents do not meet
    located = {name for (name,) in atlas_con.execute(
        "SELECT file_name FROM frame WHERE record_id = 1002 AND geom IS NOT NULL"
    ).fetchall()}
    found = run_query(atlas_con, FrameQuery(polygon=box(x0 - 1e-6, y0 - 1e-6, x1 + 1e-6, y1 + 1e-6)))
    assert set(found.column("file_name").to_pylist()) == located and found.num_rows == len(located) > 0
    # half of the other session's extent: only its frames there, none of the first session's
    a0, b0, a1, b1 = extents[2002]
    half = run_query(atlas_con, FrameQuery(polygon=box(a0, b0, (a0 + a1) / 2, b1 + 1e-6)))
    expected = atlas_con.execute(
        "SELECT count(*) FROM frame WHERE record_id = 2002 AND geom IS NOT NULL AND longitude <= ?",
        [(a0 + a1) / 2],
    ).fetchone()[0]
    assert half.num_rows == expected > 0 and set(half.column("session_name").to_pylist()) == {there[0].name}
    assert spatial_index.check(atlas_con, repair=False).healthy


def test_atlas_check_finds_and_rewrites_a_damaged_extent(
    atlas_path: Path, atlas_template: Path, published_session: Callable[..., Published]
) -> None:
    atlas_path.parent.mkdir(parents=True)
    shutil.copyfile(atlas_template, atlas_path)
    session, deposit, md5s = published_session(frames=30, seed=5)
    con = open_atlas(atlas_path)
    try:
        register_session(con, session, deposit, archive_md5s=md5s)
        area = FrameQuery(polygon=box(*con.execute(
            "SELECT min(longitude) - 1e-6, min(latitude) - 1e-6, max(longitude) + 1e-6, max(latitude) + 1e-6"
            " FROM frame WHERE geom IS NOT NULL"
        ).fetchone()))
        frames = run_query(con, area).num_rows
        assert frames > 0
        # a damaged index hides the frames from polygon queries: the extent is what they go through
        con.execute("UPDATE version SET min_lon = min_lon + 10, max_lon = max_lon + 10")
        assert run_query(con, area).num_rows == 0
        assert not spatial_index.check(con, repair=False).healthy
        spatial_index.checkpoint(con)
    finally:
        con.close()
    checked = CliRunner().invoke(app, ["atlas", "check", "--atlas", str(atlas_path)])
    assert checked.exit_code == 0, checked.output
    assert "version 1002: extent" in checked.output and "rebuilt the version extents" in checked.output
    again = CliRunner().invoke(app, ["atlas", "check", "--atlas", str(atlas_path)])
    assert again.exit_code == 0 and "agrees with the frames of 1 version(s)" in again.output, again.output
    con = open_atlas(atlas_path, read_only=True)
    try:
        assert run_query(con, area).num_rows == frames
    finally:
        con.close()


def test_migration_6_drops_the_rtrees_and_writes_each_versions_extent(tmp_path: Path) -> None:
    con = connect_atlas(tmp_path / "old.duckdb")
    try:
        migrate(con, target=5)
        assert spatial_index.rtree_indexes(con) == ["footprint_linestring_rtree", "frame_geom_rtree"]
        con.execute("INSERT INTO version (record_id, concept_recid, label) SELECT 7 + i, 'c', 'PROCESSED_DATA'"
                    " FROM range(3) t(i)")
        con.execute(
            """
            INSERT INTO frame (record_id, file_name, geom, longitude, latitude)
            SELECT 7 + i % 2, 'f' || i || '.jpeg', CASE WHEN i < 8 THEN ST_Point(55 + i, -21 - i) END, 55 + i, -21 - i
            FROM range(10) t(i)
            """
        )
        migrate(con)
        assert spatial_index.rtree_indexes(con) == []
        assert con.execute(
            "SELECT record_id, min_lon, min_lat, max_lon, max_lat FROM version ORDER BY 1"
        ).fetchall() == [(7, 55.0, -27.0, 61.0, -21.0), (8, 56.0, -28.0, 62.0, -22.0), (9, None, None, None, None)]
        assert spatial_index.check(con, repair=False).healthy
    finally:
        con.close()


def _one_registered_one_to_crash(
    atlas_path: Path, atlas_template: Path, published_session: Callable[..., Published]
) -> tuple[Published, Published]:
    """An Atlas holding one registered session, and a second session for a writer about to be killed."""
    atlas_path.parent.mkdir(parents=True)
    shutil.copyfile(atlas_template, atlas_path)
    first = published_session(frames=30, seed=1)
    crashed = published_session(name="20231022_REU-ST-LEU_ASV-1_02", frames=30, seed=2, concept_recid="2000",
                                first_record=2001)
    con = open_atlas(atlas_path)
    register_session(con, first[0], first[1], archive_md5s=first[2])
    con.close()
    return first, crashed


@pytest.mark.slow
def test_a_register_killed_after_commit_leaves_a_sound_atlas(
    atlas_path: Path, atlas_template: Path, published_session: Callable[..., Published], tmp_path: Path
) -> None:
    first, crashed = _one_registered_one_to_crash(atlas_path, atlas_template, published_session)
    later = published_session(name="20231023_REU-ST-LEU_ASV-1_03", frames=30, seed=3, concept_recid="3000",
                              first_record=3001)

    kill_after_commit(atlas_path, crashed, tmp_path)

    reader = open_atlas(atlas_path, read_only=True)  # DuckDB replays the WAL for a reader, in memory
    try:
        counts = polygon_vs_scan(reader)
        assert set(counts) == {first[0].name, crashed[0].name}
        assert all(via_query == by_scan > 0 for via_query, by_scan in counts.values()), counts
    finally:
        reader.close()
    checked = CliRunner().invoke(app, ["atlas", "check", "--atlas", str(atlas_path)])
    assert checked.exit_code == 0, checked.output
    assert "agrees with the frames of 2 version(s)" in checked.output
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


@pytest.mark.slow
def test_an_older_atlas_killed_with_rtree_appends_in_its_wal_opens_without_them(
    atlas_path: Path, atlas_template: Path, published_session: Callable[..., Published], tmp_path: Path
) -> None:
    first, crashed = _one_registered_one_to_crash(atlas_path, atlas_template, published_session)

    kill_after_commit(atlas_path, crashed, tmp_path, "rtree")

    with pytest.raises(AtlasError, match="interrupted write from an older zenodo-atlas; run `zenodo-atlas atlas mig"):
        open_atlas(atlas_path, read_only=True)
    con = open_atlas(atlas_path)
    try:
        assert spatial_index.rtree_indexes(con) == []
        counts = polygon_vs_scan(con)
        assert set(counts) == {first[0].name, crashed[0].name}
        assert all(via_query == by_scan > 0 for via_query, by_scan in counts.values()), counts
        assert spatial_index.check(con, repair=False).healthy
    finally:
        con.close()
    assert not spatial_index.interrupted_write(atlas_path)


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
