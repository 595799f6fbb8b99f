"""The Atlas's spatial index: the extent (bounding box) of each version's located frames, kept on the
version (`version.min_lon` .. `max_lat`, NULL for a version without such frames).

A polygon query first picks the versions whose extent meets the area (a few rows per session), then
tests only their frames, which zone maps on `frame.record_id` find: frames are stored version by
version. Registration writes a version's extent in the transaction that writes its frames
(`write_extents`), so no frame lies outside its version's extent and no extent outlives its frames.

Until schema 6 the Atlas had R-tree indexes, which DuckDB spatial 1.5.5 cannot replay from a
write-ahead log (duckdb-spatial #861): an Atlas of those days whose writer died between a commit and
the next checkpoint has R-tree appends in its WAL, which break the index once spatial binds them. The
next writer drops such indexes *before* loading spatial (DuckDB only buffers their replay until the
extension binds them), and migration 006 computes the extents. A reader refuses such a file.

Writers still checkpoint right after their last commit (closing would, by DuckDB's default): readers
copy the checkpointed file (`snapshot`), and a log kept for later makes every open replay it (at 1M
frames an open took 14 ms, plus ~5 ms for each registration left in the log).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
from pydantic import BaseModel, Field

Extent = tuple[float, float, float, float]

# The one definition of an extent: min/max longitude and latitude of the frames that have a position.
_EXTENTS = """
    SELECT record_id, min(ST_X(geom)) AS min_lon, min(ST_Y(geom)) AS min_lat,
           max(ST_X(geom)) AS max_lon, max(ST_Y(geom)) AS max_lat
    FROM frame WHERE geom IS NOT NULL {only}
    GROUP BY record_id
"""


class ExtentCheck(BaseModel):
    """What `check` found: versions whose stored extent differs from their frames', and whether the
    extents were written again."""

    versions_checked: int = 0
    mismatches: dict[int, tuple[Extent | None, Extent | None]] = Field(
        default_factory=dict, description="record id -> (stored extent, extent of its frames)"
    )
    rebuilt: bool = False

    @property
    def healthy(self) -> bool:
        return not self.mismatches


def wal_path(path: Path) -> Path:
    return path.with_name(path.name + ".wal")


def interrupted_write(path: Path) -> bool:
    """A non-empty WAL beside a file nobody holds open means the last writer died before checkpointing."""
    wal = wal_path(path)
    return wal.is_file() and wal.stat().st_size > 0


def checkpoint(con: duckdb.DuckDBPyConnection) -> None:
    """Fold the WAL into the file now, while this process still runs (see the module docstring)."""
    con.execute("CHECKPOINT")


def rtree_indexes(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Names of the R-tree indexes an Atlas older than schema 6 has; readable before spatial is loaded."""
    return [
        name for (name,) in con.execute(
            "SELECT index_name FROM duckdb_indexes() WHERE sql ILIKE '%USING RTREE%' ORDER BY index_name"
        ).fetchall()
    ]


def drop_unbound_rtrees(con: duckdb.DuckDBPyConnection) -> list[str]:
    """On a connection opened *without* spatial: drop the R-trees, checkpoint, return their names."""
    names = rtree_indexes(con)
    for name in names:
        con.execute(f'DROP INDEX "{name}"')
    if names:
        checkpoint(con)
    return names


def write_extents(con: duckdb.DuckDBPyConnection, record_ids: list[int]) -> None:
    """Set the extents of these versions from their frames as they are now, inside the caller's
    transaction; a version left without located frames loses its extent."""
    # Literal ids: zone maps skip other versions' row groups for `IN (...)`, not for a list parameter.
    ids = ", ".join(str(int(r)) for r in record_ids) or "NULL"
    _set_extents(con, f"version.record_id IN ({ids})", f"AND record_id IN ({ids})")


def _set_extents(con: duckdb.DuckDBPyConnection, versions: str, frames: str) -> None:
    con.execute(
        f"""
        UPDATE version SET min_lon = e.min_lon, min_lat = e.min_lat, max_lon = e.max_lon, max_lat = e.max_lat
        FROM (SELECT version.record_id, x.* EXCLUDE (record_id) FROM version
              LEFT JOIN ({_EXTENTS.format(only=frames)}) AS x USING (record_id) WHERE {versions}) AS e
        WHERE version.record_id = e.record_id
        """
    )


def mismatches(con: duckdb.DuckDBPyConnection) -> tuple[int, dict[int, tuple[Extent | None, Extent | None]]]:
    """(versions with an extent or located frames, record id -> (stored, frames' extent) where they differ)."""
    rows = con.execute(
        f"""
        SELECT v.record_id, v.min_lon, v.min_lat, v.max_lon, v.max_lat, f.min_lon, f.min_lat, f.max_lon, f.max_lat
        FROM version AS v LEFT JOIN ({_EXTENTS.format(only="")}) AS f USING (record_id)
        WHERE v.min_lon IS NOT NULL OR f.record_id IS NOT NULL
        ORDER BY 1
        """
    ).fetchall()
    found: dict[int, tuple[Extent | None, Extent | None]] = {}
    for record_id, *values in rows:
        stored: Extent | None = None if values[0] is None else (values[0], values[1], values[2], values[3])
        actual: Extent | None = None if values[4] is None else (values[4], values[5], values[6], values[7])
        if stored != actual:
            found[record_id] = (stored, actual)
    return len(rows), found


def rebuild(con: duckdb.DuckDBPyConnection) -> None:
    """Write every version's extent again from the frames, in one transaction."""
    con.begin()
    try:
        _set_extents(con, "TRUE", "")
        con.commit()
    except BaseException:
        con.rollback()
        raise


def check(con: duckdb.DuckDBPyConnection, *, repair: bool = True) -> ExtentCheck:
    """Compare each version's stored extent with its frames'; write them all again if any differs."""
    checked, found = mismatches(con)
    report = ExtentCheck(versions_checked=checked, mismatches=found)
    if found and repair:
        rebuild(con)
        report.rebuilt = True
    return report
