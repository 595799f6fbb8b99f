"""The project's error root and the one-line message helper every report uses."""

from __future__ import annotations

import pytest

from zenodo_atlas.atlas.errors import AtlasError
from zenodo_atlas.deployments.errors import DeploymentSpecError, PrefectServerUnavailable
from zenodo_atlas.errors import ZenodoAtlasError, one_line
from zenodo_atlas.flows.download import DownloadBatchFailedError
from zenodo_atlas.flows.register import RegistrationFailedError
from zenodo_atlas.flows.upload import BatchFailedError
from zenodo_atlas.sessions.errors import SessionError, SessionNotReadyError
from zenodo_atlas.tasks.deposit import DuplicateSessionError, PublicationConflictError
from zenodo_atlas.tasks.resolve import SessionNotFoundOnZenodo
from zenodo_atlas.tasks.transfer import DraftVerificationError
from zenodo_atlas.zenodo.errors import ZenodoError


@pytest.mark.parametrize(
    "error",
    [ZenodoError, SessionError, AtlasError, DeploymentSpecError, PrefectServerUnavailable, DuplicateSessionError,
     PublicationConflictError, SessionNotFoundOnZenodo, DraftVerificationError, SessionNotReadyError,
     RegistrationFailedError, BatchFailedError, DownloadBatchFailedError],
)
def test_every_project_error_has_the_root(error: type[Exception]) -> None:
    assert issubclass(error, ZenodoAtlasError)


def test_session_errors_stay_value_errors_for_callers_catching_bad_input() -> None:
    assert issubclass(SessionError, ValueError)


class _BrokenStr(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no text")


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (TimeoutError(), "TimeoutError"),
        (ValueError(""), "ValueError"),
        (ValueError("\n  \n"), "ValueError"),
        (ValueError("\n  first real line  \nsecond"), "first real line"),
        (KeyError("k"), "'k'"),
        (_BrokenStr(), "_BrokenStr"),
    ],
)
def test_one_line_never_raises_and_keeps_the_first_meaningful_line(exc: BaseException, expected: str) -> None:
    assert one_line(exc) == expected
