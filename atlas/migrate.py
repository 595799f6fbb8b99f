"""Versioned schema migrations: `migrations/NNN_<name>.sql`, applied in order, one transaction each.

Each applied file is recorded in `schema_migrations` with its checksum, so a new Atlas reaches the
latest schema in one call and an old one climbs from wherever it stopped. SQL files may use
`{data_dir}` for the folder holding the packaged reference data (CSV and QML files).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources

import duckdb

from zenodo_atlas.atlas.connection import fetch_row
from zenodo_atlas.atlas.errors import MigrationError
from zenodo_atlas.atlas.reference import data_dir

_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def available_migrations() -> list[Migration]:
    found = []
    for entry in resources.files("zenodo_atlas.atlas.migrations").iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise MigrationError(f"Migration files must be numbered 001, 002, ... without gaps; found {versions}.")
    return found


def latest_version() -> int:
    return available_migrations()[-1].version


def _ensure_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, checksum VARCHAR NOT NULL,"
        " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
    )


def _has_table(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(
        fetch_row(con,
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'schema_migrations'"
            " AND database_name = current_database()"
        )[0]
    )


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """The highest applied migration, 0 for an empty database."""
    if not _has_table(con):
        return 0
    return fetch_row(con, "SELECT coalesce(max(version), 0) FROM schema_migrations")[0]


def _render(sql: str) -> str:
    return sql.replace("{data_dir}", data_dir().as_posix().replace("'", "''"))


def migrate(con: duckdb.DuckDBPyConnection, target: int | None = None) -> list[int]:
    """Apply pending migrations up to `target` (default: the latest); return the versions applied."""
    migrations = available_migrations()
    latest = migrations[-1].version
    target = latest if target is None else target
    if not 0 <= target <= latest:
        raise MigrationError(f"Unknown schema version {target}; this code knows versions 0..{latest}.")
    current = schema_version(con)
    if current > latest:
        raise MigrationError(
            f"The Atlas is at schema {current} but this code only knows up to {latest}; upgrade zenodo-atlas."
        )
    if current > target:
        raise MigrationError(f"The Atlas is already at schema {current}; migrations only go forward.")
    applied = []
    for migration in migrations:
        if not current < migration.version <= target:
            continue
        con.begin()
        try:
            _ensure_table(con)
            con.execute(_render(migration.sql))
            con.execute(
                "INSERT INTO schema_migrations (version, name, checksum) VALUES (?, ?, ?)",
                [migration.version, migration.name, migration.checksum],
            )
            con.commit()
        except duckdb.Error as exc:
            con.rollback()
            raise MigrationError(
                f"Migration {migration.version:03d}_{migration.name} failed and was rolled back: {exc}"
            ) from exc
        applied.append(migration.version)
    return applied
