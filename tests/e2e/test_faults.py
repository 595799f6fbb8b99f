"""Five sessions go up and come back while the local Zenodo misbehaves the way zenodo.org does."""

from __future__ import annotations

import logging
from pathlib import Path

from tests.e2e.helpers import differences
from tests.flows.helpers import session_records
from zenodo_atlas.flows.download import download_session
from zenodo_atlas.flows.upload import upload_sessions
from zenodo_atlas.zenodo.server import FaultConfig

PLATFORMS = ("ASV", "UAV", "AUV", "SCUBA", "UVC")


async def test_five_sessions_upload_and_download_through_faults(zenodo_env, sample_sessions, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    sessions = [sample_sessions(platform=p, frames=12, dcim_mb=0.3) for p in PLATFORMS]
    zenodo_env.set_faults(FaultConfig(
        error_rate=0.1, reset_rate=0.1, burst_429_every=60, publish_504_after_commit=True, seed=11,
    ))

    batch = await upload_sessions([str(s) for s in sessions], raw=True, processed="fmgbi")
    rebuilt = [await download_session(str(tmp_path / "back"), name=s.name) for s in sessions]

    zenodo_env.set_faults(None)
    assert not batch.failed and len(batch.succeeded) == len(PLATFORMS)
    kinds = {r.status for r in zenodo_env.request_log}
    assert {429, 504} <= kinds and kinds & {500, 502, 503} and 0 in kinds
    for session, result in zip(sessions, rebuilt, strict=True):
        records = await session_records(zenodo_env, session.name)
        assert [r.version_label for r in records] == ["RAW_DATA", "PROCESSED_DATA"]
        assert len({r.conceptrecid for r in records}) == 1
        assert differences(session, Path(result.folder), expect_all_of=("DCIM", "METADATA")) == []
    assert zenodo_env.token not in caplog.text
