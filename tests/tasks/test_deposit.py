"""find_session when zenodo.org's search lags: the plan must rest on what Zenodo holds now.

The server is restarted on its saved state in realistic mode with an index lag longer than the
test, so its search (records and deposit lists) stays frozen on that saved state: no timing involved.
"""

from __future__ import annotations

from pathlib import Path

from tests.fixtures.zenodo_server import OTHER_TOKEN, TOKEN, ZenodoTestServer
from zenodo_atlas.sessions.zenodo_record import session_urn
from zenodo_atlas.tasks.deposit import find_session
from zenodo_atlas.zenodo.client import ZenodoClient
from zenodo_atlas.zenodo.models import Creator, Deposition, DepositMetadata, RelatedIdentifier
from zenodo_atlas.zenodo.server import Realism
from zenodo_atlas.zenodo.streams import BytesSource

NAME = "20231021_REU-ST-LEU_SCUBA-1_01"
FROZEN = Realism(index_lag=3600.0, timeout_after_commit_rate=0.0, guest_per_minute=100_000,
                 token_per_minute=100_000, search_per_minute=100_000)


def _server(data_dir: Path, realism: Realism | None = None) -> ZenodoTestServer:
    return ZenodoTestServer(tokens={TOKEN: 1, OTHER_TOKEN: 2}, data_dir=data_dir, realism=realism)


def _client(server: ZenodoTestServer, search_lag: float = 0.0) -> ZenodoClient:
    return ZenodoClient(server.api_url, server.token, rate_limit_per_minute=100_000, search_lag=search_lag)


def _meta(label: str) -> DepositMetadata:
    return DepositMetadata(
        title=f"{NAME} {label}", creators=[Creator(name="Doe, Jane")], description="A dive.",
        license="cc-by-4.0", version=label,
        related_identifiers=[RelatedIdentifier(identifier=session_urn(NAME), relation="isAlternateIdentifier")],
    )


async def _raw_draft(data_dir: Path) -> Deposition:
    """A RAW_DATA draft with its file, saved by a server whose search does not lag."""
    with _server(data_dir) as srv:
        async with _client(srv) as zc:
            draft = await zc.create_deposition(_meta("RAW_DATA"))
            await zc.upload(draft.bucket_url, "DCIM.zip", BytesSource(b"raw bytes"))
            return draft


async def _next_version(zc: ZenodoClient, record_id: int, label: str) -> int:
    draft = await zc.new_version(record_id)
    await zc.update_deposition(draft.id, _meta(label))
    return (await zc.publish(draft.id)).id


async def test_versions_only_the_draft_list_hints_at_are_read_by_id(tmp_path):
    # The search still shows the raw version as a draft and nothing published, as in the e2e run where
    # a re-run right after the upload published PROCESSED_DATA a second time.
    draft = await _raw_draft(tmp_path / "z")
    with _server(tmp_path / "z", FROZEN) as srv:
        async with _client(srv) as zc:
            raw = (await zc.publish(draft.id)).id
            processed = await _next_version(zc, raw, "PROCESSED_DATA")
            assert await zc.records_by_identifier(session_urn(NAME)) == [], "the search must lag here"
            state = await find_session.fn(zc, NAME, with_drafts=True)
    assert [r.id for r in state.published] == [raw, processed]
    assert state.labels() == ["RAW_DATA", "PROCESSED_DATA"] and state.draft is None


async def test_a_search_missing_middle_versions_is_waited_out(tmp_path):
    # The latest version's index says two versions precede it; the lagging search shows one of them.
    draft = await _raw_draft(tmp_path / "z")
    with _server(tmp_path / "z", FROZEN) as srv:
        async with _client(srv, search_lag=0.5) as zc:
            raw = (await zc.publish(draft.id)).id
            processed = await _next_version(zc, raw, "PROCESSED_DATA")
            custom = await _next_version(zc, processed, "CUSTOM")
            before = srv.count("GET", "deposit_list")
            state = await find_session.fn(zc, NAME, with_drafts=True)
            looks = srv.count("GET", "deposit_list") - before
    assert looks > 1, "an answer short of the latest's index must be searched again"
    assert [r.id for r in state.published] == [raw, custom], "then believed, with the latest read by id"
