"""A session new to Zenodo's lagging search uploads at once and confirms before publishing.

zenodo.org's search shows a write seconds later (InvenioRDM indexes without refresh:
invenio-drafts-resources services/records/service.py), so "no record declares this session" is only
true once that lag has passed. The upload no longer waits it out before sending bytes: the first
draft's transfer overlaps the lag, and before publishing, `confirm_first_claim` looks again. The
oldest claim wins, so two runs racing on one new session still make one concept.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.zenodo_server import TOKEN, ZenodoTestServer
from zenodo_atlas.flows.publication import publish_version
from zenodo_atlas.flows.upload import upload_session
from zenodo_atlas.settings import load_settings
from zenodo_atlas.tasks.archive import plan_session
from zenodo_atlas.tasks.deposit import ClaimedMeanwhileError, find_session
from zenodo_atlas.zenodo.client import ZenodoClient
from zenodo_atlas.zenodo.server import Realism

LAG = 1.5


@pytest.fixture
def zenodo_server(tmp_path: Path) -> Iterator[ZenodoTestServer]:
    """Overrides the plain server for `zenodo_env`: a search that lags writes, nothing else."""
    realism = Realism(index_lag=LAG, timeout_after_commit_rate=0.0, guest_per_minute=100_000,
                      token_per_minute=100_000, search_per_minute=100_000)
    with ZenodoTestServer(tokens={TOKEN: 1}, data_dir=tmp_path / "z", realism=realism) as srv:
        yield srv


@pytest.fixture(autouse=True)
def _unlimited(monkeypatch):
    monkeypatch.setenv("ATLAS_RATE_LIMIT_PER_MINUTE", "100000")


def _declaring(server: ZenodoTestServer, name: str) -> list:
    urn = f"urn:{name}"
    return [
        r for r in server.store.records()
        if any(i.get("identifier") == urn
               for i in ((r.published or r.draft).metadata.get("related_identifiers") or []))  # type: ignore[union-attr]
    ]


async def test_a_new_session_sends_its_bytes_before_the_search_lag_has_passed(zenodo_env, sample_session):
    await upload_session(str(sample_session), raw=True)

    kinds = [r.kind for r in zenodo_env.request_log]
    create = kinds.index("deposit_create")
    assert kinds[:create].count("records_search") == 1, "one look, no waiting out the lag before the draft"
    last_put = max(i for i, kind in enumerate(kinds) if kind == "bucket_put")
    assert "records_search" in kinds[last_put:kinds.index("publish")], "the confirming look before publishing"
    [record] = _declaring(zenodo_env, sample_session.name)
    assert record.published is not None and record.draft is None


async def test_two_runs_that_both_saw_a_new_session_publish_one_concept(zenodo_env, sample_session):
    settings = load_settings()
    session, [plan] = await plan_session(
        str(sample_session), raw=True, processed=None, custom=None, template_path=settings.template_path(),
        dcim_part_bytes=10**10, record_bytes=5 * 10**10,
    )
    name = session.name.raw
    async with ZenodoClient(zenodo_env.api_url, zenodo_env.token, rate_limit_per_minute=100_000,
                            search_lag=settings.search_lag) as client:
        states = [await find_session(client, name, with_drafts=True, settle_empty=False) for _ in range(2)]
        assert [s.search_settled for s in states] == [False, False], "both runs saw no claim yet"
        outcomes = await asyncio.gather(
            *[publish_version(client, name, session.rules, plan, state, concurrency=2, global_limit=4)
              for state in states],
            return_exceptions=True,
        )

    failed = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(failed) == 1 and isinstance(failed[0], ClaimedMeanwhileError), outcomes
    assert "claimed meanwhile" in str(failed[0]) and "published nothing" in str(failed[0])
    assert zenodo_env.count("POST", "deposit_create") == 2, "each run opened its own draft"
    records = _declaring(zenodo_env, name)
    assert [r.draft for r in records] == [None], "one published concept, the loser's draft deleted"
    assert records[0].published is not None and records[0].published.metadata.get("version") == "RAW_DATA"
