"""The whole life of several sessions against a zenodo.org-like server (realistic mode).

Search lags every write by 2 s and a quarter of creates, newversions, publishes and file PUTs are
applied and then answered 504. Upload (raw + processed), re-runs, download, register, auto-update
and publish-atlas must leave the server with one concept per session, exactly the versions asked
for, no draft left open and every stored file intact. Requests per operation are printed so a
regression in request counts shows in the log.

Request budgets are raised here (they would only make this test minutes long); they are pinned by
tests/zenodo/server/test_realistic.py and the client's 429 handling by tests/zenodo/test_http.py.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.helpers import differences
from tests.fixtures.zenodo_server import OTHER_TOKEN, TOKEN, ZenodoTestServer
from zenodo_atlas.flows.auto_update import auto_update
from zenodo_atlas.flows.download import download_session
from zenodo_atlas.flows.publish_atlas import publish_atlas
from zenodo_atlas.flows.register import register_sessions
from zenodo_atlas.flows.upload import upload_sessions
from zenodo_atlas.zenodo.server import Realism

LAG = 2.0
TIMEOUT_RATE = 0.25
PLATFORMS = ("ASV", "UAV", "SCUBA")


@pytest.fixture
def zenodo_server(tmp_path: Path) -> Iterator[ZenodoTestServer]:
    """Overrides the plain server for `zenodo_env`: realistic mode, seeded."""
    realism = Realism(index_lag=LAG, timeout_after_commit_rate=TIMEOUT_RATE, seed=5,
                      guest_per_minute=100_000, token_per_minute=100_000, search_per_minute=100_000)
    with ZenodoTestServer(tokens={TOKEN: 1, OTHER_TOKEN: 2}, data_dir=tmp_path / "z", realism=realism) as srv:
        yield srv


@pytest.fixture(autouse=True)
def _settings(monkeypatch):
    monkeypatch.setenv("ATLAS_COMMUNITIES", '["seatizen-data"]')
    monkeypatch.setenv("ATLAS_RATE_LIMIT_PER_MINUTE", "100000")


class Requests:
    """Counts the server's answered requests per operation of the test."""

    def __init__(self, server: ZenodoTestServer):
        self.server, self.start, self.table = server, 0, {}

    def done(self, operation: str) -> None:
        log = self.server.request_log
        self.table[operation] = Counter(f"{r.method} {r.kind}" for r in log[self.start:])
        self.start = len(log)

    def report(self) -> str:
        lines = ["requests per operation (realistic mode):"]
        for operation, counts in self.table.items():
            detail = ", ".join(f"{k} {n}" for k, n in sorted(counts.items()))
            lines.append(f"  {operation}: {sum(counts.values())} ({detail})")
        return "\n".join(lines)


def _declares(metadata: dict, urn: str) -> bool:
    return any(r.get("identifier") == urn for r in metadata.get("related_identifiers") or [])


async def test_sessions_survive_a_lagging_timing_out_zenodo(zenodo_env, sample_sessions, tmp_path):
    srv = zenodo_env
    sessions = [sample_sessions(platform=p, frames=8, dcim_mb=0.2) for p in PLATFORMS]
    paths = [str(s) for s in sessions]
    requests = Requests(srv)

    batch = await upload_sessions(paths, raw=True, processed="fmgbi")
    assert not batch.failed and len(batch.succeeded) == len(sessions)
    requests.done("upload raw+processed")

    again = await upload_sessions(paths, raw=True)
    assert not again.failed and all(s.versions == [] for s in again.succeeded), "RAW parts already published"
    requests.done("re-run raw")
    same = await upload_sessions(paths, processed="fmgbi")
    assert not same.failed and all(s.versions == [] and s.unchanged for s in same.succeeded), "same archives"
    assert [[u.split()[0] for u in s.unchanged] for s in same.succeeded] == [["PROCESSED_DATA"]] * len(sessions)
    requests.done("re-run processed (nothing to do)")

    for session in sessions:
        result = await download_session(str(tmp_path / "back"), name=session.name)
        assert differences(session, Path(result.folder), expect_all_of=("DCIM", "METADATA")) == []
    requests.done("download")

    await register_sessions([s.name for s in sessions[:-1]])
    requests.done("register")
    refresh = await auto_update(publish=False)
    statuses = {o.session: o.status for o in refresh.outcomes}
    assert statuses == {sessions[-1].name: "added"} | {s.name: "skipped" for s in sessions[:-1]}
    requests.done("auto-update")

    first = await publish_atlas()
    second = await publish_atlas()
    assert first.published and not second.published and second.reason == "content unchanged"
    requests.done("publish-atlas twice")
    print(requests.report())

    records = srv.store.records()
    assert [r.id for r in records if r.draft is not None] == [], "orphan drafts"
    for urn, labels in [*((f"urn:{s.name}", ["RAW_DATA", "PROCESSED_DATA"]) for s in sessions),
                        ("urn:seatizen-atlas", ["v1.0.0"])]:
        mine = [r for r in records if r.published and _declares(r.published.metadata, urn)]
        assert len({r.conceptrecid for r in mine}) == 1, f"duplicate concepts for {urn}"
        assert [r.published.metadata.get("version") for r in sorted(mine, key=lambda r: r.id)] == labels, urn
    assert len({r.conceptrecid for r in records}) == len(sessions) + 1
    for record in records:
        for stored in record.published.files:
            blob = srv.store.blob_path(stored.blob).read_bytes()
            assert hashlib.md5(blob).hexdigest() == stored.md5, f"{record.id}/{stored.key}"
    timeouts = Counter(r.kind for r in srv.request_log if r.status == 504)
    assert sum(timeouts.values()) >= 5 and {"publish", "bucket_put"} <= set(timeouts), timeouts
