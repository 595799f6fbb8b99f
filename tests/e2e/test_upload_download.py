"""A session goes to the local Zenodo and comes back byte for byte, through the real flows."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.helpers import differences
from tests.flows.helpers import session_records
from zenodo_atlas.flows.download import download_session
from zenodo_atlas.flows.upload import upload_session


async def test_upload_raw_and_processed_then_download_by_name_and_doi(zenodo_env, sample_session, tmp_path):
    summary = await upload_session(str(sample_session), raw=True, processed="fmgbi", all_frames=True)

    assert [v.label for v in summary.versions] == ["RAW_DATA", "PROCESSED_DATA"]
    assert summary.concept_doi
    assert zenodo_env.count("POST", "publish") == 2

    by_name = await download_session(str(tmp_path / "by-name"), name=sample_session.name)
    by_doi = await download_session(str(tmp_path / "by-doi"), doi=summary.concept_doi)

    everything = ("DCIM", "GPS", "SENSORS", "METADATA", "PROCESSED_DATA")
    for result in (by_name, by_doi):
        assert result.skipped_restricted == []
        assert differences(sample_session, Path(result.folder), expect_all_of=everything) == []
    assert len(await session_records(zenodo_env, sample_session.name)) == 2
