"""The predecessor-schema SQLite file published beside the new exports, read as its consumers do."""

from __future__ import annotations

import sqlite3
import struct
from pathlib import Path

import duckdb
import shapely

from zenodo_atlas.atlas.legacy_db import LEGACY_DB, spatialite_blob, write_legacy_db


def _point(blob: bytes) -> tuple[float, float]:
    """Decode a SpatiaLite POINT blob by its published layout (not with our own encoder)."""
    start, endian, srid = struct.unpack_from("<BBi", blob)
    klass = struct.unpack_from("<i", blob, 39)[0]
    assert (start, endian, srid, blob[38], klass, blob[-1]) == (0, 1, 0, 0x7C, 1, 0xFE)
    return struct.unpack_from("<2d", blob, 43)


def test_the_predecessors_tables_hold_the_atlas(populated_con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    path = write_legacy_db(populated_con, tmp_path / LEGACY_DB)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA application_id").fetchone()[0] == 0x47504B47
        for table in ("deposit", "version", "frame", "multilabel_prediction", "multilabel_annotation"):
            ours = {"deposit": "deposit", "version": "version", "frame": "frame",
                    "multilabel_prediction": "multilabel_prediction", "multilabel_annotation": "annotation"}[table]
            assert db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == \
                populated_con.execute(f"SELECT count(*) FROM {ours}").fetchone()[0] > 0, table
        # The predecessor's monitoring query shape: frames joined to their session through version.
        name, blob = db.execute(
            "SELECT d.session_name, f.GPSPosition FROM frame f"
            " JOIN version v ON v.doi = f.version_doi JOIN deposit d ON d.doi = v.deposit_doi"
            " WHERE f.GPSPosition IS NOT NULL ORDER BY f.id LIMIT 1"
        ).fetchone()
        expected = populated_con.execute(
            "SELECT d.session_name, f.longitude, f.latitude FROM frame f JOIN version v USING (record_id)"
            " JOIN deposit d USING (concept_recid) WHERE f.geom IS NOT NULL ORDER BY f.id LIMIT 1").fetchone()
        assert (name, *_point(blob)) == expected
        assert db.execute("SELECT session_date, alpha3_country_code FROM deposit LIMIT 1").fetchone()[0][4] == "-"
        assert db.execute("SELECT count(*) FROM etl_runs").fetchone()[0] == 1


def test_polygon_blobs_carry_their_bounds() -> None:
    polygon = shapely.box(55.2, -21.2, 55.3, -21.1)
    blob = spatialite_blob(shapely.to_wkb(polygon))
    assert struct.unpack_from("<4d", blob, 6) == polygon.bounds
    assert struct.unpack_from("<i", blob, 39)[0] == 3 and blob[-1] == 0xFE
