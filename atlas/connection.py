"""Open the Atlas: a DuckDB file with the spatial extension loaded from the wheel and the schema up to date.

DuckDB cannot download extensions here, so the extension binary comes from the
`duckdb-extension-spatial` package and is loaded by path.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import duckdb

from zenodo_atlas.atlas import spatial_index
from zenodo_atlas.atlas.errors import (
    AtlasError,
    AtlasLockedError,
    AtlasNotFoundError,
    ExtensionLoadError,
    MigrationError,
)

__all__ = [
    "AtlasError",
    "AtlasLockedError",
    "AtlasNotFoundError",
    "ExtensionLoadError",
    "MigrationError",
    "connect_atlas",
    "open_atlas",
    "spatial_extension_path",
]


def sql_string(value: str | Path) -> str:
    """A SQL string literal for what DuckDB cannot bind (COPY ... TO targets): quotes doubled."""
    text = value.as_posix() if isinstance(value, Path) else value
    return "'" + text.replace("'", "''") + "'"


def sql_identifier(name: str) -> str:
    """A quoted SQL identifier (class and label names become column names)."""
    return '"' + name.replace('"', '""') + '"'


def spatial_extension_path() -> Path:
    """Where the spatial extension binary for the installed DuckDB lives inside its wheel."""
    try:
        import duckdb_extension_spatial
    except ImportError as exc:
        raise ExtensionLoadError(
            "The package duckdb-extension-spatial is not installed; install the project's dependencies "
            "(pip install -e .) so the spatial extension ships with DuckDB."
        ) from exc
    path = (
        Path(duckdb_extension_spatial.__file__).parent
        / "extensions"
        / f"v{duckdb.__version__}"
        / "spatial.duckdb_extension"
    )
    if not path.is_file():
        raise ExtensionLoadError(
            f"No spatial extension for DuckDB {duckdb.__version__} at {path}; install the "
            f"duckdb-extension-spatial version that matches duckdb=={duckdb.__version__}."
        )
    return path


def _file_identity(path: Path) -> tuple[str, int, int, int]:
    stat = path.stat()
    return str(path), stat.st_ino, stat.st_size, stat.st_mtime_ns


# DuckDB checks the extension's signature by hashing all 80 MB of it for every new database (0.3-0.5 s
# of CPU, half of a one-shot `atlas query`). It is checked once in a scratch database and the checked
# file's identity (path, inode, size, mtime) is remembered in this process and in the user's cache,
# so later processes load the very same, unchanged file without repeating the check. Every Atlas
# connection uses the same configuration, so DuckDB can share one database instance per file.
_verified: set[tuple[str, int, int, int]] = set()


def _verified_marker() -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "zenodo-atlas" / f"spatial-extension-verified-{duckdb.__version__}"


def _identity_text(identity: tuple[str, int, int, int]) -> str:
    return "\n".join(map(str, identity))

# New Atlas files are written in DuckDB's 1.4 storage format. In the default format (compatible with
# DuckDB 0.10.2) every checkpoint rewrites the metadata of every row group of each table it touches, so
# checkpointing one registration took 11 ms in an empty Atlas and 28 ms at 1M frames (20M predictions);
# from 1.4 on it re-uses unchanged row groups' metadata: 9 ms and 17 ms. Blocks of 64 KiB: writers
# append each registration as row groups of its own (see `snapshot.WRITER_VACUUM_TASKS`), whose
# segments start partly filled blocks at every checkpoint; 100 registrations in a row made a file of
# 55 MB with 64 KiB blocks, 97 MB with 128 KiB and 142 MB with 256 KiB (registering: 60-64, 58-69 and
# 72-81 ms). Both settings apply only to files being created; an existing Atlas keeps its format. A
# published Atlas file needs DuckDB 1.4 or later.
STORAGE_VERSION = "v1.4.0"
BLOCK_SIZE = 64 * 1024
CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "allow_unsigned_extensions": "true",
    "storage_compatibility_version": STORAGE_VERSION,
    "default_block_size": str(BLOCK_SIZE),
}
# FSST (strings, geometries) and ALP (doubles) stay off: every checkpoint analyses the columns it
# rewrites with them, which made registering a session ~20% slower (94 -> 113 ms into an empty Atlas,
# 153 -> 177 ms into one of 1M frames) for a file half the size and polygon queries of 7 ms instead
# of 11 ms at 1M frames. Dictionary, RLE and bit-packing compression stay on.
DISABLED_COMPRESSION = "fsst,alp,alprd"


def verified_extension() -> Path:
    """The spatial extension path, its signature checked by DuckDB once in this process."""
    extension = spatial_extension_path()
    identity = _file_identity(extension)
    if identity in _verified:
        return extension
    marker = _verified_marker()
    with contextlib.suppress(OSError):
        if marker.read_text() == _identity_text(identity):
            _verified.add(identity)
            return extension
    scratch = duckdb.connect(":memory:")
    try:
        load_spatial(scratch, extension)
    finally:
        scratch.close()
    _verified.add(identity)
    with contextlib.suppress(OSError):  # a read-only home only means the next process checks again
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(_identity_text(identity))
    return extension


def load_spatial(con: duckdb.DuckDBPyConnection, extension: Path | None = None) -> None:
    try:
        con.load_extension(str(extension or spatial_extension_path()))
    except duckdb.Error as exc:
        raise ExtensionLoadError(
            f"DuckDB refused the spatial extension ({exc}); reinstall duckdb and duckdb-extension-spatial "
            "at matching versions."
        ) from exc


def connect_atlas(path: Path | str, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Connect with spatial loaded but without touching the schema (for `atlas migrate` and tests).

    A writer that finds the WAL of an interrupted write in an Atlas that still has R-tree indexes
    (schema 5 and older) drops them before spatial binds them (see `spatial_index`); a reader refuses
    such a file.
    """
    path = Path(path)
    if path.is_dir():
        raise AtlasError(
            f"--atlas {path} is a folder, not an Atlas file; give the .duckdb file, e.g. "
            f"--atlas {path / 'seatizen_atlas.duckdb'}"
        )
    if read_only and not path.is_file():
        raise AtlasNotFoundError(f"No Atlas at {path}; create it with `zenodo-atlas atlas migrate --atlas {path}`.")
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    extension = verified_extension()
    interrupted = spatial_index.interrupted_write(path)
    try:
        con = duckdb.connect(str(path), read_only=read_only, config=CONFIG)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise AtlasLockedError(
                f"The Atlas {path} is open in another process; close that process (or open read-only) and retry."
            ) from exc
        if "not a valid DuckDB database" in str(exc):
            raise AtlasError(f"{path} is not a DuckDB Atlas file; point --atlas at an Atlas .duckdb file.") from exc
        raise AtlasError(f"Cannot open the Atlas {path}: {exc}; check the path and its permissions.") from exc
    except duckdb.Error as exc:
        raise AtlasError(f"{path} is not a DuckDB Atlas file ({exc}); point --atlas at an Atlas .duckdb file.") from exc
    try:
        if interrupted and read_only and spatial_index.rtree_indexes(con):
            raise AtlasError(
                f"The Atlas {path} holds an interrupted write from an older zenodo-atlas; run "
                f"`zenodo-atlas atlas migrate --atlas {path}` once to repair it, then retry."
            )
        if interrupted and not read_only:
            spatial_index.drop_unbound_rtrees(con)
        load_spatial(con, extension)
        con.execute(f"SET disabled_compression_methods = {sql_string(DISABLED_COMPRESSION)}")
    except BaseException:
        con.close()
        raise
    return con


def open_atlas(path: Path | str, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Connect to the Atlas file (created with its folder if missing) and bring its schema up to date.

    A read-only connection applies no migration: it fails if the file is behind this code's schema.
    """
    from zenodo_atlas.atlas.migrate import latest_version, migrate, schema_version

    con = connect_atlas(path, read_only=read_only)
    try:
        if not read_only:
            migrate(con)
        elif schema_version(con) != latest_version():
            raise MigrationError(
                f"The Atlas {path} is at schema {schema_version(con)}, this code needs {latest_version()}; "
                f"run `zenodo-atlas atlas migrate --atlas {path}` first."
            )
    except BaseException:
        con.close()
        raise
    return con


def rollback(con: duckdb.DuckDBPyConnection) -> None:
    """Roll back what is left of a failed transaction. After a failed COMMIT (a full disk) DuckDB has no
    transaction any more, and the rollback's own error ("no transaction is active") must not replace the
    real one, which names the file and says "No space left on device"."""
    with contextlib.suppress(duckdb.Error):
        con.rollback()


def fetch_row(
    con: duckdb.DuckDBPyConnection, sql: str, params: Sequence[object] | Mapping[str, object] | None = None
) -> tuple[Any, ...]:
    """The one row an aggregate or `RETURNING` statement always yields; a missing row is a bug, said as such."""
    row = con.execute(sql, params).fetchone()
    if row is None:
        raise AtlasError(f"Expected one row from: {' '.join(sql.split())[:80]}")
    return row
