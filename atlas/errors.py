"""Exceptions the Atlas raises: each message says what is wrong and how to fix it."""

from __future__ import annotations

from zenodo_atlas.errors import ZenodoAtlasError


class AtlasError(ZenodoAtlasError):
    """Base of every Atlas error, so callers can catch the whole family at once."""


class ExtensionLoadError(AtlasError):
    """The DuckDB spatial extension shipped in the `duckdb-extension-spatial` wheel could not be loaded."""


class AtlasLockedError(AtlasError):
    """Another process holds the Atlas file open for writing."""


class AtlasNotFoundError(AtlasError):
    """A read-only open of an Atlas file that does not exist."""


class MigrationError(AtlasError):
    """A schema migration failed or the database is newer than this code."""


class SessionFileError(AtlasError):
    """A session CSV is missing, unreadable or has bad values."""


class VersionMappingError(AtlasError):
    """A downloaded archive's md5 matches no file of the deposit's Zenodo versions."""


class DepositRefError(AtlasError):
    """Zenodo records that cannot describe one session deposit."""


class AnnotationError(AtlasError):
    """An annotation file that cannot be imported; `problems` lists every issue found."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class QueryError(AtlasError):
    """A frame query with a bad geometry, filter or output path."""
