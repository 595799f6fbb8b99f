"""The sessions package's exceptions: project errors that are also ValueErrors (bad input, one line in a CLI)."""

from __future__ import annotations

from zenodo_atlas.errors import ZenodoAtlasError


class SessionError(ZenodoAtlasError, ValueError):
    """Anything wrong with a session on disk or with what was asked of it."""


class InvalidSessionName(SessionError):
    """A folder name that does not follow `YYYYMMDD_CCC-Place_PLATFORM-N_NN`."""


class SessionNotFoundError(SessionError):
    """The path given as a session is not a directory."""


class SessionNotReadyError(SessionError):
    """The session folder lacks what the requested upload needs (see `zenodo-atlas session check`)."""


class PlanError(SessionError):
    """An archive plan that cannot be made as asked."""


class RestrictedFolderError(PlanError):
    """A folder whose content must stay restricted was asked for in an open (processed) archive."""


class RecordTooLargeError(PlanError):
    """What was asked for does not fit in one Zenodo record."""


class ArchiveChangedError(SessionError):
    """A file changed between planning an archive and streaming it, so the announced size is wrong."""


class UnsafeArchiveError(SessionError):
    """A zip member would land outside the extraction folder (or is a link)."""


class TemplateError(SessionError):
    """A metadata template or people file with problems; the message lists every one."""


class MemberNotFoundError(SessionError):
    """A member asked for is not in the zip."""
