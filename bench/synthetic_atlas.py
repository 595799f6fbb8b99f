"""Fill an Atlas with synthetic sessions in SQL, as registration stores them, predictions included.

Shared by the benches that need a big Atlas (query, registration into a full Atlas): sessions of
consecutive frames along a ~1 km track around a random centre of a 2 x 2 degree survey area, one
version each, and one score per frame for each of the latest model's first `classes` classes.
"""

from __future__ import annotations

import duckdb

from zenodo_atlas.atlas import spatial_index
from zenodo_atlas.atlas.ingest import TRACK_TOLERANCE_DEG

WEST, SOUTH, SIZE = 55.2, -21.4, 2.0
FIRST_RECORD = 100_000


def fill(con: duckdb.DuckDBPyConnection, *, sessions: int, frames_per_session: int, classes: int) -> list[str]:
    """Append `sessions` sessions (record ids FIRST_RECORD + i) and return the predicted class names.

    Each version's extent (the spatial index), each deposit's footprint and track and each version's
    file list are written too, as registration writes them.
    """
    model = con.execute("SELECT id FROM multilabel_model ORDER BY id DESC LIMIT 1").fetchone()[0]
    class_rows = con.execute(
        "SELECT id, name FROM multilabel_class WHERE model_id = ? ORDER BY id LIMIT ?", [model, classes]
    ).fetchall()
    ids = ", ".join(str(i) for i, _ in class_rows) or "NULL"
    n = frames_per_session
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
        SELECT {FIRST_RECORD} + i, 'c' || i, '10.5281/zenodo.' || ({FIRST_RECORD} + i), 'PROCESSED_DATA'
        FROM range({sessions}) t(i);
        INSERT INTO frame (record_id, file_name, original_file_name, latitude, longitude, datetime_utc, fix, geom)
        SELECT {FIRST_RECORD} + s, 'frame_' || i || '.jpeg', 'G' || j || '.JPG', lat, lon,
               TIMESTAMP '2020-01-01 08:00:00' + INTERVAL (s % 2000) DAY + INTERVAL (j * 5) SECOND, 1,
               ST_Point(lon, lat)
        FROM (
            SELECT t.i, t.i // {n} AS s, t.i % {n} AS j,
                   c.lat + (t.i % {n}) * 1e-5 AS lat, c.lon + 0.002 * sin((t.i % {n}) / 40.0) AS lon
            FROM range({sessions * n}) t(i)
            JOIN centre AS c ON c.i = t.i // {n}
            ORDER BY t.i
        );
        UPDATE deposit SET footprint = t.hull
        FROM (SELECT record_id, ST_ConvexHull(ST_Collect(list(geom))) AS hull FROM frame
              WHERE record_id >= {FIRST_RECORD} GROUP BY record_id) AS t
        WHERE deposit.concept_recid = 'c' || (t.record_id - {FIRST_RECORD});
        INSERT INTO footprint_linestring
        SELECT 'c' || (record_id - {FIRST_RECORD}),
               ST_SimplifyPreserveTopology(ST_MakeLine(list(geom ORDER BY id)), {TRACK_TOLERANCE_DEG})
        FROM frame WHERE record_id >= {FIRST_RECORD} GROUP BY record_id ORDER BY record_id;
        INSERT INTO version_file
        SELECT v.record_id, k.key, md5(k.key || v.record_id) FROM version AS v,
               (VALUES ('METADATA.zip'), ('PROCESSED_DATA_IA.zip'), ('GPS.zip')) AS k(key)
        WHERE v.record_id >= {FIRST_RECORD} ORDER BY ALL;
        INSERT INTO multilabel_prediction (frame_id, class_id, record_id, score)
        SELECT f.id, c.class_id, f.record_id, round(random(), 4)
        FROM frame AS f, (SELECT unnest([{ids}]) AS class_id) AS c
        WHERE f.record_id >= {FIRST_RECORD}
        ORDER BY f.id, c.class_id;
        DROP TABLE centre;
        """
    )
    spatial_index.write_extents(con, list(range(FIRST_RECORD, FIRST_RECORD + sessions)))
    spatial_index.checkpoint(con)
    return [name for _, name in class_rows]
