import json
from datetime import date
from pathlib import Path

import duckdb
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
import shapely

from tests.fixtures.atlas import PopulatedAtlas
from zenodo_atlas.atlas.errors import QueryError
from zenodo_atlas.atlas.query import FRAME_COLUMNS, FrameQuery, run_query, write_table


def test_no_filter_returns_every_frame_with_every_class(populated_con: duckdb.DuckDBPyConnection) -> None:
    table = run_query(populated_con, FrameQuery())
    assert table.num_rows == populated_con.execute("SELECT count(*) FROM frame").fetchone()[0]
    assert table.column_names[: len(FRAME_COLUMNS)] == list(FRAME_COLUMNS)
    assert len(table.column_names) == len(FRAME_COLUMNS) + 31


def test_polygon_filter(populated_con: duckdb.DuckDBPyConnection) -> None:
    points = populated_con.execute("SELECT longitude, latitude FROM frame").fetchall()
    lons = sorted(p[0] for p in points)
    middle = lons[len(lons) // 2]
    lats = [p[1] for p in points]
    west = shapely.box(min(lons) - 1e-6, min(lats) - 1e-6, middle, max(lats) + 1e-6)
    table = run_query(populated_con, FrameQuery(polygon=west.wkt, classes=["Sand"]))
    expected = sum(1 for lon, lat in points if west.intersects(shapely.Point(lon, lat)))
    assert 0 < table.num_rows == expected < len(points)
    assert max(table.column("longitude").to_pylist()) <= middle


def test_geojson_feature_collection_as_area(populated_con: duckdb.DuckDBPyConnection) -> None:
    lon, lat = populated_con.execute("SELECT longitude, latitude FROM frame ORDER BY id LIMIT 1").fetchone()
    square = shapely.box(lon - 1e-7, lat - 1e-7, lon + 1e-7, lat + 1e-7)
    collection = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": shapely.geometry.mapping(square)}
    ]}
    table = run_query(populated_con, FrameQuery(geojson=collection))
    assert table.column("latitude").to_pylist() == [lat]


def test_date_and_platform_filters(populated_con: duckdb.DuckDBPyConnection, populated_atlas: PopulatedAtlas) -> None:
    uav_frames = populated_con.execute("SELECT count(*) FROM v_frame WHERE platform = 'UAV'").fetchone()[0]
    by_date = run_query(populated_con, FrameQuery(date_from=date(2024, 1, 1)))
    assert set(by_date.column("platform").to_pylist()) == {"UAV"} and by_date.num_rows == uav_frames
    until = run_query(populated_con, FrameQuery(date_to=date(2023, 12, 31)))
    assert set(until.column("session_name").to_pylist()) == {populated_atlas.sessions["ASV"][0].name}
    by_platform = run_query(populated_con, FrameQuery(platforms=["uav"]))
    assert by_platform.num_rows == uav_frames
    assert run_query(populated_con, FrameQuery(platforms=["AUV"])).num_rows == 0
    assert run_query(populated_con, FrameQuery(date_from=date(2023, 10, 22), date_to=date(2024, 2, 1))).num_rows == 0


def test_class_scores_and_presence(populated_con: duckdb.DuckDBPyConnection) -> None:
    scores = run_query(populated_con, FrameQuery(classes=["Sand", "Fish"]))
    presence = run_query(populated_con, FrameQuery(classes=["Sand", "Fish"], mode="presence"))
    assert scores.column_names[-2:] == presence.column_names[-2:] == ["Sand", "Fish"]
    thresholds = dict(populated_con.execute("SELECT name, threshold FROM multilabel_class").fetchall())
    for name in ("Sand", "Fish"):
        values = scores.column(name).to_pylist()
        assert all(v is not None for v in values)
        assert presence.column(name).to_pylist() == [v >= thresholds[name] for v in values]
    assert set(scores.column("prediction_doi").to_pylist()) == {"10.5281/zenodo.1002", "10.5281/zenodo.2002"}


def test_bad_queries_say_what_is_wrong(populated_con: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(QueryError, match="Unknown model 'Nope'"):
        run_query(populated_con, FrameQuery(model="Nope"))
    with pytest.raises(QueryError, match="Unknown class"):
        run_query(populated_con, FrameQuery(classes=["Unicorn"]))
    with pytest.raises(QueryError, match="not a readable geometry"):
        run_query(populated_con, FrameQuery(polygon="POLYGON((0 0, 1 1"))
    with pytest.raises(QueryError, match="must be a Polygon"):
        run_query(populated_con, FrameQuery(polygon="POINT (55 -21)"))
    with pytest.raises(QueryError, match="invalid"):
        run_query(populated_con, FrameQuery(polygon="POLYGON((0 0, 1 1, 1 0, 0 1, 0 0))"))
    with pytest.raises(ValueError, match="not both"):
        FrameQuery(polygon="POLYGON((0 0, 1 0, 1 1, 0 0))", geojson={"type": "Point", "coordinates": [0, 0]})
    with pytest.raises(ValueError, match="after --to"):
        FrameQuery(date_from=date(2024, 1, 2), date_to=date(2024, 1, 1))


def test_write_table_by_extension(populated_con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    table = run_query(populated_con, FrameQuery(classes=["Sand"]))
    assert pacsv.read_csv(write_table(table, tmp_path / "q.csv")).num_rows == table.num_rows
    assert pq.read_table(write_table(table, tmp_path / "q.parquet")).equals(table)
    collection = json.loads(write_table(table, tmp_path / "out" / "q.geojson").read_text())
    first = collection["features"][0]
    assert len(collection["features"]) == table.num_rows
    first_row = table.slice(0, 1).to_pylist()[0]
    assert first["geometry"]["coordinates"] == [first_row["longitude"], first_row["latitude"]]
    assert first["properties"]["Sand"] == table.column("Sand")[0].as_py()
    with pytest.raises(QueryError, match=r"\.csv, \.parquet or \.geojson"):
        write_table(table, tmp_path / "q.xlsx")
