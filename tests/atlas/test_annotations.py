from collections.abc import Callable
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from tests.fixtures.atlas import Published
from zenodo_atlas.atlas.annotations import import_annotations
from zenodo_atlas.atlas.errors import AnnotationError
from zenodo_atlas.atlas.ingest import register_session
from zenodo_atlas.sessions.sample import write_sample_annotations


@pytest.fixture
def registered(atlas_con: duckdb.DuckDBPyConnection, published_session: Callable[..., Published]) -> Path:
    session, deposit, md5s = published_session(frames=30)
    register_session(atlas_con, session, deposit, archive_md5s=md5s)
    return session


def annotation_counts(con: duckdb.DuckDBPyConnection) -> tuple[int, int]:
    return (
        con.execute("SELECT count(*) FROM annotation_session").fetchone()[0],
        con.execute("SELECT count(*) FROM annotation").fetchone()[0],
    )


def test_import_stores_values_per_frame_and_label(
    atlas_con: duckdb.DuckDBPyConnection, registered: Path, tmp_path: Path
) -> None:
    path = write_sample_annotations(registered, tmp_path, author="jdoe", dataset="reef", labels=["Fish", "Sand"])
    report = import_annotations(atlas_con, path)
    table = pd.read_csv(path)
    assert report.files_imported == [path.name] and report.sessions_added == 1
    assert report.annotations_added == table[["Fish", "Sand"]].notna().sum().sum()
    session = atlas_con.execute("SELECT annotation_date, author, dataset FROM annotation_session").fetchone()
    assert (session[0].strftime("%Y%m%d_%H%M%S"), session[1], session[2]) == (path.name[:15], "jdoe", "reef")
    first = table.iloc[0]
    stored = dict(atlas_con.execute(
        "SELECT l.name, a.value FROM annotation a JOIN frame f ON f.id = a.frame_id "
        "JOIN multilabel_label l ON l.id = a.label_id WHERE f.file_name = ?", [first["FileName"]]
    ).fetchall())
    assert stored == {"Fish": first["Fish"], "Sand": first["Sand"]}


def test_the_same_file_twice_is_a_no_op(
    atlas_con: duckdb.DuckDBPyConnection, registered: Path, tmp_path: Path
) -> None:
    path = write_sample_annotations(registered, tmp_path, author="jdoe", dataset="reef", labels=["Fish"])
    import_annotations(atlas_con, path)
    before = annotation_counts(atlas_con)
    report = import_annotations(atlas_con, tmp_path)  # the folder holding it
    assert report.files_skipped == [path.name] and report.annotations_added == 0
    assert annotation_counts(atlas_con) == before


def test_old_label_names_are_renamed(atlas_con: duckdb.DuckDBPyConnection, registered: Path, tmp_path: Path) -> None:
    path = write_sample_annotations(registered, tmp_path, author="jdoe", dataset="old", labels=["Sea_urchins"])
    import_annotations(atlas_con, path)
    labels = atlas_con.execute(
        "SELECT DISTINCT l.name FROM annotation a JOIN multilabel_label l ON l.id = a.label_id"
    ).fetchall()
    assert labels == [("Sea_urchin",)]


def test_unknown_label_aborts_the_whole_call(
    atlas_con: duckdb.DuckDBPyConnection, registered: Path, tmp_path: Path
) -> None:
    write_sample_annotations(registered, tmp_path, author="jdoe", dataset="good", labels=["Fish"])
    write_sample_annotations(registered, tmp_path, author="jdoe", dataset="bad", labels=["Fish", "Unicorn"])
    with pytest.raises(AnnotationError, match="unknown label") as caught:
        import_annotations(atlas_con, tmp_path)
    assert caught.value.problems == [
        next(p for p in caught.value.problems if "Unicorn" in p and "__bad_labels.csv" in p)
    ]
    assert annotation_counts(atlas_con) == (0, 0)


def test_unknown_frames_and_bad_values_are_reported(
    atlas_con: duckdb.DuckDBPyConnection, registered: Path, tmp_path: Path
) -> None:
    path = write_sample_annotations(registered, tmp_path, author="jdoe", dataset="reef", labels=["Fish"])
    table = pd.read_csv(path)
    table.loc[0, "FileName"] = "20990101_XXX-Nowhere_ASV-1_01_1_001.jpeg"
    table.to_csv(path, index=False)
    with pytest.raises(AnnotationError, match=r"1 frame\(s\) not in the Atlas, e\.g\. 20990101_XXX"):
        import_annotations(atlas_con, path)
    table.loc[0, "FileName"] = pd.read_csv(registered / "METADATA" / "predictions_gps.csv")["FileName"][0]
    table.loc[1, "Fish"] = 7
    table.to_csv(path, index=False)
    with pytest.raises(AnnotationError, match="values must be 1, 0 or -1"):
        import_annotations(atlas_con, path)
    assert annotation_counts(atlas_con) == (0, 0)


def test_bad_file_names_and_missing_paths(atlas_con: duckdb.DuckDBPyConnection, tmp_path: Path) -> None:
    bad = tmp_path / "annotations.csv"
    bad.write_text("FileName,Fish\n")
    with pytest.raises(AnnotationError, match="YYYYMMDD_HHMMSS__author__dataset"):
        import_annotations(atlas_con, bad)
    with pytest.raises(AnnotationError, match="does not exist"):
        import_annotations(atlas_con, tmp_path / "nope.csv")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(AnnotationError, match=r"no \.csv annotation file"):
        import_annotations(atlas_con, empty)


def test_bare_camera_names_match_their_only_session(
    atlas_con: duckdb.DuckDBPyConnection, published_session: Callable[..., Published], tmp_path: Path
) -> None:
    session, deposit, md5s = published_session(name="20240301_MUS-Le-Morne_UAV-1_01", platform="UAV", frames=10)
    register_session(atlas_con, session, deposit, archive_md5s=md5s)
    path = write_sample_annotations(session, tmp_path, author="jdoe", dataset="uav", labels=["Sand"])
    assert pd.read_csv(path)["FileName"][0] == "DJI_0001.JPG"
    report = import_annotations(atlas_con, path)
    assert report.annotations_added > 0
    other, deposit, md5s = published_session(name="20240302_MUS-Le-Morne_UAV-1_01", platform="UAV", frames=10,
                                             concept_recid="3000", first_record=3001)
    register_session(atlas_con, other, deposit, archive_md5s=md5s)
    second = write_sample_annotations(session, tmp_path / "b", author="jdoe", dataset="uav2", labels=["Sand"])
    with pytest.raises(AnnotationError, match="exist in several sessions"):
        import_annotations(atlas_con, second)
