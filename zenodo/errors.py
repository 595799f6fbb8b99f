"""The client's exceptions: one small hierarchy so callers can catch by meaning, not by status.

Messages carry the method, the URL path (never a query string, which could hold a token) and what
Zenodo said, so a user can act on them.
"""

from __future__ import annotations

from zenodo_atlas.errors import ZenodoAtlasError


class ZenodoError(ZenodoAtlasError):
    """Anything that went wrong talking to Zenodo."""

    def __init__(self, message: str, *, status: int | None = None, field_errors: dict | None = None):
        super().__init__(message)
        self.status = status
        self.field_errors: dict[str, list[str]] = field_errors or {}


class AuthenticationError(ZenodoError):
    """401/403: no token, a wrong token, a missing scope, or a record owned by someone else."""


class RestrictedFilesError(ZenodoError):
    """The record's files are hidden from this client (restricted, closed, embargoed): the owner's
    token is needed. Distinct from AuthenticationError, which means a token was refused (401/403)."""


class NotFoundError(ZenodoError):
    """404 (and 410): the record, draft, file or action does not exist (any more)."""


class ValidationError(ZenodoError):
    """400 with per-field messages (`field_errors` maps field -> messages)."""


class DraftExistsError(ValidationError):
    """400 "Please remove all files first.": a new-version draft with files is already open."""


class QuotaExceededError(ZenodoError):
    """413 or "Bucket quota exceeded.": the record's size or file-count quota is full."""


class RateLimitedError(ZenodoError):
    """429 after the client's retries ran out."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(ZenodoError):
    """5xx (JSON or HTML body) or a broken connection after the client's retries ran out."""


class ChecksumMismatchError(ZenodoError):
    """The md5 Zenodo reports (or the bytes downloaded) differ from the bytes we meant."""


class MissingTokenError(ZenodoError):
    """An operation needs a token and none was given."""


class InvalidInputError(ZenodoError, ValueError):
    """A caller passed something the client cannot use (an unparsable DOI, a bad key, a short source)."""


class ConfirmationRequiredError(InvalidInputError):
    """A destructive call was made without its explicit confirmation argument."""


class DiskFullError(ZenodoAtlasError, OSError):
    """The local disk (or the process's file-size limit) refused a downloaded chunk: the message names
    the file and how many bytes it still needs, which the bare OSError does not."""
