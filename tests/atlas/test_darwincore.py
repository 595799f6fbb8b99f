from collections.abc import Callable
from pathlib import Path

import duckdb
import pandas as pd
from dwca.read import DwCAReader

from tests.fixtures.atlas import Published, deposit_for
from zenodo_atlas.atlas.annotations import import_annotations
from zenodo_atlas.atlas.darwincore import EVENT_TERMS, OCCURRENCE_TERMS, meta_xml, write_dwca
from zenodo_atlas.atlas.ingest import register_session
from zenodo_atlas.sessions.sample import write_sample_annotations

DWC = "http://rs.tdwg.org/dwc/terms/"


def test_meta_xml_indexes_are_zero_based_and_complete() -> None:
    meta = meta_xml()
    for i, (name, ns) in enumerate(EVENT_TERMS):
        assert f'<field index="{i}" term="{ns}{name}"/>' in meta
    for i, (name, ns) in enumerate(OCCURRENCE_TERMS):
        assert f'<field index="{i}" term="{ns}{name}"/>' in meta
    assert meta.count("<location>") == 2 and "occurenceID" not in meta


def test_frames_without_time_or_position_do_not_break_the_archive(
    atlas_con: duckdb.DuckDBPyConnection, published_session: Callable[..., Published], tmp_path: Path
) -> None:
    session, _, _ = published_session(frames=12)
    meta = pd.read_csv(session / "METADATA" / "metadata.csv")
    meta[["SubSecDateTimeOriginal", "DateTimeOriginal", "GPSDateTime"]] = None
    meta[["GPSLatitude", "GPSLongitude"]] = None
    meta.to_csv(session / "METADATA" / "metadata.csv", index=False)
    _, deposit, md5s = deposit_for(session)
    register_session(atlas_con, session, deposit, archive_md5s=md5s)
    import_annotations(atlas_con, write_sample_annotations(session, tmp_path, author="jdoe", dataset="d",
                                                           labels=["Acropora_Branching", "Fish"]))
    path = write_dwca(atlas_con, tmp_path / "dwca.zip")
    with DwCAReader(str(path)) as archive:
        frames = [row for row in archive if row.data[f"{DWC}parentEventID"]]
        occurrences = [ext for row in archive for ext in row.extensions]
    assert frames and occurrences
    assert all(row.data[f"{DWC}eventDate"] == "" and row.data[f"{DWC}decimalLatitude"] == "" for row in frames)
    assert {o.data[f"{DWC}taxonID"] for o in occurrences} <= {"7673664"}  # Fish has no GBIF key: not a taxon


def test_unchanged_annotations_give_identical_archives(
    atlas_con: duckdb.DuckDBPyConnection, published_session: Callable[..., Published], tmp_path: Path
) -> None:
    session, deposit, md5s = published_session(frames=10)
    register_session(atlas_con, session, deposit, archive_md5s=md5s)
    import_annotations(atlas_con, write_sample_annotations(session, tmp_path, author="a", dataset="b",
                                                           labels=["Acropora_Branching"]))
    first = write_dwca(atlas_con, tmp_path / "one.zip").read_bytes()
    assert write_dwca(atlas_con, tmp_path / "two.zip").read_bytes() == first
