import shutil
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import duckdb

from tests.fixtures.atlas import Published
from zenodo_atlas.atlas.annotations import import_annotations
from zenodo_atlas.atlas.connection import open_atlas
from zenodo_atlas.atlas.etl import record_run
from zenodo_atlas.atlas.fingerprint import content_fingerprint
from zenodo_atlas.atlas.ingest import register_session
from zenodo_atlas.sessions.sample import write_sample_annotations


def test_unchanged_content_keeps_its_fingerprint(atlas_con: duckdb.DuckDBPyConnection, atlas_path: Path) -> None:
    first = content_fingerprint(atlas_con)
    assert len(first) == 64 and content_fingerprint(atlas_con) == first
    atlas_con.execute("CHECKPOINT")
    record_run(atlas_con, started_at=datetime(2025, 1, 1))  # bookkeeping is not content
    atlas_con.close()
    reopened = open_atlas(atlas_path)
    try:
        assert content_fingerprint(reopened) == first
    finally:
        reopened.close()


def test_registration_and_annotations_change_it(
    atlas_con: duckdb.DuckDBPyConnection, published_session: Callable[..., Published], tmp_path: Path
) -> None:
    empty = content_fingerprint(atlas_con)
    session, deposit, md5s = published_session(frames=12)
    register_session(atlas_con, session, deposit, archive_md5s=md5s)
    registered = content_fingerprint(atlas_con)
    assert registered != empty
    register_session(atlas_con, session, deposit, archive_md5s=md5s)
    assert content_fingerprint(atlas_con) == registered  # nothing new
    import_annotations(atlas_con, write_sample_annotations(session, tmp_path, author="a", dataset="b", labels=["Fish"]))
    assert content_fingerprint(atlas_con) != registered


def test_same_sessions_in_another_order_give_the_same_fingerprint(
    tmp_path: Path, atlas_template: Path, published_session: Callable[..., Published]
) -> None:


    one = published_session(frames=8, seed=1)
    two = published_session(name="20240301_MUS-Le-Morne_UAV-1_01", platform="UAV", frames=6, concept_recid="2000",
                            first_record=2001)
    prints = []
    for order in ((one, two), (two, one)):
        path = tmp_path / f"{len(prints)}.duckdb"
        shutil.copyfile(atlas_template, path)
        con = open_atlas(path)
        for session, deposit, md5s in order:
            register_session(con, session, deposit, archive_md5s=md5s)
        prints.append(content_fingerprint(con))
        con.close()
    assert prints[0] == prints[1]
