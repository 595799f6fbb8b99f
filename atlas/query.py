"""Frame queries: which frames lie in an area, a date range and platforms, with their class scores.

The area filter goes through the spatial index (`spatial_index`): versions whose extent meets the
area, then their frames; the geometry is validated and re-serialised by shapely before it reaches SQL.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any, Literal

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import shapely
import shapely.ops
from pydantic import BaseModel, Field, field_validator, model_validator
from shapely.geometry import shape

from zenodo_atlas.atlas.connection import fetch_row, sql_identifier, sql_string
from zenodo_atlas.atlas.errors import QueryError

FRAME_COLUMNS = (
    "file_name", "original_file_name", "relative_file_path", "session_name", "platform", "frame_doi",
    "latitude", "longitude", "altitude", "pitch", "roll", "track", "datetime_utc", "fix", "prediction_doi",
)


class FrameQuery(BaseModel):
    polygon: str | None = Field(default=None, description="area as WKT (lon lat, EPSG:4326)")
    geojson: dict[str, Any] | None = Field(default=None, description="area as a GeoJSON geometry or feature")
    date_from: date | None = None
    date_to: date | None = None
    platforms: list[str] = Field(default_factory=list)
    model: str | None = Field(default=None, description="model name; default the latest one")
    classes: list[str] = Field(default_factory=list, description="class names; empty for all")
    mode: Literal["score", "presence"] = "score"

    @field_validator("platforms")
    @classmethod
    def _upper(cls, value: list[str]) -> list[str]:
        return [p.strip().upper() for p in value]

    @model_validator(mode="after")
    def _one_area(self) -> FrameQuery:
        if self.polygon and self.geojson:
            raise ValueError("give the area as WKT or as GeoJSON, not both")
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError(f"--from {self.date_from} is after --to {self.date_to}; swap them")
        return self

    def area_wkt(self) -> str | None:
        """The area as validated WKT, or None when the query has no area."""
        if not self.polygon and not self.geojson:
            return None
        try:
            geometry = shapely.from_wkt(self.polygon) if self.polygon else _geojson_geometry(self.geojson)
        except (shapely.errors.GEOSException, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise QueryError(f"The area is not a readable geometry ({exc}); give a WKT or GeoJSON polygon.") from exc
        if geometry.geom_type not in ("Polygon", "MultiPolygon") or geometry.is_empty:
            raise QueryError(f"The area must be a Polygon or MultiPolygon, got {geometry.geom_type}.")
        if not geometry.is_valid:
            raise QueryError(f"The area polygon is invalid ({shapely.is_valid_reason(geometry)}); fix its rings.")
        return geometry.wkt


def _geojson_geometry(data: dict[str, Any] | None) -> shapely.Geometry:
    data = data or {}
    if data.get("type") == "FeatureCollection":
        return shapely.union_all([shape(f["geometry"]) for f in data["features"]])
    if data.get("type") == "Feature":
        return shape(data["geometry"])
    return shape(data)


def _resolve_classes(con: duckdb.DuckDBPyConnection, query: FrameQuery) -> list[tuple[int, str, float]]:
    models = dict(con.execute("SELECT name, id FROM multilabel_model ORDER BY id").fetchall())
    if not models:
        return []
    name = query.model or list(models)[-1]
    if name not in models:
        raise QueryError(f"Unknown model {name!r}; the Atlas knows {', '.join(models)}.")
    known = con.execute(
        "SELECT id, name, threshold FROM multilabel_class WHERE model_id = ? ORDER BY name", [models[name]]
    ).fetchall()
    if not query.classes:
        return known
    by_name = {row[1]: row for row in known}
    unknown = [c for c in query.classes if c not in by_name]
    if unknown:
        raise QueryError(f"Unknown class(es) {', '.join(unknown)} for model {name}; known: {', '.join(by_name)}.")
    return [by_name[c] for c in query.classes]


def area_filter(area_wkt: str, frame: str = "f") -> str:
    """SQL condition: the frame (table alias `frame`) lies in the area (validated WKT).

    The versions whose extent meets the area come first (a few rows per session), so the frame scan
    reads only their row groups.
    """
    area = f"ST_GeomFromText({sql_string(area_wkt)})"
    return (
        f"{frame}.record_id IN (SELECT record_id FROM version WHERE min_lon IS NOT NULL"
        f" AND ST_Intersects(ST_MakeEnvelope(min_lon, min_lat, max_lon, max_lat), {area}))"
        f" AND ST_Intersects({frame}.geom, {area})"
    )


def query_sql(con: duckdb.DuckDBPyConnection, query: FrameQuery) -> tuple[str, dict[str, object]]:
    """The SQL and parameters `run_query` executes (exposed for EXPLAIN in benches and tests)."""
    area = query.area_wkt()
    classes = _resolve_classes(con, query)
    where: list[str] = ["TRUE"]
    params: dict[str, object] = {}
    if area:
        where.append(area_filter(area))
    if query.date_from:
        where.append("coalesce(CAST(f.datetime_utc AS DATE), d.session_date) >= $date_from")
        params["date_from"] = query.date_from
    if query.date_to:
        where.append("coalesce(CAST(f.datetime_utc AS DATE), d.session_date) <= $date_to")
        params["date_to"] = query.date_to
    if query.platforms:
        where.append("list_contains($platforms, d.platform)")
        params["platforms"] = query.platforms
    class_ids = ", ".join(str(c[0]) for c in classes) or "NULL"
    pivots = "".join(f", arg_max(p.score, p.record_id) FILTER (WHERE p.class_id = {c[0]}) AS c{c[0]}" for c in classes)
    if query.mode == "presence":
        outputs = "".join(f", (pr.c{i} >= {threshold!r}) AS {sql_identifier(n)}" for i, n, threshold in classes)
    else:
        outputs = "".join(f", pr.c{i} AS {sql_identifier(n)}" for i, n, _ in classes)
    sql = f"""
        WITH sel AS (
            SELECT f.id, f.file_name, f.original_file_name, f.relative_file_path, d.session_name, d.platform,
                   v.doi AS frame_doi, f.latitude, f.longitude, f.altitude, f.pitch, f.roll, f.track,
                   f.datetime_utc, f.fix
            FROM frame AS f
            JOIN version AS v ON v.record_id = f.record_id
            JOIN deposit AS d ON d.concept_recid = v.concept_recid
            WHERE {" AND ".join(where)}
        ),
        pr AS (
            SELECT p.frame_id, max(p.record_id) AS prediction_record {pivots}
            FROM multilabel_prediction AS p
            WHERE p.class_id IN ({class_ids}) AND p.frame_id IN (SELECT id FROM sel)
            GROUP BY p.frame_id
        )
        SELECT sel.* EXCLUDE (id), pv.doi AS prediction_doi {outputs}
        FROM sel
        LEFT JOIN pr ON pr.frame_id = sel.id
        LEFT JOIN version AS pv ON pv.record_id = pr.prediction_record
        ORDER BY sel.id
    """
    return sql, params


def run_query(con: duckdb.DuckDBPyConnection, query: FrameQuery) -> pa.Table:
    """Matching frames (FRAME_COLUMNS) plus one column per class: the score, or score >= threshold."""
    sql, params = query_sql(con, query)
    return con.execute(sql, params).to_arrow_table()


def empty_result_hints(con: duckdb.DuckDBPyConnection, query: FrameQuery) -> list[str]:
    """Why a query found no frame, when a filter matches nothing the Atlas holds (typos, swapped axes)."""
    hints: list[str] = []
    known = [r[0] for r in con.execute("SELECT DISTINCT platform FROM deposit ORDER BY 1").fetchall() if r[0]]
    unknown = [p for p in query.platforms if p not in known]
    if unknown:
        hints.append(f"no session has platform {', '.join(unknown)}; the Atlas holds {', '.join(known) or 'none'}")
    area = query.area_wkt()
    if area:
        swapped = shapely.ops.transform(lambda x, y: (y, x), shapely.from_wkt(area))
        here, there = (
            fetch_row(con, f"SELECT count(*) FROM frame AS f WHERE {area_filter(wkt)}")[0]
            for wkt in (area, swapped.wkt)
        )
        if not here and there:
            hints.append("the area holds no frame but does with latitude and longitude swapped: "
                         "WKT and GeoJSON take longitude first (lon lat)")
    if query.date_from or query.date_to:
        first, last = fetch_row(
            con,
            "SELECT min(coalesce(CAST(f.datetime_utc AS DATE), d.session_date)), "
            "max(coalesce(CAST(f.datetime_utc AS DATE), d.session_date)) FROM frame AS f "
            "JOIN version AS v ON v.record_id = f.record_id JOIN deposit AS d ON d.concept_recid = v.concept_recid",
        )
        if first and ((query.date_to and query.date_to < first) or (query.date_from and query.date_from > last)):
            hints.append(f"the Atlas holds frames from {first} to {last} only")
    return hints


def output_suffix(path: Path) -> str:
    """The output format of a query by file extension; anything else is refused before querying."""
    suffix = Path(path).suffix.lower()
    if suffix not in (".csv", ".parquet", ".geojson"):
        raise QueryError(f"Cannot write {Path(path).name}: use a .csv, .parquet or .geojson output file.")
    return suffix


def _geojson_value(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def write_table(table: pa.Table, path: Path) -> Path:
    """Write query results by extension: .csv, .parquet, or .geojson (points from longitude/latitude)."""
    path = Path(path)
    suffix = output_suffix(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".csv":
        pacsv.write_csv(table, path)
    elif suffix == ".parquet":
        pq.write_table(table, path)
    else:
        features = []
        for row in table.to_pylist():
            lon, lat = row.get("longitude"), row.get("latitude")
            geometry = {"type": "Point", "coordinates": [lon, lat]} if lon is not None and lat is not None else None
            properties = {k: _geojson_value(v) for k, v in row.items()}
            features.append({"type": "Feature", "geometry": geometry, "properties": properties})
        path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    return path
