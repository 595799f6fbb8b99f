from datetime import UTC, datetime

import duckdb
import pytest

from zenodo_atlas.atlas.errors import AtlasError
from zenodo_atlas.atlas.etl import (
    harvest_watermark,
    last_published,
    last_run,
    next_version_label,
    next_watermark,
    record_run,
)
from zenodo_atlas.atlas.migrate import latest_version


def test_empty_log(atlas_con: duckdb.DuckDBPyConnection) -> None:
    assert last_run(atlas_con) is None
    assert harvest_watermark(atlas_con) is None
    assert last_published(atlas_con) is None


def test_runs_watermark_and_published_version(atlas_con: duckdb.DuckDBPyConnection) -> None:
    first = record_run(
        atlas_con, started_at=datetime(2025, 6, 1, 2, 0), finished_at=datetime(2025, 6, 1, 2, 5),
        harvest_watermark=datetime(2025, 6, 1, 2, 0), published_version="v1.2.3", content_fingerprint="abc",
        sessions_registered=2, frames_added=80, predictions_added=2480,
    )
    assert first.harvest_watermark == datetime(2025, 6, 1, 2, 0, tzinfo=UTC)
    assert first.schema_version == latest_version() and first.frames_added == 80
    record_run(atlas_con, started_at=datetime(2025, 6, 2, tzinfo=UTC), status="failed",
               harvest_watermark=datetime(2025, 6, 2, tzinfo=UTC), notes="Zenodo down")
    assert last_run(atlas_con).status == "failed"
    assert harvest_watermark(atlas_con) == datetime(2025, 6, 1, 2, 0, tzinfo=UTC)  # failed runs do not move it
    assert last_published(atlas_con).published_version == "v1.2.3"
    june3 = datetime(2025, 6, 3, tzinfo=UTC)
    record_run(atlas_con, started_at=june3, harvest_watermark=june3)
    assert harvest_watermark(atlas_con) == datetime(2025, 6, 3, tzinfo=UTC)
    assert last_published(atlas_con).id == first.id


def test_bad_runs_are_refused(atlas_con: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(AtlasError, match="status"):
        record_run(atlas_con, started_at=datetime(2025, 1, 1), status="maybe")
    with pytest.raises(AtlasError, match=r"vX\.Y\.Z"):
        record_run(atlas_con, started_at=datetime(2025, 1, 1), published_version="latest")
    assert last_run(atlas_con) is None


@pytest.mark.parametrize(
    ("previous", "expected"),
    [(None, "v1.0.0"), ("v1.0.0", "v1.0.1"), ("v1.2.9", "v1.2.10"), ("2.3.4", "v2.3.5")],
)
def test_next_version_label(previous: str | None, expected: str) -> None:
    assert next_version_label(previous) == expected


def test_next_version_label_rejects_garbage() -> None:
    with pytest.raises(AtlasError, match=r"vX\.Y\.Z"):
        next_version_label("PROCESSED_DATA")


def test_watermark_stops_at_the_first_failed_update() -> None:
    started = datetime(2024, 5, 2, tzinfo=UTC)
    assert next_watermark(started, []) == started
    failed = [datetime(2024, 5, 1, 12, tzinfo=UTC), datetime(2024, 4, 30, tzinfo=UTC)]
    assert next_watermark(started, failed) == datetime(2024, 4, 30, tzinfo=UTC)
