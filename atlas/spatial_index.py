"""The Atlas's R-tree indexes, kept in step with their tables across crashes.

DuckDB spatial 1.5.5 cannot replay R-tree appends from a write-ahead log (duckdb-spatial #861, fixed
by #862 after 1.5.5): when a process dies between a commit and the next checkpoint, the first use of
the index fails INTERNAL ("Operation requires a flat vector"), later writes fail FATAL or hang, and
the index that comes back lacks the crashed rows, so polygon queries silently miss frames (measured
with ten points and no project code). Hence two rules:

* every writer checkpoints right after its last commit, before it lets the file go (a visit of the
  writer queue commits each session, then checkpoints once), so the WAL is empty whenever no write
  is in flight;
* a non-empty WAL found before opening means such a write was interrupted: the R-tree indexes are
  dropped *before* spatial is loaded (DuckDB only buffers their replay until the extension binds
  them, so dropping them never runs the broken replay), the WAL is folded into the file, and the
  indexes are rebuilt from their own SQL.

`check` verifies each index against a scan and rebuilds the ones that disagree (`atlas check`).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
from pydantic import BaseModel, Field

# Frames per session through the R-tree (ST_Intersects with the session's own bounding box, which the
# optimiser answers from the index) and by a scan of the point coordinates (which it cannot).
_SESSION_BOXES = """
    SELECT d.session_name, min(ST_X(f.geom)), min(ST_Y(f.geom)), max(ST_X(f.geom)), max(ST_Y(f.geom)), count(*)
    FROM frame AS f JOIN version AS v ON v.record_id = f.record_id JOIN deposit AS d USING (concept_recid)
    WHERE f.geom IS NOT NULL
    GROUP BY d.session_name ORDER BY d.session_name
"""


class IndexCheck(BaseModel):
    """What `check` found: sessions whose R-tree count differs from the scan, and what was rebuilt."""

    sessions_checked: int = 0
    mismatches: dict[str, tuple[int, int]] = Field(
        default_factory=dict, description="session -> (frames found through the R-tree, frames by scan)"
    )
    rebuilt: list[str] = Field(default_factory=list, description="R-tree indexes dropped and created again")

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


def rtree_indexes(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    """(name, CREATE statement) of every R-tree index; readable before spatial is loaded."""
    return con.execute(
        "SELECT index_name, sql FROM duckdb_indexes() WHERE sql ILIKE '%USING RTREE%' ORDER BY index_name"
    ).fetchall()


def drop_unbound_rtrees(con: duckdb.DuckDBPyConnection) -> list[str]:
    """On a connection opened *without* spatial: drop the R-trees, checkpoint, return their SQL."""
    indexes = rtree_indexes(con)
    for name, _ in indexes:
        con.execute(f'DROP INDEX "{name}"')
    checkpoint(con)
    return [sql for _, sql in indexes]


def create_indexes(con: duckdb.DuckDBPyConnection, statements: list[str]) -> None:
    """Run CREATE INDEX statements (spatial loaded) and checkpoint so the new indexes never sit in a WAL."""
    for sql in statements:
        con.execute(sql)
    checkpoint(con)


def rebuild(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Drop and re-create every R-tree index from the table (spatial loaded); returns their names."""
    indexes = rtree_indexes(con)
    con.begin()
    try:
        for name, sql in indexes:
            con.execute(f'DROP INDEX "{name}"')
            con.execute(sql)
        con.commit()
    except BaseException:
        con.rollback()
        raise
    checkpoint(con)
    return [name for name, _ in indexes]


def mismatches(con: duckdb.DuckDBPyConnection) -> tuple[int, dict[str, tuple[int, int]]]:
    """(sessions checked, session -> (R-tree count, scan count) where they differ)."""
    found: dict[str, tuple[int, int]] = {}
    boxes = con.execute(_SESSION_BOXES).fetchall()
    for session, xmin, ymin, xmax, ymax, _ in boxes:
        # Literal coordinates: the optimiser only uses the R-tree for a constant geometry.
        box = f"ST_MakeEnvelope({xmin!r}, {ymin!r}, {xmax!r}, {ymax!r})"
        via_index = _count(con, f"SELECT count(*) FROM frame WHERE ST_Intersects(geom, {box})", [])
        by_scan = _count(
            con,
            "SELECT count(*) FROM frame WHERE ST_X(geom) BETWEEN ? AND ? AND ST_Y(geom) BETWEEN ? AND ?",
            [xmin, xmax, ymin, ymax],
        )
        if via_index != by_scan:
            found[session] = (via_index, by_scan)
    return len(boxes), found


def _count(con: duckdb.DuckDBPyConnection, sql: str, params: list[object]) -> int:
    (count,) = con.execute(sql, params).fetchall()[0]  # count(*) always yields one row
    return int(count)


def check(con: duckdb.DuckDBPyConnection, *, repair: bool = True) -> IndexCheck:
    """Compare the frame R-tree with a scan for every session; rebuild the indexes if any differs."""
    checked, found = mismatches(con)
    report = IndexCheck(sessions_checked=checked, mismatches=found)
    if found and repair:
        report.rebuilt = rebuild(con)
    return report
