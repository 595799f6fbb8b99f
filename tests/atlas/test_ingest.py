from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import shapely

from tests.fixtures.atlas import Published, deposit_for
from zenodo_atlas.atlas import ingest, spatial_index
from zenodo_atlas.atlas.annotations import import_annotations
from zenodo_atlas.atlas.errors import DepositRefError, SessionFileError, VersionMappingError
from zenodo_atlas.atlas.ingest import DepositRef, VersionRef, deposit_ref_from_records, register_session
from zenodo_atlas.atlas.integrity import orphan_counts
from zenodo_atlas.atlas.query import FrameQuery, run_query
from zenodo_atlas.sessions.ia import MULTILABEL_AUTHOR, MULTILABEL_MODEL_NAME
from zenodo_atlas.sessions.sample import write_sample_annotations
from zenodo_atlas.zenodo.models import Record

TABLES = (
    "deposit", "version", "version_file", "footprint_linestring", "frame", "multilabel_prediction",
    "annotation_session", "annotation",
)


def counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


def useful_names(session_dir: Path) -> list[str]:
    return pd.read_csv(session_dir / "METADATA" / "predictions_gps.csv")["FileName"].tolist()


def scores_csv(session_dir: Path) -> Path:
    ia = session_dir / "PROCESSED_DATA" / "IA"
    return ia / f"{session_dir.name}_{MULTILABEL_AUTHOR}_{MULTILABEL_MODEL_NAME}_scores.csv"


def test_registers_deposit_versions_frames_and_predictions(
    atlas_con: duckdb.DuckDBPyConnection, published_session: Callable[..., Published]
) -> None:
    session, deposit, md5s = published_session(frames=40)
    report = register_session(atlas_con, session, deposit, archive_md5s=md5s)
    useful = useful_names(session)
    assert report.versions_added == 2
    assert report.frames_added == len(useful) < 40
    assert report.predictions_added == len(useful) * 31
    assert report.unknown_columns == []
    row = atlas_con.execute(
        "SELECT session_name, have_raw, have_processed, session_date, country_code, place, platform FROM deposit"
    ).fetchone()
    assert row[:3] == (session.name, True, True)
    assert str(row[3]) == "2023-10-21" and row[4:] == ("REU", "St-Leu", "ASV")
    names = {r[0] for r in atlas_con.execute("SELECT file_name FROM frame").fetchall()}
    assert names == set(useful)
    assert orphan_counts(atlas_con) == dict.fromkeys(orphan_counts(atlas_con), 0)


def test_frame_times_are_utc_and_positions_are_points(
    atlas_con: duckdb.DuckDBPyConnection, published_session: Callable[..., Published]
) -> None:
    session, deposit, md5s = published_session(frames=10)
    register_session(atlas_con, session, deposit, archive_md5s=md5s)
    meta = pd.read_csv(session / "METADATA" / "metadata.csv").set_index("FileName")
    name, when, lon, lat, x, y, fix = atlas_con.execute(
        "SELECT file_name, datetime_utc, longitude, latitude, ST_X(geom), ST_Y(geom), fix FROM frame ORDER BY id"
    ).fetchone()
    source = meta.loc[name]
    # plancha's form: GPS (UTC) time with nanoseconds and no zone
    assert source["SubSecDateTimeOriginal"].endswith(".000000000")
    assert when == datetime.strptime(source["SubSecDateTimeOriginal"][:19], "%Y:%m:%d %H:%M:%S")
    assert (x, y) == (lon, lat) == (source["GPSLongitude"], source["GPSLatitude"])
    assert fix == source["GPSfix"]


def test_re_registration_adds_nothing_twice(
    atlas_con: duckdb.DuckDBPyConnection, published_session: Callable[..., Published]
) -> None:
    session, deposit, md5s = published_session(frames=20)
    register_session(atlas_con, session, deposit, archive_md5s=md5s)
    before = counts(atlas_con)
    again = register_session(atlas_con, session, deposit, archive_md5s=md5s)
    assert (again.versions_added, again.frames_added, again.predictions_added) == (0, 0, 0)
    assert counts(atlas_con) == before


def test_a_frame_scored_twice_keeps_its_first_scores(
    atlas_con: duckdb.DuckDBPyConnection, published_session: Callable[..., Published]
) -> None:
    session, deposit, md5s = published_session(frames=20)
    scores = pd.read_csv(scores_csv(session))
    pd.concat([scores, scores.iloc[[0]].assign(**{c: 0.0 for c in scores.columns[1:]})]).to_csv(
        scores_csv(session), index=False
    )
    report = register_session(atlas_con, session, deposit, archive_md5s=md5s)
    assert report.predictions_added == len(scores) * (len(scores.columns) - 1)
    first = atlas_con.execute(
        "SELECT max(p.score) FROM multilabel_prediction p JOIN frame f ON f.id = p.frame_id WHERE f.file_name = ?",
        [scores["FileName"].iloc[0] if scores["FileName"].iloc[0].startswith(session.name)
         else f"{session.name}_{scores['FileName'].iloc[0]}"],
    ).fetchone()[0]
    assert first == pytest.approx(scores.iloc[0, 1:].max())


def test_re_registration_adds_new_versions_and_updates_the_deposit(
    atlas_con: duckdb.DuckDBPyConnection, published_session: Callable[..., Published]
) -> None:
    session, deposit, md5s = published_session(frames=20)
    raw_only = deposit.model_copy(update={"versions": deposit.versions[:1]})
    raw_only.versions[0].files.update(md5s)  # first publication carried the archives in the raw version
    register_session(atlas_con, session, raw_only, archive_md5s=md5s)
    assert atlas_con.execute("SELECT have_raw, have_processed FROM deposit").fetchone() == (True, False)
    report = register_session(atlas_con, session, deposit, archive_md5s=md5s)
    assert report.versions_added == 1
    assert report.frames_added == 0  # same METADATA.zip: the frames keep citing the version that first held it
    assert atlas_con.execute("SELECT have_raw, have_processed FROM deposit").fetchone() == (True, True)
    assert atlas_con.execute("SELECT DISTINCT record_id FROM frame").fetchall() == [(deposit.versions[0].record_id,)]
    deposit.versions[1].label = "PROCESSED DATA"  # labels as typed in Zenodo's form
    register_session(atlas_con, session, deposit, archive_md5s=md5s)
    assert atlas_con.execute("SELECT have_processed FROM deposit").fetchone() == (True,)


def test_archives_map_to_their_versions_by_md5(
    atlas_con: duckdb.DuckDBPyConnection, published_session: Callable[..., Published]
) -> None:
    session, deposit, md5s = published_session(frames=12, first_record=5001)
    raw, processed = deposit.versions
    raw.files["METADATA.zip"] = md5s["METADATA.zip"]  # METADATA published with RAW, IA only later
    processed.files.pop("METADATA.zip")
    register_session(atlas_con, session, deposit, archive_md5s=md5s)
    assert atlas_con.execute("SELECT DISTINCT record_id FROM frame").fetchall() == [(5001,)]
    assert atlas_con.execute("SELECT DISTINCT record_id FROM multilabel_prediction").fetchall() == [(5002,)]


def test_an_archive_matching_no_version_is_a_clear_error(
    atlas_con: duckdb.DuckDBPyConnection, published_session: Callable[..., Published]
) -> None:
    session, deposit, md5s = published_session(frames=5)
    wrong = {**md5s, "PROCESSED_DATA_IA.zip": "0" * 32}
    with pytest.raises(VersionMappingError, match=r"PROCESSED_DATA_IA\.zip \(md5 0{32}\) matches no file"):
        register_session(atlas_con, session, deposit, archive_md5s=wrong)
    with pytest.raises(VersionMappingError, match=r"lacks METADATA\.zip"):
        register_session(atlas_con, session, deposit, archive_md5s={})
    assert counts(atlas_con) == dict.fromkeys(TABLES, 0)


def test_footprint_is_the_hull_of_the_track(
    atlas_con: duckdb.DuckDBPyConnection, published_session: Callable[..., Published]
) -> None:
    session, deposit, md5s = published_session(frames=60)
    meta = pd.read_csv(session / "METADATA" / "metadata.csv")
    meta.loc[3, ["GPSLatitude", "GPSLongitude"]] = 0.0  # a (0, 0) fix must not stretch the footprint
    meta.loc[4, ["GPSLatitude", "GPSLongitude"]] = None
    meta.to_csv(session / "METADATA" / "metadata.csv", index=False)
    _, deposit, md5s = deposit_for(session)
    report = register_session(atlas_con, session, deposit, archive_md5s=md5s, all_frames=True)
    assert report.frames_added == 60
    hull = shapely.from_wkt(atlas_con.execute("SELECT ST_AsText(footprint) FROM deposit").fetchone()[0])
    track = shapely.from_wkt(atlas_con.execute("SELECT ST_AsText(geom) FROM footprint_linestring").fetchone()[0])
    valid = meta.drop(index=[3, 4])
    points = shapely.points(valid["GPSLongitude"], valid["GPSLatitude"])
    assert hull.geom_type == "Polygon" and hull.area > 0
    assert all(hull.buffer(1e-9).contains(p) for p in points)
    assert hull.bounds == pytest.approx(
        (valid.GPSLongitude.min(), valid.GPSLatitude.min(), valid.GPSLongitude.max(), valid.GPSLatitude.max())
    )
    assert track.geom_type == "LineString" and 2 <= len(track.coords) <= 58
    assert hull.buffer(1e-9).contains(track)
    assert atlas_con.execute("SELECT count(*) FROM frame WHERE geom IS NULL").fetchone()[0] == 2


def test_degenerate_positions_give_no_footprint_but_a_warning(
    atlas_con: duckdb.DuckDBPyConnection, published_session: Callable[..., Published]
) -> None:
    session, _, _ = published_session(frames=8)
    meta = pd.read_csv(session / "METADATA" / "metadata.csv")
    meta["GPSLatitude"], meta["GPSLongitude"] = -21.0, 55.0
    meta.to_csv(session / "METADATA" / "metadata.csv", index=False)
    _, deposit, md5s = deposit_for(session)
    report = register_session(atlas_con, session, deposit, archive_md5s=md5s)
    assert any("no footprint polygon" in w for w in report.warnings)
    assert atlas_con.execute("SELECT footprint IS NULL FROM deposit").fetchone() == (True,)
    assert atlas_con.execute("SELECT count(*) FROM footprint_linestring").fetchone()[0] == 0


def test_a_csv_broken_halfway_leaves_the_atlas_untouched(
    atlas_con: duckdb.DuckDBPyConnection, published_session: Callable[..., Published]
) -> None:
    first, deposit, md5s = published_session(frames=10)
    register_session(atlas_con, first, deposit, archive_md5s=md5s)
    before = counts(atlas_con)
    session, deposit, md5s = published_session(frames=30, name="20240301_MUS-Le-Morne_UAV-1_01", concept_recid="2000",
                                               first_record=2001)
    path = scores_csv(session)
    lines = path.read_text().splitlines()
    half = len(lines) // 2
    path.write_text("\n".join([*lines[:half], lines[half][:25], *lines[half + 1 :]]) + "\n")
    _, deposit, md5s = deposit_for(session, concept_recid="2000", first_record=2001)
    with pytest.raises(SessionFileError, match=rf"{path.name} is not a readable CSV .*Expected 32 columns"):
        register_session(atlas_con, session, deposit, archive_md5s=md5s)
    assert counts(atlas_con) == before
    path.write_text("\n".join([*lines[:half], lines[half].rsplit(",", 1)[0] + ",", *lines[half + 1 :]]) + "\n")
    with pytest.raises(SessionFileError, match=rf"{path.name}: no score for Useless on line {half + 1}"):
        register_session(atlas_con, session, deposit, archive_md5s=md5s)
    assert counts(atlas_con) == before


def test_a_failure_inside_the_transaction_rolls_everything_back(
    atlas_con: duckdb.DuckDBPyConnection, published_session: Callable[..., Published], monkeypatch: pytest.MonkeyPatch
) -> None:
    session, deposit, md5s = published_session(frames=20)
    before = counts(atlas_con)

    def explode(*args: object, **kwargs: object) -> None:
        assert atlas_con.execute("SELECT count(*) FROM frame").fetchone()[0] > 0  # frames were written already
        raise RuntimeError("disk full while writing predictions")

    monkeypatch.setattr(ingest, "_insert_predictions", explode)
    with pytest.raises(RuntimeError, match="disk full"):
        register_session(atlas_con, session, deposit, archive_md5s=md5s)
    assert counts(atlas_con) == before


def test_garbage_rows_are_reported_with_file_and_line(
    atlas_con: duckdb.DuckDBPyConnection, published_session: Callable[..., Published]
) -> None:
    session, deposit, md5s = published_session(frames=10)
    meta = session / "METADATA" / "metadata.csv"
    lines = meta.read_text().splitlines()
    lines[5] = lines[5].replace(lines[5].split(",")[2], "north-ish", 1)  # GPSLatitude (plancha order)
    meta.write_text("\n".join(lines) + "\n")
    with pytest.raises(SessionFileError, match=r"metadata\.csv: column GPSLatitude holds 'north-ish' on line 6"):
        register_session(atlas_con, session, deposit, archive_md5s=md5s)
    (session / "METADATA" / "metadata.csv").unlink()
    with pytest.raises(SessionFileError, match=r"Missing .*metadata\.csv"):
        register_session(atlas_con, session, deposit, archive_md5s=md5s)
    assert counts(atlas_con) == dict.fromkeys(TABLES, 0)


def test_current_and_old_class_names_and_unknown_columns(
    atlas_con: duckdb.DuckDBPyConnection, published_session: Callable[..., Published]
) -> None:
    session, deposit, md5s = published_session(frames=10, score_columns=("Acropora_Branching", "Algae_sodding",
                                                                         "Sand", "Mystery_class"))
    report = register_session(atlas_con, session, deposit, archive_md5s=md5s)
    assert report.unknown_columns == ["Mystery_class"]
    assert any("Mystery_class" in w for w in report.warnings)
    classes = atlas_con.execute(
        "SELECT DISTINCT c.name FROM multilabel_prediction p JOIN multilabel_class c ON c.id = p.class_id ORDER BY 1"
    ).fetchall()
    assert classes == [("Acropora_Branching",), ("Algae_Turf",), ("Sand",)]
    scores = pd.read_csv(scores_csv(session)).set_index("FileName")
    name, score = atlas_con.execute(
        "SELECT f.file_name, p.score FROM multilabel_prediction p JOIN frame f ON f.id = p.frame_id "
        "JOIN multilabel_class c ON c.id = p.class_id WHERE c.name = 'Algae_Turf' ORDER BY f.id LIMIT 1"
    ).fetchone()
    assert score == scores.loc[name, "Algae_sodding"]


def test_all_frames_and_fallback_to_the_usefulness_csv(
    atlas_con: duckdb.DuckDBPyConnection, published_session: Callable[..., Published]
) -> None:
    session, _, _ = published_session(frames=30)
    useful = useful_names(session)
    (session / "METADATA" / "predictions_gps.csv").unlink()
    _, deposit, md5s = deposit_for(session)
    report = register_session(atlas_con, session, deposit, archive_md5s=md5s)
    assert report.frames_added == len(useful)  # from the jacques Useless column
    report = register_session(atlas_con, session, deposit, archive_md5s=md5s, all_frames=True)
    assert report.frames_added == 30 - len(useful)


def test_one_session_one_concept(
    atlas_con: duckdb.DuckDBPyConnection, published_session: Callable[..., Published]
) -> None:
    session, deposit, md5s = published_session(frames=5)
    register_session(atlas_con, session, deposit, archive_md5s=md5s)
    other = deposit.model_copy(update={"concept_recid": "9999"})
    with pytest.raises(DepositRefError, match="already registered under concept 1000"):
        register_session(atlas_con, session, other, archive_md5s=md5s)


def _record(record_id: int, version: str, files: dict[str, str], concept: str = "77") -> Record:
    return Record.model_validate({
        "id": record_id, "conceptrecid": concept, "doi": f"10.5281/zenodo.{record_id}",
        "conceptdoi": f"10.5281/zenodo.{concept}",
        "metadata": {
            "version": version, "publication_date": "2024-05-02",
            "related_identifiers": [
                {"identifier": "urn:20231021_REU-ST-LEU_ASV-1_01", "relation": "isAlternateIdentifier"},
                {"identifier": "https://zenodo.org/doi/10.5281/zenodo.11125847", "relation": "isMetadataFor"},
            ],
        },
        "files": [{"key": k, "size": 1, "checksum": f"md5:{m}"} for k, m in files.items()],
    })


def test_deposit_ref_from_records() -> None:
    ref = deposit_ref_from_records([
        _record(12, "PROCESSED DATA", {"METADATA.zip": "b" * 32}), _record(11, "RAW_DATA", {"DCIM.zip": "a" * 32}),
    ])
    assert ref == DepositRef(
        session_name="20231021_REU-ST-LEU_ASV-1_01", concept_recid="77", concept_doi="10.5281/zenodo.77",
        versions=[
            VersionRef(record_id=11, doi="10.5281/zenodo.11", label="RAW_DATA", publication_date="2024-05-02",
                       files={"DCIM.zip": "a" * 32}),
            VersionRef(record_id=12, doi="10.5281/zenodo.12", label="PROCESSED_DATA", publication_date="2024-05-02",
                       files={"METADATA.zip": "b" * 32}),
        ],
    )
    latest = _record(13, "PROCESSED_DATA", {})
    latest.metadata["contributors"] = [
        {"name": "Doe, Jane", "type": "DataCollector"}, {"name": "Smith, Alex", "type": "DataManager"},
        {"name": "Rivière, Marie", "type": "DataCollector"},
    ]
    # the field observers (Darwin Core recordedBy) are the DataCollectors, not the managers nor the annotators
    ref = deposit_ref_from_records([_record(11, "RAW_DATA", {}), latest])
    assert ref.recorded_by == ["Doe, Jane", "Rivière, Marie"]
    with pytest.raises(DepositRefError, match="several concepts"):
        deposit_ref_from_records([_record(1, "RAW_DATA", {}), _record(2, "RAW_DATA", {}, concept="78")])
    with pytest.raises(DepositRefError, match="No Zenodo records"):
        deposit_ref_from_records([])


def test_a_newer_processed_version_replaces_the_frames_and_predictions(
    atlas_con: duckdb.DuckDBPyConnection, published_session: Callable[..., Published], tmp_path: Path
) -> None:
    session, deposit, md5s = published_session(frames=20)
    register_session(atlas_con, session, deposit, archive_md5s=md5s)
    labels = [n for (n,) in atlas_con.execute("SELECT name FROM multilabel_label ORDER BY id LIMIT 2").fetchall()]
    import_annotations(atlas_con, write_sample_annotations(session, tmp_path, labels=labels))
    annotated = atlas_con.execute("SELECT count(*) FROM annotation").fetchone()[0]
    assert annotated > 0
    before = counts(atlas_con)
    # Reprocessing: the same frames with other bytes (scores and altitudes changed) in a third version.
    scores = pd.read_csv(scores_csv(session))
    scores.iloc[:, 1:] = (1 - scores.iloc[:, 1:]).round(4)
    scores.to_csv(scores_csv(session), index=False)
    meta = pd.read_csv(session / "METADATA" / "metadata.csv", dtype=str)
    meta["GPSAltitude"] = "-1.5"
    meta.to_csv(session / "METADATA" / "metadata.csv", index=False)
    _, again, new_md5s = deposit_for(session)
    newer = again.versions[1].model_copy(update={"record_id": 1003, "doi": "10.5281/zenodo.1003"})
    deposit = deposit.model_copy(update={"versions": [*deposit.versions, newer]})
    report = register_session(atlas_con, session, deposit, archive_md5s=new_md5s)
    assert report.frames_replaced == report.frames_added == before["frame"]
    after = counts(atlas_con)
    for table in ("frame", "multilabel_prediction", "annotation", "deposit", "footprint_linestring"):
        assert after[table] == before[table], table
    assert after["version"] == before["version"] + 1  # the history stays in `version`
    rows = run_query(atlas_con, FrameQuery()).to_pandas()
    assert len(rows) == rows["file_name"].nunique() == before["frame"]
    assert set(rows["frame_doi"]) == set(rows["prediction_doi"]) == {"10.5281/zenodo.1003"}
    assert (rows["altitude"] == -1.5).all()
    stored = atlas_con.execute("SELECT sum(score), count(DISTINCT record_id) FROM multilabel_prediction").fetchone()
    assert stored == (pytest.approx(scores.iloc[:, 1:].to_numpy().sum()), 1)
    assert atlas_con.execute("SELECT count(*) FROM annotation").fetchone()[0] == annotated
    assert orphan_counts(atlas_con) == dict.fromkeys(orphan_counts(atlas_con), 0)
    # the spatial index moved with the frames: only the newer version has an extent
    extents = atlas_con.execute("SELECT record_id FROM version WHERE min_lon IS NOT NULL").fetchall()
    assert extents == [(1003,)] and spatial_index.check(atlas_con, repair=False).healthy
    # The older version registered again (an out-of-order harvest) leaves the newer frames alone.
    late = register_session(atlas_con, session, deposit.model_copy(update={"versions": deposit.versions[:2]}),
                            archive_md5s=md5s)
    assert late.frames_added == 0 and "newer version" in " ".join(late.warnings)
    assert len(run_query(atlas_con, FrameQuery()).to_pandas()) == before["frame"]
