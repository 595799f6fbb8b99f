"""`seatizen_atlas_db.gpkg`: the Atlas in the predecessor's own SQLite schema, for its readers.

The predecessor's manager (it downloads this file to start from the published Atlas) and the public
monitoring dashboard open it with SpatiaLite and query its table and column names; they keep working
when zenodo-atlas publishes the Atlas. Table and column names, the GeoPackage header tables and the
SpatiaLite geometry blobs (written by the predecessor with `ST_GeomFromText(?)`, SRID 0) follow
SeatizenDOI/zenodo-tools, src/sql_connector/00_base_database.sql and 05_add_metadata_table.sql.
Derived columns the predecessor computes (session_date, country code, place, platform) are
generated columns here too.
"""

from __future__ import annotations

import sqlite3
import struct
from collections.abc import Iterable
from pathlib import Path

import duckdb
import shapely

from zenodo_atlas.atlas.etl import last_run

LEGACY_DB = "seatizen_atlas_db.gpkg"
_GPKG_APPLICATION_ID = 0x47504B47
_GPKG_USER_VERSION = 10300
_CLASS = {"Point": 1, "LineString": 2, "Polygon": 3}

_SCHEMA = """
CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT NOT NULL, srs_id INTEGER NOT NULL PRIMARY KEY,
    organization TEXT NOT NULL, organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL,
    description TEXT);
INSERT INTO gpkg_spatial_ref_sys VALUES
 ('WGS 84', 4326, 'EPSG', 4326, 'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563]],'
  || 'PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]]', 'World Geodetic System 1984'),
 ('undefined Cartesian coordinate', -1, 'NONE', -1, 'undefined', 'undefined Cartesian coordinate reference systems'),
 ('undefined geographic coordinate', 0, 'NONE', 0, 'undefined', 'undefined geographic coordinate reference systems');
CREATE TABLE gpkg_contents (table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL, identifier TEXT UNIQUE,
    description TEXT DEFAULT '', last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER);
CREATE TABLE gpkg_geometry_columns (table_name TEXT NOT NULL, column_name TEXT NOT NULL,
    geometry_type_name TEXT NOT NULL, srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
    PRIMARY KEY (table_name, column_name));
INSERT INTO gpkg_geometry_columns VALUES ('deposit', 'footprint', 'POLYGON', 4326, 0, 0),
 ('deposit_linestring', 'footprint_linestring', 'LINESTRING', 4326, 0, 0),
 ('frame', 'GPSPosition', 'POINT', 4326, 0, 0);
CREATE TABLE deposit (doi TEXT NOT NULL PRIMARY KEY, session_name TEXT NOT NULL, footprint POLYGON,
    have_processed_data INTEGER NOT NULL, have_raw_data INTEGER NOT NULL,
    session_date TEXT GENERATED ALWAYS AS (SUBSTR(session_name, 1, 4) || '-' || SUBSTR(session_name, 5, 2)
        || '-' || SUBSTR(session_name, 7, 2)) VIRTUAL,
    alpha3_country_code TEXT GENERATED ALWAYS AS (SUBSTR(session_name, 10, 3)) VIRTUAL,
    location TEXT, platform_type TEXT);
CREATE TABLE deposit_linestring (id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, deposit_doi TEXT NOT NULL,
    footprint_linestring LINESTRING);
CREATE TABLE version (doi TEXT NOT NULL PRIMARY KEY, deposit_doi TEXT NOT NULL);
CREATE TABLE frame (id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, version_doi TEXT NOT NULL,
    OriginalFileName TEXT NOT NULL, filename TEXT NOT NULL, relative_file_path TEXT, GPSPosition POINT,
    GPSAltitude REAL, GPSPitch REAL, GPSRoll REAL, GPSTrack REAL, GPSDatetime DATETIME, GPSFix INTEGER);
CREATE INDEX idx_frame_id ON frame (id);
CREATE INDEX idx_filename_version_doi ON frame (filename, version_doi);
CREATE TABLE multilabel_label (id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL,
    creation_date DATETIME NOT NULL, description TEXT, id_gbif INTEGER, code_gcrmn TEXT);
CREATE TABLE multilabel_model (id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, link TEXT NOT NULL,
    doi TEXT, creation_date DATETIME NOT NULL);
CREATE TABLE multilabel_class (id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, name TEXT, threshold REAL NOT NULL,
    ml_label_id INTEGER, ml_model_id INTEGER);
CREATE TABLE multilabel_prediction (id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, score REAL NOT NULL,
    version_doi TEXT NOT NULL, frame_id INTEGER NOT NULL, ml_class_id INTEGER NOT NULL);
CREATE INDEX idx_frame_id_version_doi ON multilabel_prediction (frame_id, version_doi);
CREATE TABLE multilabel_annotation_session (id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    annotation_date DATETIME NOT NULL, dataset_name TEXT NOT NULL, author_name TEXT NOT NULL);
CREATE TABLE multilabel_annotation (id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, value TINYINT NOT NULL,
    frame_id INTEGER, ml_label_id INTEGER, ml_annotation_session_id INTEGER);
CREATE TABLE etl_runs (id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT, last_sql_script_executed INTEGER NOT NULL,
    last_zenodo_harvest_at DATETIME NOT NULL, last_version_on_zenodo TEXT NOT NULL);
"""

_DEPOSITS = """
SELECT concept_recid, session_name, ST_AsWKB(footprint), have_processed::INTEGER, have_raw::INTEGER,
       upper(place), platform FROM deposit ORDER BY concept_recid
"""
_FRAMES = """
SELECT id, record_id::VARCHAR, coalesce(original_file_name, file_name), file_name, relative_file_path,
       ST_AsWKB(geom), altitude, pitch, roll, track, strftime(datetime_utc, '%Y-%m-%d %H:%M:%S'), fix
FROM frame ORDER BY id
"""


def spatialite_blob(wkb: bytes | bytearray | None) -> bytes | None:
    """A SpatiaLite geometry BLOB (SRID 0, as `ST_GeomFromText(?)` writes) for a point, line or polygon:
    start byte, little-endian marker, SRID, MBR, 0x7C, class, the WKB body, end byte 0xFE."""
    if wkb is None:
        return None
    geometry = shapely.from_wkb(bytes(wkb))
    if geometry.is_empty or geometry.geom_type not in _CLASS:
        return None
    body = shapely.to_wkb(geometry, byte_order=1, output_dimension=2)[5:]
    min_x, min_y, max_x, max_y = geometry.bounds
    header = struct.pack("<BBi4dBi", 0x00, 0x01, 0, min_x, min_y, max_x, max_y, 0x7C, _CLASS[geometry.geom_type])
    return header + body + b"\xfe"


def _rows(con: duckdb.DuckDBPyConnection, sql: str, geometry_at: int | None = None) -> Iterable[tuple]:
    for row in con.execute(sql).fetchall():
        if geometry_at is None:
            yield row
        else:
            yield (*row[:geometry_at], spatialite_blob(row[geometry_at]), *row[geometry_at + 1:])


def write_legacy_db(con: duckdb.DuckDBPyConnection, path: Path) -> Path:
    """Write the whole Atlas into a fresh `path` in the predecessor's schema."""
    path = Path(path)
    path.unlink(missing_ok=True)
    run = last_run(con)
    with sqlite3.connect(path) as out:
        out.execute(f"PRAGMA application_id = {_GPKG_APPLICATION_ID}")
        out.execute(f"PRAGMA user_version = {_GPKG_USER_VERSION}")
        out.executescript(_SCHEMA)
        out.executemany("INSERT INTO deposit VALUES (?, ?, ?, ?, ?, ?, ?)", _rows(con, _DEPOSITS, 2))
        out.executemany(
            "INSERT INTO deposit_linestring (deposit_doi, footprint_linestring) VALUES (?, ?)",
            _rows(con, "SELECT concept_recid, ST_AsWKB(geom) FROM footprint_linestring ORDER BY 1", 1),
        )
        out.executemany("INSERT INTO version VALUES (?, ?)", con.execute(
            "SELECT record_id::VARCHAR, concept_recid FROM version ORDER BY record_id").fetchall())
        out.executemany("INSERT INTO frame VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", _rows(con, _FRAMES, 5))
        out.executemany("INSERT INTO multilabel_label VALUES (?, ?, ?, ?, ?, ?)", con.execute(
            "SELECT id, name, creation_date::VARCHAR, description, id_gbif, code_gcrmn FROM multilabel_label"
            " ORDER BY id").fetchall())
        out.executemany("INSERT INTO multilabel_model VALUES (?, ?, ?, ?, ?)", con.execute(
            "SELECT id, name, link, doi, creation_date::VARCHAR FROM multilabel_model ORDER BY id").fetchall())
        out.executemany("INSERT INTO multilabel_class VALUES (?, ?, ?, ?, ?)", con.execute(
            "SELECT id, name, threshold, label_id, model_id FROM multilabel_class ORDER BY id").fetchall())
        out.executemany(
            "INSERT INTO multilabel_prediction (score, version_doi, frame_id, ml_class_id) VALUES (?, ?, ?, ?)",
            con.execute("SELECT score, record_id::VARCHAR, frame_id, class_id FROM multilabel_prediction"
                        " ORDER BY frame_id, class_id").fetchall(),
        )
        out.executemany("INSERT INTO multilabel_annotation_session VALUES (?, ?, ?, ?)", con.execute(
            "SELECT id, strftime(annotation_date, '%Y-%m-%d %H:%M:%S'), dataset, author FROM annotation_session"
            " ORDER BY id").fetchall())
        out.executemany(
            "INSERT INTO multilabel_annotation (value, frame_id, ml_label_id, ml_annotation_session_id)"
            " VALUES (?, ?, ?, ?)",
            con.execute("SELECT value, frame_id, label_id, session_id FROM annotation"
                        " ORDER BY session_id, frame_id, label_id").fetchall(),
        )
        harvest = run.harvest_watermark if run and run.harvest_watermark else None
        out.execute(
            "INSERT INTO etl_runs (last_sql_script_executed, last_zenodo_harvest_at, last_version_on_zenodo)"
            " VALUES (5, ?, ?)",
            [(harvest.strftime("%Y-%m-%d") if harvest else "1970-01-01"),
             (run.published_version if run and run.published_version else "v0.0.0")],
        )
        out.executemany(
            "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id)"
            " VALUES (?, ?, ?, ?, 4326)",
            [("deposit", "features", "deposit", "Table with deposit Polygon as footprint"),
             ("deposit_linestring", "features", "deposit_linestring", "Table with deposit linestring as footprint"),
             ("frame", "features", "frame", "Table with frame points")],
        )
    return path
