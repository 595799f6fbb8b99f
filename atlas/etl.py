"""The ETL run log: what each refresh harvested, registered and published.

The harvest watermark is the time up to which Zenodo was harvested by the last successful run; the
next run asks Zenodo only for records published since then.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime

import duckdb
from pydantic import BaseModel

from zenodo_atlas.atlas.connection import fetch_row
from zenodo_atlas.atlas.errors import AtlasError
from zenodo_atlas.atlas.fingerprint import content_fingerprint
from zenodo_atlas.atlas.migrate import schema_version

_VERSION = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)$")
FIRST_VERSION = "v1.0.0"


class EtlRun(BaseModel):
    id: int
    started_at: datetime
    finished_at: datetime | None
    status: str
    harvest_watermark: datetime | None
    published_version: str | None
    content_fingerprint: str | None
    schema_version: int
    sessions_registered: int
    frames_added: int
    predictions_added: int
    notes: str | None


_COLUMNS = ", ".join(EtlRun.model_fields)


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def record_run(
    con: duckdb.DuckDBPyConnection,
    *,
    started_at: datetime,
    finished_at: datetime | None = None,
    status: str = "success",
    harvest_watermark: datetime | None = None,
    published_version: str | None = None,
    content_fingerprint: str | None = None,
    sessions_registered: int = 0,
    frames_added: int = 0,
    predictions_added: int = 0,
    notes: str | None = None,
) -> EtlRun:
    """Append one run (naive datetimes are taken as UTC) and return it as stored."""
    if status not in ("running", "success", "failed"):
        raise AtlasError(f"ETL run status must be running, success or failed, not {status!r}.")
    if published_version is not None:
        parse_version(published_version)
    run_id = fetch_row(con,
        """
        INSERT INTO etl_runs (started_at, finished_at, status, harvest_watermark, published_version,
                              content_fingerprint, schema_version, sessions_registered, frames_added,
                              predictions_added, notes)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id
        """,
        [
            _aware(started_at), _aware(finished_at), status, _aware(harvest_watermark), published_version,
            content_fingerprint, schema_version(con), sessions_registered, frames_added, predictions_added, notes,
        ],
    )[0]
    run = _fetch(con, "WHERE id = ?", [run_id])
    assert run is not None, "the run was inserted just above"
    return run


def _fetch(con: duckdb.DuckDBPyConnection, where: str, params: list[object]) -> EtlRun | None:
    con.execute("SET TimeZone = 'UTC'")
    row = con.execute(f"SELECT {_COLUMNS} FROM etl_runs {where} ORDER BY id DESC LIMIT 1", params).fetchone()
    return EtlRun(**dict(zip(EtlRun.model_fields, row, strict=True))) if row else None


def last_run(con: duckdb.DuckDBPyConnection) -> EtlRun | None:
    return _fetch(con, "", [])


def last_published(con: duckdb.DuckDBPyConnection) -> EtlRun | None:
    """The latest successful run that published an Atlas version."""
    return _fetch(con, "WHERE status = 'success' AND published_version IS NOT NULL", [])


def publication_pending(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the Atlas holds sessions its last published version lacks (e.g. that publication failed)."""
    if fetch_row(con, "SELECT count(*) FROM deposit")[0] == 0:
        return False
    published = last_published(con)
    return published is None or published.content_fingerprint != content_fingerprint(con)


def harvest_watermark(con: duckdb.DuckDBPyConnection) -> datetime | None:
    """Where the next harvest starts: the latest watermark of a successful run."""
    run = _fetch(con, "WHERE status = 'success' AND harvest_watermark IS NOT NULL", [])
    return run.harvest_watermark if run else None


def next_watermark(started: datetime, failed_updates: Iterable[datetime]) -> datetime:
    """The watermark only moves past what succeeded: a failed session's update time holds it back,
    so the next harvest sees that session again."""
    return min([started, *failed_updates])


def parse_version(label: str) -> tuple[int, int, int]:
    match = _VERSION.match(label.strip())
    if not match:
        raise AtlasError(f"Atlas version {label!r} is not of the form vX.Y.Z (e.g. v1.2.3).")
    return int(match[1]), int(match[2]), int(match[3])


def next_version_label(previous: str | None) -> str:
    """v1.2.3 -> v1.2.4; the first version is v1.0.0."""
    if previous is None:
        return FIRST_VERSION
    major, minor, patch = parse_version(previous)
    return f"v{major}.{minor}.{patch + 1}"
