"""Bench: a polygon query over 10,000,000 frames through `atlas.query.run_query`.

Frames are generated with SQL inside DuckDB, in a real Atlas file: 10,000 sessions of 1,000 frames,
each a ~1 km track around a random point of a 2 x 2 degree area, stored in session order as
registration stores them. The query is timed 20 times and the median printed; the same
query is then timed without the R-tree index (a full scan) as the in-run baseline.

    python bench/spatial_query.py [--frames 10000000] [--runs 20]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import duckdb

from zenodo_atlas.atlas.connection import open_atlas
from zenodo_atlas.atlas.query import FrameQuery, run_query

FRAMES_PER_SESSION = 1_000
WEST, SOUTH, SIZE = 55.2, -21.4, 2.0
# ~0.05 x 0.05 degrees of a 2 x 2 degree survey area: a few sessions' worth of frames
AREA = "POLYGON ((55.60 -21.00, 55.65 -21.00, 55.65 -20.95, 55.62 -20.93, 55.60 -20.95, 55.60 -21.00))"


def populate(con: duckdb.DuckDBPyConnection, frames: int) -> float:
    """Sessions of 1,000 frames each, as the Atlas stores them: a session's frames are consecutive rows
    along a track of about 1 km around a random centre of the survey area."""
    sessions = max(1, frames // FRAMES_PER_SESSION)
    started = time.perf_counter()
    con.execute(
        f"""
        SELECT setseed(0.42);
        CREATE TEMP TABLE centre AS
        SELECT i, {WEST} + random() * {SIZE} AS lon, {SOUTH} + random() * {SIZE} AS lat FROM range({sessions}) t(i);
        INSERT INTO deposit (concept_recid, session_name, have_raw, have_processed, session_date, platform)
        SELECT 'c' || i, strftime(DATE '2020-01-01' + CAST(i % 2000 AS INTEGER), '%Y%m%d') || '_REU-Bench' || i
               || '_' || (['ASV', 'UAV', 'SCUBA'])[i % 3 + 1] || '-1_01', true, true,
               DATE '2020-01-01' + CAST(i % 2000 AS INTEGER), (['ASV', 'UAV', 'SCUBA'])[i % 3 + 1]
        FROM range({sessions}) t(i);
        INSERT INTO version (record_id, concept_recid, doi, label)
        SELECT 100000 + i, 'c' || i, '10.5281/zenodo.' || (100000 + i), 'PROCESSED_DATA' FROM range({sessions}) t(i);
        DROP INDEX frame_geom_rtree;
        INSERT INTO frame (record_id, file_name, original_file_name, latitude, longitude, datetime_utc, fix, geom)
        SELECT 100000 + s, 'frame_' || i || '.jpeg', 'G' || j || '.JPG', lat, lon,
               TIMESTAMP '2020-01-01 08:00:00' + INTERVAL (s % 2000) DAY + INTERVAL (j * 5) SECOND, 1,
               ST_Point(lon, lat)
        FROM (
            SELECT t.i, t.i // {FRAMES_PER_SESSION} AS s, t.i % {FRAMES_PER_SESSION} AS j,
                   c.lat + (t.i % {FRAMES_PER_SESSION}) * 1e-5 AS lat,
                   c.lon + 0.002 * sin((t.i % {FRAMES_PER_SESSION}) / 40.0) AS lon
            FROM range({sessions * FRAMES_PER_SESSION}) t(i)
            JOIN centre AS c ON c.i = t.i // {FRAMES_PER_SESSION}
            ORDER BY t.i
        );
        CREATE INDEX frame_geom_rtree ON frame USING RTREE (geom);
        DROP TABLE centre;
        CHECKPOINT;
        """
    )
    return time.perf_counter() - started


def timed(con: duckdb.DuckDBPyConnection, query: FrameQuery, runs: int) -> tuple[list[float], int]:
    times, rows = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        rows = run_query(con, query).num_rows
        times.append((time.perf_counter() - started) * 1000)
    return times, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    query = FrameQuery(polygon=AREA, classes=["Sand", "Fish"])
    with tempfile.TemporaryDirectory(prefix="atlas-spatial-") as tmp:
        con = open_atlas(Path(tmp) / "atlas.duckdb")
        try:
            seconds = populate(con, args.frames)
            print(f"generated frames={args.frames:,} in {seconds:.1f} s")
            plan = con.execute(
                f"EXPLAIN SELECT count(*) FROM frame WHERE ST_Intersects(geom, ST_GeomFromText('{AREA}'))"
            ).fetchall()[0][1]
            print(f"rtree_index_used={'RTREE_INDEX_SCAN' in plan}")
            timed(con, query, 2)  # warm-up
            times, rows = timed(con, query, args.runs)
            median = statistics.median(times)
            print(f"rows={rows} runs={args.runs} min_ms={min(times):.1f} max_ms={max(times):.1f}")
            print(f"median_ms={median:.1f}")
            con.execute("DROP INDEX frame_geom_rtree")
            scan, scan_rows = timed(con, query, 3)
            assert scan_rows == rows, (scan_rows, rows)
            print(f"baseline_full_scan_median_ms={statistics.median(scan):.1f}")
            print(f"ratio={statistics.median(scan) / median:.1f}")
        finally:
            con.close()


if __name__ == "__main__":
    main()
