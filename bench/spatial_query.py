"""Bench: a polygon query with class scores over 10,000,000 frames through `atlas.query.run_query`.

Frames and their predictions are generated with SQL inside DuckDB (`synthetic_atlas.fill`), in a
real Atlas file: 10,000 sessions of 1,000 frames, each a ~1 km track around a random point of a
2 x 2 degree area, stored in session order as registration stores them, with a score per frame for
`--classes` classes (the query asks for two of them). The query (through the versions' extents) is
timed `--runs` times; in the same run, the same query with a plain ST_Intersects filter is timed
without any index (a full scan: the baseline) and then through the R-tree index on `frame.geom` that
Atlases had before schema 6 (the former path).

    python bench/spatial_query.py [--frames 10000000] [--classes 4] [--runs 20]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from synthetic_atlas import fill

from zenodo_atlas.atlas.connection import open_atlas, sql_string
from zenodo_atlas.atlas.query import FrameQuery, area_filter, query_sql, run_query

FRAMES_PER_SESSION = 1_000
# ~0.05 x 0.05 degrees of the 2 x 2 degree survey area: a few sessions' worth of frames
AREA = "POLYGON ((55.60 -21.00, 55.65 -21.00, 55.65 -20.95, 55.62 -20.93, 55.60 -20.95, 55.60 -21.00))"


def timed(run: Callable[[], int], runs: int) -> tuple[list[float], int]:
    times, rows = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        rows = run()
        times.append((time.perf_counter() - started) * 1000)
    return times, rows


def spread(times: list[float]) -> str:
    return f"min_ms={min(times):.1f} median_ms={statistics.median(times):.1f} max_ms={max(times):.1f}"


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
            sql, params = query_sql(con, query)
            area = query.area_wkt() or ""
            plain = sql.replace(area_filter(area), f"ST_Intersects(f.geom, ST_GeomFromText({sql_string(area)}))")
            assert plain != sql

            def former() -> int:
                return len(con.execute(plain, params).fetchall())

            timed(lambda: run_query(con, query).num_rows, 2)  # warm-up
            times, rows = timed(lambda: run_query(con, query).num_rows, args.runs)
            scored = run_query(con, query).column(names[0]).null_count
            assert scored == 0, "every frame found should carry its class scores"
            print(f"through the version extents: rows={rows} runs={args.runs} {spread(times)}")
            scan, scan_rows = timed(former, 3)
            assert scan_rows == rows, (scan_rows, rows)
            print(f"baseline full scan (plain ST_Intersects, no index): {spread(scan)}")
            started = time.perf_counter()
            con.execute("CREATE INDEX frame_geom_rtree ON frame USING RTREE (geom)")
            print(f"former R-tree index built in {time.perf_counter() - started:.1f} s")
            plan = con.execute(f"EXPLAIN {plain}", params).fetchall()[0][1]
            assert "RTREE_INDEX_SCAN" in plan, plan
            timed(former, 2)  # warm-up
            rtree, rtree_rows = timed(former, args.runs)
            assert rtree_rows == rows, (rtree_rows, rows)
            print(f"former path through the R-tree: {spread(rtree)}")
            median = statistics.median(times)
            print(f"ratio full scan / extents={statistics.median(scan) / median:.1f}, "
                  f"R-tree / extents={statistics.median(rtree) / median:.1f}")
        finally:
            con.close()


if __name__ == "__main__":
    main()
