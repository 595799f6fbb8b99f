"""Bench: a polygon query with class scores over 10,000,000 frames through `atlas.query.run_query`.

Frames and their predictions are generated with SQL inside DuckDB (`synthetic_atlas.fill`), in a
real Atlas file: 10,000 sessions of 1,000 frames, each a ~1 km track around a random point of a
2 x 2 degree area, stored in session order as registration stores them, with a score per frame for
`--classes` classes (the query asks for two of them). The query is timed `--runs` times; then the
same query without the R-tree index (a full scan) is the in-run baseline.

    python bench/spatial_query.py [--frames 10000000] [--classes 4] [--runs 20]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import duckdb
from synthetic_atlas import fill

from zenodo_atlas.atlas.connection import open_atlas
from zenodo_atlas.atlas.query import FrameQuery, run_query

FRAMES_PER_SESSION = 1_000
# ~0.05 x 0.05 degrees of the 2 x 2 degree survey area: a few sessions' worth of frames
AREA = "POLYGON ((55.60 -21.00, 55.65 -21.00, 55.65 -20.95, 55.62 -20.93, 55.60 -20.95, 55.60 -21.00))"


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
    parser.add_argument("--classes", type=int, default=4, help="classes scored per frame (the model has 31)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="atlas-spatial-") as tmp:
        con = open_atlas(Path(tmp) / "atlas.duckdb")
        try:
            started = time.perf_counter()
            names = fill(con, sessions=max(1, args.frames // FRAMES_PER_SESSION),
                         frames_per_session=FRAMES_PER_SESSION, classes=max(2, args.classes))
            predictions = con.execute("SELECT count(*) FROM multilabel_prediction").fetchone()[0]
            print(f"generated frames={args.frames:,} predictions={predictions:,} "
                  f"in {time.perf_counter() - started:.1f} s")
            query = FrameQuery(polygon=AREA, classes=names[:2])
            plan = con.execute(
                f"EXPLAIN SELECT count(*) FROM frame WHERE ST_Intersects(geom, ST_GeomFromText('{AREA}'))"
            ).fetchall()[0][1]
            print(f"rtree_index_used={'RTREE_INDEX_SCAN' in plan}")
            timed(con, query, 2)  # warm-up
            times, rows = timed(con, query, args.runs)
            scored = run_query(con, query).column(names[0]).null_count
            assert scored == 0, "every frame found should carry its class scores"
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
