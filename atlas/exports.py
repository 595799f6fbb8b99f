"""Everything the Atlas publishes: the predecessor's four tables (CSV + Parquet), GeoParquet layers,
a styled GeoPackage, the Darwin Core archive, an interactive HTML map and a PNG overview.

Tables are written with an explicit ORDER BY and pinned timestamps, so unchanged content gives
identical bytes. Every time is UTC and says so; CSV files keep the predecessor's column names (consumers
read them), Parquet files say `frame_doi` and null where the CSV has -1.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import duckdb
import geopandas as gpd
import pyarrow as pa
import pyogrio
import shapely

from zenodo_atlas.atlas.annotations import LATEST_ANNOTATION_SQL
from zenodo_atlas.atlas.connection import sql_identifier, sql_string
from zenodo_atlas.atlas.darwincore import write_dwca
from zenodo_atlas.atlas.maps import MAP_HTML, OVERVIEW_PNG, write_map_html, write_overview_png
from zenodo_atlas.atlas.query import FrameQuery, run_query

GEOPACKAGE = "seatizen_atlas.gpkg"
DWCA = "darwincore_multilabel_annotation.zip"
_STYLE_TIME = "2024-01-01T00:00:00Z"  # pinned: unchanged content gives identical files


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


def _timestamp_columns(con: duckdb.DuckDBPyConnection, sql: str) -> list[str]:
    return [name for name, kind, *_ in con.execute(f"DESCRIBE {sql}").fetchall() if kind.startswith("TIMESTAMP")]


def _utc_select(con: duckdb.DuckDBPyConnection, sql: str, *, as_text: bool) -> str:
    """Atlas timestamps are naive UTC: say so, as `...Z` text (CSV) or as tz-aware UTC values (Parquet)."""
    columns = _timestamp_columns(con, sql)
    if not columns:
        return sql
    if as_text:
        replaced = ", ".join(
            f"strftime({sql_identifier(c)}, '%Y-%m-%dT%H:%M:%S.%gZ') AS {sql_identifier(c)}" for c in columns
        )
    else:
        replaced = ", ".join(f"timezone('UTC', {sql_identifier(c)}) AS {sql_identifier(c)}" for c in columns)
    return f"SELECT * REPLACE ({replaced}) FROM ({sql})"


def _copy(
    con: duckdb.DuckDBPyConnection, sql: str, stem: Path, *, parquet_sql: str | None = None,
    renames: dict[str, str] | None = None,
) -> list[Path]:
    """The predecessor's table as CSV (its column names, `...Z` times) and as ZSTD Parquet (tz-aware UTC
    times, `renames` applied so every Parquet file says `frame_doi`; `parquet_sql` where nulls replace the
    CSV's -1 sentinels)."""
    csv_path, parquet_path = stem.with_suffix(".csv"), stem.with_suffix(".parquet")
    con.execute(f"COPY ({_utc_select(con, sql, as_text=True)}) TO {sql_string(csv_path)} (FORMAT csv, HEADER true)")
    parquet = _utc_select(con, parquet_sql or sql, as_text=False)
    if renames:
        pairs = ", ".join(f"{sql_identifier(a)} AS {sql_identifier(b)}" for a, b in renames.items())
        parquet = f"SELECT * RENAME ({pairs}) FROM ({parquet})"
    con.execute(f"COPY ({parquet}) TO {sql_string(parquet_path)} (FORMAT parquet, COMPRESSION zstd)")
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


def annotations_sql(con: duckdb.DuckDBPyConnection, *, unset: int | None = -1) -> str:
    """Latest annotation per frame and label, one Int8 column per label; `unset` where never annotated
    (the predecessor's CSV says -1, Parquet says null)."""
    labels = con.execute("SELECT id, name FROM multilabel_label ORDER BY name").fetchall()
    default = "NULL" if unset is None else str(unset)
    columns = "".join(
        f", CAST(coalesce(max(value) FILTER (WHERE label_id = {i}), {default}) AS TINYINT) AS {sql_identifier(n)}"
        for i, n in labels
    )
    return f"""
        WITH latest AS ({LATEST_ANNOTATION_SQL})
        SELECT f.file_name AS FileName, {_doi_url("v.doi")} AS frame_doi, f.relative_file_path,
               max(l.annotation_date) AS annotation_date {columns}
        FROM latest AS l JOIN frame AS f ON f.id = l.frame_id JOIN version AS v ON v.record_id = f.record_id
        GROUP BY f.id, f.file_name, v.doi, f.relative_file_path
        ORDER BY f.file_name, f.id
    """


def _layer_table(con: duckdb.DuckDBPyConnection, sql: str) -> pa.Table:
    """A layer as Arrow: WKB geometry with counter-clockwise outer rings (OGC/GeoPackage, GeoJSON RFC 7946
    orientation), tz-aware UTC times."""
    table = con.execute(
        f"SELECT * REPLACE (ST_AsWKB(geom) AS geom) FROM ({_utc_select(con, sql, as_text=False)})"
    ).to_arrow_table()
    index = table.column_names.index("geom")
    geoms = shapely.orient_polygons(shapely.from_wkb(table.column("geom").to_numpy(zero_copy_only=False)))
    return table.set_column(index, "geom", pa.array(shapely.to_wkb(geoms), type=pa.binary()))


def frames_layer(con: duckdb.DuckDBPyConnection, presence: pa.Table) -> pa.Table:
    """Frames with one boolean column per class of the latest model (score >= threshold), so a GIS user
    filters frames by class."""
    frames = _layer_table(con, FRAMES_GEO_SQL)
    classes = presence.column_names[presence.column_names.index("prediction_doi") + 1 :]
    con.register("_frames", frames)
    con.register("_presence", presence)
    try:
        columns = "".join(f", p.{sql_identifier(c)}" for c in classes)
        return con.execute(
            f"""SELECT f.* EXCLUDE (id) REPLACE ({_doi_url("f.frame_doi")} AS frame_doi),
                       {_doi_url("p.prediction_doi")} AS prediction_doi {columns}
                FROM _frames AS f LEFT JOIN _presence AS p
                  ON p.file_name = f.file_name AND p.frame_doi IS NOT DISTINCT FROM f.frame_doi
                ORDER BY f.id"""
        ).to_arrow_table()
    finally:
        con.unregister("_frames")
        con.unregister("_presence")


def write_geoparquet(table: pa.Table, path: Path) -> Path:
    """GeoParquet 1.1 (EPSG:4326) with a `bbox` covering column and ZSTD, so readers filter row groups
    remotely; the name ends in `.parquet` as the specification recommends."""
    frame = gpd.GeoDataFrame(
        table.drop(["geom"]).to_pandas(), geometry=shapely.from_wkb(table.column("geom").to_numpy(False)),
        crs="EPSG:4326",
    ).rename_geometry("geom")
    frame.to_parquet(path, compression="zstd", schema_version="1.1.0", write_covering_bbox=True, index=False)
    return path


LAYERS: dict[str, tuple[str, str]] = {
    "deposits": ("Polygon", "Session footprints: convex hull of each session's GPS positions, one per session."),
    "linestrings": ("LineString", "Simplified survey tracks, one per session."),
    "frames": ("Point", "Georeferenced frames with the latest model's class presence (score >= threshold)."),
}

ALIASES: dict[str, str] = {
    "concept_recid": "Zenodo concept record", "session_name": "Session", "session_date": "Session date",
    "country": "Country", "place": "Place", "platform": "Platform", "have_raw": "Raw data published",
    "have_processed": "Processed data published", "file_name": "Frame file", "relative_file_path": "Path in session",
    "frame_doi": "Frame DOI (version holding its metadata)", "datetime_utc": "Time (UTC)", "fix": "GPS fix quality",
    "altitude": "GPS altitude (m)", "prediction_doi": "Prediction DOI",
}


def _gpkg_time(moment: str) -> str:
    """GeoPackage timestamps with milliseconds (validate_gpkg.py Req 15): YYYY-MM-DDTHH:MM:SS.SSSZ."""
    return f"{moment[:19]}.000Z"


def write_geopackage(con: duckdb.DuckDBPyConnection, path: Path, layers: dict[str, pa.Table]) -> Path:
    """GeoPackage 1.2 (GDAL 3.6 / QGIS 3.22 warn on 1.4) with layer descriptions, field aliases
    (gpkg_data_columns, read by GDAL as alternative names) and QGIS `layer_styles` so it opens styled.
    Timestamps are pinned (OGR_CURRENT_DATE) so unchanged content gives identical bytes."""
    path.unlink(missing_ok=True)
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": _gpkg_time(_STYLE_TIME)})
    try:
        for layer, (geometry_type, description) in LAYERS.items():
            pyogrio.write_arrow(
                layers[layer], path, layer=layer, driver="GPKG", geometry_name="geom", geometry_type=geometry_type,
                crs="EPSG:4326", append=path.exists(), dataset_options={"VERSION": "1.2"},
                layer_options={"DESCRIPTION": description, "IDENTIFIER": layer},
            )
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": None})
    styles = con.execute(
        "SELECT layer, geometry_column, style_name, description, style_qml FROM layer_styles ORDER BY layer"
    ).fetchall()
    stamp = _gpkg_time(_STYLE_TIME)
    with sqlite3.connect(path) as gpkg:
        gpkg.execute(
            "CREATE TABLE layer_styles (id INTEGER PRIMARY KEY AUTOINCREMENT, f_table_catalog TEXT(256),"
            " f_table_schema TEXT(256), f_table_name TEXT(256), f_geometry_column TEXT(256), styleName TEXT(30),"
            " styleQML TEXT, styleSLD TEXT, useAsDefault BOOLEAN, description TEXT, owner TEXT(30), ui TEXT(30),"
            " update_time DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')))"
        )
        gpkg.executemany(
            "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, f_geometry_column,"
            " styleName, styleQML, styleSLD, useAsDefault, description, owner, update_time)"
            " VALUES ('', '', ?, ?, ?, ?, '', 1, ?, '', ?)",
            [(layer, column, name, qml, description, stamp) for layer, column, name, description, qml in styles],
        )
        gpkg.execute(
            "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, last_change)"
            " VALUES ('layer_styles', 'attributes', 'layer_styles', 'QGIS layer styles', ?)",
            [stamp],
        )
        gpkg.execute(
            "CREATE TABLE IF NOT EXISTS gpkg_data_columns (table_name TEXT NOT NULL, column_name TEXT NOT NULL,"
            " name TEXT, title TEXT, description TEXT, mime_type TEXT, constraint_name TEXT,"
            " CONSTRAINT pk_gdc PRIMARY KEY (table_name, column_name),"
            " CONSTRAINT gdc_tn UNIQUE (table_name, name))"
        )
        gpkg.executemany(
            "INSERT INTO gpkg_data_columns (table_name, column_name, name, title) VALUES (?, ?, ?, ?)",
            [(layer, column, ALIASES[column], ALIASES[column])
             for layer, table in layers.items() for column in table.column_names if column in ALIASES],
        )
        gpkg.execute(
            "INSERT OR IGNORE INTO gpkg_extensions (table_name, column_name, extension_name, definition, scope)"
            " VALUES ('gpkg_data_columns', NULL, 'gpkg_schema', 'http://www.geopackage.org/spec/#extension_schema',"
            " 'read-write')"
        )
    return path


def export_all(con: duckdb.DuckDBPyConnection, out_dir: Path, *, zenodo_url: str = "https://zenodo.org") -> list[Path]:
    """Write every export into `out_dir` and return the paths written; `zenodo_url` is the site the
    Darwin Core image links point to."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    doi = {"frames_doi": "frame_doi"}
    written = _copy(con, SESSION_DOI_SQL, out_dir / "session_doi")
    written += _copy(con, METADATA_IMAGES_SQL, out_dir / "metadata_images", renames=doi)
    sql, predictions = predictions_sql(con)
    con.register("_predictions", predictions)
    try:
        written += _copy(con, sql, out_dir / "metadata_multilabel_predictions", renames=doi)
    finally:
        con.unregister("_predictions")
    written += _copy(con, annotations_sql(con), out_dir / "metadata_multilabel_annotation",
                     parquet_sql=annotations_sql(con, unset=None))
    layers = {
        "deposits": _layer_table(con, DEPOSITS_GEO_SQL),
        "linestrings": _layer_table(con, TRACKS_GEO_SQL),
        "frames": frames_layer(con, predictions),
    }
    written += [write_geoparquet(table, out_dir / f"{name}.parquet") for name, table in layers.items()]
    written.append(write_geopackage(con, out_dir / GEOPACKAGE, layers))
    written.append(write_dwca(con, out_dir / DWCA, zenodo_url=zenodo_url))
    written.append(write_map_html(con, out_dir / MAP_HTML))
    written.append(write_overview_png(con, out_dir / OVERVIEW_PNG))
    return written
