"""Planning the versions of a session upload, without Prefect or Zenodo."""

from __future__ import annotations

from pathlib import Path

import pytest

from zenodo_atlas.sessions.errors import SessionNotReadyError
from zenodo_atlas.sessions.session import Session
from zenodo_atlas.sessions.versions import load_metadata_inputs, plan_versions
from zenodo_atlas.sessions.zenodo_record import PROCESSED_LABEL, RAW_LABEL


def _plan(session: Session, **kwargs):
    template, people = load_metadata_inputs(None)
    options = {"raw": True, "processed": ["METADATA"], "custom": None, "dcim_part_bytes": int(15e9),
               "record_bytes": int(50e9), "all_frames": False, "iso19115": False}
    return plan_versions(session, template=template, people=people, **{**options, **kwargs})


def test_raw_then_processed_with_their_metadata(sample_session: Path) -> None:
    plans = _plan(Session.open(sample_session))
    assert [p.label for p in plans] == [RAW_LABEL, PROCESSED_LABEL]
    assert [p.metadata.version for p in plans] == [RAW_LABEL, PROCESSED_LABEL]
    assert plans[0].drop_all_carried and not plans[1].drop_all_carried
    assert [a.name for a in plans[1].archives if a.name.endswith(".zip")] == ["METADATA.zip"]
    assert plans[1].total_bytes == sum(a.size for a in plans[1].archives) > 0


def test_a_session_that_cannot_be_published_is_refused_with_every_reason(sample_session: Path) -> None:
    (sample_session / "METADATA" / "metadata.csv").unlink()
    with pytest.raises(SessionNotReadyError, match="session check"):
        _plan(Session.open(sample_session), raw=False)
