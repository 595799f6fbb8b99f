"""The client against a zenodo.org-like server: lagging search and 504s after applied actions.

Every create, newversion, publish and file PUT below is applied and then answered 504 (rate 1.0);
the client must settle each from state that does not lag (GET by id, RDM versions get-or-create,
the bucket's md5) and never send an applied action twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.zenodo_server import OTHER_TOKEN, TOKEN, ZenodoTestServer
from zenodo_atlas.zenodo.client import ZenodoClient
from zenodo_atlas.zenodo.models import Creator, DepositMetadata
from zenodo_atlas.zenodo.server import FaultConfig, Realism
from zenodo_atlas.zenodo.server.faults import COMMITTING_KINDS
from zenodo_atlas.zenodo.streams import BytesSource

LAG = 1.0


@pytest.fixture
def always_504(tmp_path: Path) -> Iterator[ZenodoTestServer]:
    realism = Realism(index_lag=LAG, token_per_minute=10_000, search_per_minute=10_000)
    # Every legacy action and file PUT times out after being applied; the RDM get-or-create used
    # to settle them answers (at rate 1.0 nothing could ever settle).
    faults = FaultConfig(timeout_after_commit_rate=1.0,
                         timeout_after_commit_kinds=COMMITTING_KINDS - {"rdm_new_version"})
    with ZenodoTestServer(tokens={TOKEN: 1, OTHER_TOKEN: 2}, data_dir=tmp_path / "z", realism=realism,
                          faults=faults) as srv:
        yield srv


def _meta(title: str) -> DepositMetadata:
    return DepositMetadata(title=title, creators=[Creator(name="Doe, Jane")], description="d", license="cc-by-4.0")


async def test_lifecycle_when_every_applied_action_times_out(always_504):
    srv = always_504
    raw, processed = b"raw bytes " * 5000, b"processed " * 7000
    async with ZenodoClient(srv.api_url, srv.token, backoff_base=0.01, backoff_max=0.05,
                            rate_limit_per_minute=100_000, search_lag=LAG * 3) as zc:
        draft = await zc.create_deposition(_meta("Lagging survey"))
        sent = await zc.upload(draft.bucket_url, "raw.bin", BytesSource(raw))
        first = await zc.publish(draft.id)
        second_draft = await zc.new_version(first.id)
        assert [f.filename for f in second_draft.files] == ["raw.bin"], "the legacy newversion's own draft"
        for carried in second_draft.files:
            await zc.delete_file(second_draft.id, carried.id)
        await zc.upload(second_draft.bucket_url, "processed.bin", BytesSource(processed))
        second = await zc.publish(second_draft.id)

    assert sent.md5 == hashlib.md5(raw).hexdigest()
    assert first.state == second.state == "done" and first.conceptrecid == second.conceptrecid
    # Each applied action was sent once: the 504 was settled, not resent.
    assert srv.count("POST", "deposit_create") == 1
    assert srv.count("PUT", "bucket_put") == 2
    assert srv.count("POST", "publish") == 2
    assert srv.count("POST", "newversion") == 1
    assert srv.count("POST", "rdm_new_version") == 1
    state = srv.store
    assert [r.id for r in state.records() if r.draft is not None] == [], "no orphan draft"
    assert len({r.conceptrecid for r in state.records()}) == 1
    assert [f.md5 for r in state.versions(int(first.conceptrecid)) for f in r.published.files] == [
        hashlib.md5(raw).hexdigest(), hashlib.md5(processed).hexdigest()]


async def test_put_resent_only_when_the_stored_md5_differs(always_504):
    """A PUT cut before its body was fully sent is resent; one answered 504 after storing is not."""
    srv = always_504
    async with ZenodoClient(srv.api_url, srv.token, backoff_base=0.01, backoff_max=0.05,
                            rate_limit_per_minute=100_000, search_lag=LAG * 3) as zc:
        draft = await zc.create_deposition(_meta("Resend check"))
        first = await zc.upload(draft.bucket_url, "a.bin", BytesSource(b"v1" * 1000))
        second = await zc.upload(draft.bucket_url, "a.bin", BytesSource(b"v2" * 1000))
        listed = await zc.list_files(draft.id)
    assert first.md5 != second.md5
    assert [(f.filename, f.md5) for f in listed] == [("a.bin", second.md5)]
    assert srv.count("PUT", "bucket_put") == 2 and srv.count("GET", "bucket_list") == 2
