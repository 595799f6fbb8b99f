"""Everything the Atlas publishes: the predecessor's four tables (CSV + Parquet), GeoParquet layers,
a styled GeoPackage and the Darwin Core archive.

Tables are written by DuckDB COPY with an explicit ORDER BY, so unchanged content gives identical
bytes; the GeoPackage carries GDAL timestamps and is the exception.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import duckdb
import pyarrow as pa
import pyogrio

from zenodo_atlas.atlas.connection import sql_identifier, sql_string
from zenodo_atlas.atlas.darwincore import write_dwca
from zenodo_atlas.atlas.query import FrameQuery, run_query

GEOPACKAGE = "seatizen_atlas.gpkg"
DWCA = "darwincore_multilabel_annotation.zip"
_STYLE_TIME = "2024-01-01T00:00:00Z"


def _doi_url(column: str) -> str:
    return (
        f"CASE WHEN {column} IS NULL THEN NULL WHEN starts_with({column}, 'http') THEN {column}"
        f" ELSE 'https://doi.org/' || {column} END"
    )


SESSION_DOI_SQL = f"""
SELECT session_name, {_doi_url("coalesce(concept_doi, '10.5281/zenodo.' || concept_recid)")} AS session_doi,
       place, session_date AS date, country, platform, have_raw AS raw_data, have_processed AS processed_data
FROM deposit ORDER BY session_name
"""

METADATA_IMAGES_SQL = f"""
SELECT f.original_file_name AS OriginalFileName, f.file_name AS FileName, f.relative_file_path,
       {_doi_url("v.doi")} AS frames_doi, f.latitude AS GPSLatitude, f.longitude AS GPSLongitude,
       f.altitude AS GPSAltitude, f.roll AS GPSRoll, f.pitch AS GPSPitch, f.track AS GPSTrack,
       f.datetime_utc AS GPSDatetime, f.fix AS GPSFix
FROM frame AS f JOIN version AS v ON v.record_id = f.record_id
ORDER BY f.file_name, f.record_id
"""

FRAMES_GEO_SQL = """
SELECT f.id, f.file_name, f.relative_file_path, session_name, platform, version_doi AS frame_doi,
       f.datetime_utc, CAST(f.fix AS SMALLINT) AS fix, f.altitude, geom
FROM v_frame AS f WHERE geom IS NOT NULL ORDER BY f.id
"""

DEPOSITS_GEO_SQL = """
SELECT concept_recid, session_name, session_date, country, place, platform, have_raw, have_processed,
       footprint AS geom
FROM deposit WHERE footprint IS NOT NULL ORDER BY session_name
"""

TRACKS_GEO_SQL = "SELECT * FROM v_deposit_linestring ORDER BY session_name"


def _copy(con: duckdb.DuckDBPyConnection, sql: str, stem: Path) -> list[Path]:
    csv_path, parquet_path = stem.with_suffix(".csv"), stem.with_suffix(".parquet")
    con.execute(f"COPY ({sql}) TO {sql_string(csv_path)} (FORMAT csv, HEADER true)")
    con.execute(f"COPY ({sql}) TO {sql_string(parquet_path)} (FORMAT parquet)")
    return [csv_path, parquet_path]


def predictions_sql(con: duckdb.DuckDBPyConnection) -> tuple[str, pa.Table]:
    """Thresholded predictions of the latest model, one boolean column per class."""
    table = run_query(con, FrameQuery(mode="presence"))
    classes = table.column_names[table.column_names.index("prediction_doi") + 1 :]
    columns = ", ".join(sql_identifier(c) for c in classes)
    sql = f"""
        SELECT file_name AS FileName, {_doi_url("frame_doi")} AS frames_doi, latitude AS GPSLatitude,
               longitude AS GPSLongitude, altitude AS GPSAltitude, roll AS GPSRoll, pitch AS GPSPitch,
               track AS GPSTrack, fix AS GPSFix, {_doi_url("prediction_doi")} AS prediction_doi
               {", " + columns if columns else ""}
        FROM _predictions WHERE prediction_doi IS NOT NULL ORDER BY FileName, frames_doi
    """
    return sql, table


def annotations_sql(con: duckdb.DuckDBPyConnection) -> str:
    """Latest annotation per frame and label, one Int8 column per label (-1 when never annotated)."""
    labels = con.execute("SELECT id, name FROM multilabel_label ORDER BY name").fetchall()
    columns = "".join(
        f", CAST(coalesce(max(value) FILTER (WHERE label_id = {i}), -1) AS TINYINT) AS {sql_identifier(n)}"
        for i, n in labels
    )
    return f"""
        WITH latest AS (
            SELECT a.frame_id, a.label_id, arg_max(a.value, (s.annotation_date, s.id)) AS value,
                   max(s.annotation_date) AS annotation_date
            FROM annotation AS a JOIN annotation_session AS s ON s.id = a.session_id
            GROUP BY a.frame_id, a.label_id
        )
        SELECT f.file_name AS FileName, {_doi_url("v.doi")} AS frame_doi, f.relative_file_path,
               max(l.annotation_date) AS annotation_date {columns}
        FROM latest AS l JOIN frame AS f ON f.id = l.frame_id JOIN version AS v ON v.record_id = f.record_id
        GROUP BY f.id, f.file_name, v.doi, f.relative_file_path
        ORDER BY f.file_name, f.id
    """


def write_geoparquet(con: duckdb.DuckDBPyConnection, sql: str, path: Path) -> Path:
    """GeoParquet 1.0 with an EPSG:4326 CRS in its `geo` metadata (DuckDB writes it from the type)."""
    con.execute(
        f"COPY (SELECT * REPLACE (CAST(geom AS GEOMETRY('EPSG:4326')) AS geom) FROM ({sql})) "
        f"TO {sql_string(path)} (FORMAT parquet)"
    )
    return path


def _arrow_layer(con: duckdb.DuckDBPyConnection, sql: str) -> pa.Table:
    return con.execute(f"SELECT * REPLACE (ST_AsWKB(geom) AS geom) FROM ({sql})").to_arrow_table()


def write_geopackage(con: duckdb.DuckDBPyConnection, path: Path) -> Path:
    """EPSG:4326 layers deposits, linestrings and frames, plus QGIS `layer_styles` so it opens styled."""
    path.unlink(missing_ok=True)
    layers = [
        ("deposits", DEPOSITS_GEO_SQL, "Polygon"),
        ("linestrings", TRACKS_GEO_SQL, "LineString"),
        ("frames", FRAMES_GEO_SQL, "Point"),
    ]
    for layer, sql, geometry_type in layers:
        pyogrio.write_arrow(
            _arrow_layer(con, sql), path, layer=layer, driver="GPKG", geometry_name="geom",
            geometry_type=geometry_type, crs="EPSG:4326", append=path.exists(),
        )
    styles = con.execute(
        "SELECT layer, geometry_column, style_name, description, style_qml FROM layer_styles ORDER BY layer"
    ).fetchall()
    with sqlite3.connect(path) as gpkg:
        gpkg.execute(
            "CREATE TABLE layer_styles (id INTEGER PRIMARY KEY AUTOINCREMENT, f_table_catalog TEXT(256),"
            " f_table_schema TEXT(256), f_table_name TEXT(256), f_geometry_column TEXT(256), styleName TEXT(30),"
            " styleQML TEXT, styleSLD TEXT, useAsDefault BOOLEAN, description TEXT, owner TEXT(30), ui TEXT(30),"
            " update_time DATETIME DEFAULT CURRENT_TIMESTAMP)"
        )
        gpkg.executemany(
            "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, f_geometry_column,"
            " styleName, styleQML, styleSLD, useAsDefault, description, owner, update_time)"
            " VALUES ('', '', ?, ?, ?, ?, '', 1, ?, '', ?)",
            [(layer, column, name, qml, description, _STYLE_TIME) for layer, column, name, description, qml in styles],
        )
        gpkg.execute(
            "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, last_change)"
            " VALUES ('layer_styles', 'attributes', 'layer_styles', 'QGIS layer styles', ?)",
            [_STYLE_TIME],
        )
    return path


def export_all(con: duckdb.DuckDBPyConnection, out_dir: Path) -> list[Path]:
    """Write every export into `out_dir` and return the paths written."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = _copy(con, SESSION_DOI_SQL, out_dir / "session_doi")
    written += _copy(con, METADATA_IMAGES_SQL, out_dir / "metadata_images")
    sql, predictions = predictions_sql(con)
    con.register("_predictions", predictions)
    try:
        written += _copy(con, sql, out_dir / "metadata_multilabel_predictions")
    finally:
        con.unregister("_predictions")
    written += _copy(con, annotations_sql(con), out_dir / "metadata_multilabel_annotation")
    written.append(write_geoparquet(con, FRAMES_GEO_SQL, out_dir / "frames.geoparquet"))
    written.append(write_geoparquet(con, DEPOSITS_GEO_SQL, out_dir / "deposits.geoparquet"))
    written.append(write_geoparquet(con, TRACKS_GEO_SQL, out_dir / "linestrings.geoparquet"))
    written.append(write_geopackage(con, out_dir / GEOPACKAGE))
    written.append(write_dwca(con, out_dir / DWCA))
    return written
