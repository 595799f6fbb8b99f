import csv
import io
import json
import re
import sqlite3
import zipfile
from pathlib import Path

import duckdb
import geopandas as gpd
import geoparquet_validator
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pyogrio
import pytest
import shapely
from dwca.read import DwCAReader

from tests.fixtures.atlas import PopulatedAtlas
from zenodo_atlas.atlas.connection import open_atlas
from zenodo_atlas.atlas.exports import DWCA, GEOPACKAGE, export_all


@pytest.fixture(scope="module")
def exported(populated_atlas: PopulatedAtlas, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    con = open_atlas(populated_atlas.path, read_only=True)
    try:
        paths = export_all(con, tmp_path_factory.mktemp("exports"))
    finally:
        con.close()
    return {p.name: p for p in paths}


def test_predecessor_tables_as_csv_and_parquet(
    exported: dict[str, Path], populated_con: duckdb.DuckDBPyConnection
) -> None:
    stems = ("session_doi", "metadata_images", "metadata_multilabel_predictions", "metadata_multilabel_annotation")
    for stem in stems:
        from_csv = pd.read_csv(exported[f"{stem}.csv"])
        from_parquet = pq.read_table(exported[f"{stem}.parquet"]).to_pandas()
        # the CSV keeps the predecessor's column names; Parquet says frame_doi everywhere
        assert [c.replace("frames_doi", "frame_doi") for c in from_csv.columns] == list(from_parquet.columns)
        assert len(from_csv) == len(from_parquet) > 0
        assert pq.ParquetFile(exported[f"{stem}.parquet"]).metadata.row_group(0).column(0).compression == "ZSTD"
    sessions = pd.read_csv(exported["session_doi.csv"])
    assert sessions["session_doi"].tolist() == ["https://doi.org/10.5281/zenodo.1000", "https://doi.org/10.5281/zenodo.2000"]
    images = pd.read_csv(exported["metadata_images.csv"])
    assert len(images) == populated_con.execute("SELECT count(*) FROM frame").fetchone()[0]
    assert images["frames_doi"].str.startswith("https://doi.org/10.5281/zenodo.").all()
    assert pq.read_schema(exported["metadata_images.parquet"]).field("GPSFix").type == "uint8"


def test_every_timestamp_says_utc(exported: dict[str, Path]) -> None:
    images = pd.read_csv(exported["metadata_images.csv"])
    assert images["GPSDatetime"].str.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z").all()
    annotations = pd.read_csv(exported["metadata_multilabel_annotation.csv"])
    assert annotations["annotation_date"].str.endswith("Z").all()
    for name in ("metadata_images.parquet", "metadata_multilabel_annotation.parquet", "frames.parquet"):
        schema = pq.read_schema(exported[name])
        stamps = [f for f in schema if pa.types.is_timestamp(f.type)]
        assert stamps and all(f.type.tz in {"UTC", "Etc/UTC", "+00:00"} for f in stamps), name
    frames = gpd.read_file(exported[GEOPACKAGE], layer="frames")
    assert str(frames["datetime_utc"].dt.tz) == "UTC"


def test_thresholded_predictions(exported: dict[str, Path], populated_con: duckdb.DuckDBPyConnection) -> None:
    table = pq.read_table(exported["metadata_multilabel_predictions.parquet"]).to_pandas()
    assert str(table["Sand"].dtype) == "bool" and len(table.columns) == 10 + 31
    threshold = populated_con.execute("SELECT threshold FROM multilabel_class WHERE name = 'Sand'").fetchone()[0]
    name = table["FileName"].iloc[0]
    score = populated_con.execute(
        "SELECT p.score FROM multilabel_prediction p JOIN frame f ON f.id = p.frame_id "
        "JOIN multilabel_class c ON c.id = p.class_id WHERE c.name = 'Sand' AND f.file_name = ?", [name]
    ).fetchone()[0]
    assert bool(table["Sand"].iloc[0]) == (score >= threshold)


def test_annotation_table_has_one_int8_column_per_label(
    exported: dict[str, Path], populated_atlas: PopulatedAtlas
) -> None:
    table = pq.read_table(exported["metadata_multilabel_annotation.parquet"])
    assert table.schema.field("Fish").type == "int8"
    frame = table.to_pandas()
    source = pd.concat(pd.read_csv(p) for p in populated_atlas.annotations)
    assert len(frame) == source["FileName"].nunique()
    assert frame["Turf"].isna().all()  # never annotated: null in Parquet
    assert (pd.read_csv(exported["metadata_multilabel_annotation.csv"])["Turf"] == -1).all()  # -1 in the CSV
    row = frame[frame["FileName"].str.endswith(source["FileName"].iloc[0])].iloc[0]
    assert row["Acropora_Branching"] == source["Acropora_Branching"].iloc[0]
    assert row["frame_doi"].startswith("https://doi.org/")
    assert row["Sea_urchin"] == source["Sea_urchins"].iloc[0]  # old name mapped on import


def test_geoparquet_is_conformant_with_bbox_covering(exported: dict[str, Path]) -> None:
    for name, kind in (("frames.parquet", "Point"), ("deposits.parquet", "Polygon"),
                       ("linestrings.parquet", "LineString")):
        report = geoparquet_validator.check(str(exported[name]))
        assert geoparquet_validator.failed(report) == [], (name, geoparquet_validator.failed(report))
        assert geoparquet_validator.conformant(report, "covering")
        geo = json.loads(pq.read_schema(exported[name]).metadata[b"geo"])
        column = geo["columns"][geo["primary_column"]]
        assert geo["version"] == "1.1.0" and column["geometry_types"] == [kind]
        assert column["covering"]["bbox"]["xmin"] == ["bbox", "xmin"]
        assert pq.ParquetFile(exported[name]).metadata.row_group(0).column(0).compression == "ZSTD"
        frame = gpd.read_parquet(exported[name])
        assert frame.crs.to_epsg() == 4326 and len(frame) > 0
    # DuckDB reads them by name, as GeoParquet 1.1 recommends the .parquet suffix for
    assert duckdb.sql(f"SELECT count(*) FROM '{exported['deposits.parquet']}'").fetchone()[0] == 2


def test_geopackage_opens_with_crs_and_qgis_styles(exported: dict[str, Path]) -> None:
    path = exported[GEOPACKAGE]
    layers = dict(pyogrio.list_layers(path))
    assert layers == {"deposits": "Polygon", "linestrings": "LineString", "frames": "Point", "layer_styles": None}
    classes = pq.read_table(exported["metadata_multilabel_predictions.parquet"]).column_names[10:]
    frames = gpd.read_file(path, layer="frames")
    assert set(classes) <= set(frames.columns) and frames["Sand"].dropna().isin([0, 1, True, False]).all()
    assert frames["frame_doi"].str.startswith("https://doi.org/").all()
    for layer in ("deposits", "linestrings", "frames"):
        frame = gpd.read_file(path, layer=layer)
        assert frame.crs.to_epsg() == 4326 and len(frame) > 0
    deposits = gpd.read_file(path, layer="deposits")
    assert sorted(deposits["platform"]) == ["ASV", "UAV"]
    with sqlite3.connect(path) as gpkg:
        styles = gpkg.execute(
            "SELECT f_table_name, f_geometry_column, useAsDefault, styleQML FROM layer_styles ORDER BY 1"
        ).fetchall()
        geometry_columns = dict(gpkg.execute("SELECT table_name, column_name FROM gpkg_geometry_columns").fetchall())
    assert [s[0] for s in styles] == ["deposits", "frames", "linestrings"]
    for table, column, default, qml in styles:
        assert geometry_columns[table] == column and default == 1 and "<renderer-v2" in qml
    deposits_qml = next(qml for table, _, _, qml in styles if table == "deposits")
    # readable at regional scale: a centroid marker keeps tiny footprints visible, labels appear when zoomed in
    assert "CentroidFill" in deposits_qml and 'fieldName="session_name"' in deposits_qml


def test_geopackage_conforms_to_1_2_as_gdal_validate_gpkg_checks(exported: dict[str, Path]) -> None:
    """The requirements GDAL's validate_gpkg.py checks that our writer controls (numbers from the spec)."""
    with sqlite3.connect(exported[GEOPACKAGE]) as gpkg:
        assert gpkg.execute("PRAGMA application_id").fetchone()[0] == 0x47504B47  # Req 2: 'GPKG'
        assert gpkg.execute("PRAGMA user_version").fetchone()[0] == 10200  # version 1.2
        assert gpkg.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert gpkg.execute("PRAGMA foreign_key_check").fetchall() == []
        iso_ms = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"  # Req 15
        contents = gpkg.execute("SELECT table_name, description, last_change FROM gpkg_contents").fetchall()
        assert all(re.fullmatch(iso_ms, stamp) for _, _, stamp in contents)
        assert all(description for _, description, _ in contents)
        assert all(re.fullmatch(iso_ms, t) for (t,) in gpkg.execute("SELECT update_time FROM layer_styles"))
        aliases = dict(gpkg.execute(
            "SELECT table_name || '.' || column_name, name FROM gpkg_data_columns").fetchall())
        assert aliases["deposits.session_name"] == "Session" and aliases["frames.datetime_utc"] == "Time (UTC)"
        assert gpkg.execute("SELECT count(*) FROM gpkg_extensions WHERE extension_name = 'gpkg_schema'"
                            ).fetchone()[0] == 1
    deposits = gpd.read_file(exported[GEOPACKAGE], layer="deposits")
    assert all(shapely.is_ccw(polygon.exterior) for polygon in deposits.geometry)


def test_darwin_core_archive_reads_and_matches_its_meta(
    exported: dict[str, Path], populated_con: duckdb.DuckDBPyConnection
) -> None:
    with DwCAReader(str(exported[DWCA])) as archive:
        assert archive.descriptor.core.type == "http://rs.tdwg.org/dwc/terms/Event"
        with zipfile.ZipFile(exported[DWCA]) as raw:
            for descriptor in (archive.descriptor.core, *archive.descriptor.extensions):
                header = next(csv.reader(io.StringIO(raw.read(descriptor.file_location).decode())))
                for field in descriptor.fields:
                    assert header[field["index"]] == field["term"].rsplit("/", 1)[-1]
        events = {row.id: row for row in archive}
        occurrences = [ext for row in archive for ext in row.extensions]
    sessions = [e for e in events.values() if not e.data["http://rs.tdwg.org/dwc/terms/parentEventID"]]
    assert len(sessions) == 2 and all(e.data["http://rs.tdwg.org/dwc/terms/footprintWKT"].startswith("POLYGON")
                                      for e in sessions)
    frames = [e for e in events.values() if e.data["http://rs.tdwg.org/dwc/terms/parentEventID"]]
    assert all(e.data["http://rs.tdwg.org/dwc/terms/parentEventID"] in events for e in frames)
    assert {e.data["http://rs.tdwg.org/dwc/terms/countryCode"] for e in events.values()} == {"RE", "MU"}
    expected = populated_con.execute(
        "SELECT count(DISTINCT (a.frame_id, l.id_gbif)) FROM annotation a JOIN multilabel_label l ON l.id = a.label_id "
        "WHERE a.value IN (0, 1) AND l.id_gbif IS NOT NULL"
    ).fetchone()[0]
    assert len(occurrences) == expected > 0  # one per image and taxon
    assert {o.data["http://rs.tdwg.org/dwc/terms/occurrenceStatus"] for o in occurrences} == {"present", "absent"}
    assert {o.data["http://rs.tdwg.org/dwc/terms/scientificName"] for o in occurrences} == {"Acropora", "Echinoidea"}


def test_unchanged_content_gives_identical_files(
    exported: dict[str, Path], populated_atlas: PopulatedAtlas, tmp_path: Path
) -> None:
    con = open_atlas(populated_atlas.path, read_only=True)
    try:
        again = {p.name: p for p in export_all(con, tmp_path)}
    finally:
        con.close()
    assert again.keys() == exported.keys()
    for name, path in exported.items():
        assert again[name].read_bytes() == path.read_bytes(), name
