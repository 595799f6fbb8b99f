"""migrate-check over a community holding predecessor-style, zenodo-atlas and broken records."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.fixtures.predecessor import publish_like_predecessor
from tests.flows.helpers import owner_client
from tests.flows.test_atlas_flows import publish_broken_session, publish_processed
from zenodo_atlas.flows.migrate_check import migrate_check


@pytest.fixture(autouse=True)
def community(monkeypatch):
    monkeypatch.setenv("ATLAS_COMMUNITIES", '["seatizen-data"]')


async def _server_state(server) -> list[tuple]:
    async with owner_client(server) as client:
        records = [r async for r in client.search_records(None, all_versions=True)]
        drafts = await client.list_depositions(status="draft")
    published = sorted((r.id, r.version_label, tuple(sorted(f.md5 for f in r.files))) for r in records)
    return [*published, ("drafts", len(drafts))]


async def test_migrate_check_reports_every_record_and_writes_nothing(zenodo_env, sample_sessions, tmp_path):
    old = sample_sessions(name="20231018_REU-ST-LEU_ASV-2_01")
    await publish_like_predecessor(zenodo_env, old, tmp_path / "predecessor")
    ours = sample_sessions(platform="UAV")
    await publish_processed(ours)
    await publish_broken_session(zenodo_env, "20240101_REU-Broken_ASV-1_01")
    before = await _server_state(zenodo_env)
    writes_before = [r for r in zenodo_env.request_log if r.method != "GET"]

    result = await migrate_check()

    lines = {r.name: r for r in result.records}
    assert set(lines) == {old.name, ours.name, "20240101_REU-Broken_ASV-1_01"}
    assert lines[old.name].can_download and lines[old.name].can_register
    assert lines[ours.name].can_download and lines[ours.name].can_register
    broken = lines["20240101_REU-Broken_ASV-1_01"]
    assert not broken.can_register and "METADATA.zip" in broken.reason and broken.line().startswith("NO ")
    assert result.summary() == "3 record(s): 3 downloadable, 2 registrable, 1 need attention"
    assert [r for r in zenodo_env.request_log if r.method != "GET"] == writes_before
    assert await _server_state(zenodo_env) == before
    assert not Path(os.environ["ATLAS_ATLAS_PATH"]).exists()
