"""The whole deposit flow under injected faults: nothing duplicated, nothing corrupted, no token leaked."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re

import pytest

from zenodo_atlas.zenodo.client import ZenodoClient
from zenodo_atlas.zenodo.errors import ServerError, ZenodoError
from zenodo_atlas.zenodo.models import Creator, DepositMetadata
from zenodo_atlas.zenodo.server import FaultConfig
from zenodo_atlas.zenodo.streams import BytesSource


def _meta(title: str) -> DepositMetadata:
    return DepositMetadata(
        title=title, creators=[Creator(name="Doe, Jane")], description="Faulty day.", license="cc-by-4.0"
    )


def _payload(i: int) -> bytes:
    return hashlib.sha256(str(i).encode()).digest() * (1000 + 997 * i)


def _client(server, **kwargs) -> ZenodoClient:
    """A fast-retrying client; search_lag 0 because this server's search does not lag (no realism)."""
    return ZenodoClient(
        server.api_url, server.token, backoff_base=0.01, backoff_max=0.05, rate_limit_per_minute=100_000,
        **({"search_lag": 0.0} | kwargs),
    )


async def test_deposit_upload_publish_new_version_under_faults(zenodo_server, caplog):
    caplog.set_level(logging.DEBUG)
    zenodo_server.set_faults(
        FaultConfig(error_rate=0.1, reset_rate=0.1, burst_429_every=40, publish_504_after_commit=True, seed=3)
    )
    files = {f"part_{i:02d}.bin": _payload(i) for i in range(20)}
    slots = asyncio.Semaphore(4)
    caught: list[str] = []

    async def put(zc: ZenodoClient, bucket: str, key: str, data: bytes) -> str:
        async with slots:
            return (await zc.upload(bucket, key, BytesSource(data, chunk_size=64 * 1024))).md5

    async with _client(zenodo_server, max_retries=10) as zc:
        try:
            draft = await zc.create_deposition(_meta("Faulty survey"))
            md5s = await asyncio.gather(*(put(zc, draft.bucket_url, k, v) for k, v in files.items()))
            first = await zc.publish(draft.id)
            second_draft = await zc.new_version(first.id)
            for carried in await zc.list_files(second_draft.id):
                await zc.delete_file(second_draft.id, carried.id)
            await put(zc, second_draft.bucket_url, "processed.bin", b"processed" * 5000)
            second = await zc.publish(second_draft.id)
        except ZenodoError as exc:  # recorded so the token check below also covers a failure
            caught.append(str(exc))
            raise

    assert md5s == [hashlib.md5(v).hexdigest() for v in files.values()]
    log = zenodo_server.request_log
    assert sum(r.status == 429 for r in log) >= 3
    assert sum(r.status in (500, 502, 503) for r in log) >= 3
    assert any(r.status == 0 for r in log)  # a cut upload
    assert any(r.status == 504 for r in log)  # publish committed, then the gateway gave up
    committed = [r for r in log if r.path.endswith("/actions/publish") and r.status in (202, 504)]
    assert len(committed) == 2  # one per version: a committed publish is never sent again

    zenodo_server.set_faults(None)
    async with _client(zenodo_server) as zc:
        depositions = await zc.list_depositions(all_versions=True)
        assert len({d.conceptrecid for d in depositions}) == 1
        assert sorted(d.id for d in depositions) == sorted([first.id, second.id])
        versions = await zc.record_versions(second.id)
        assert [v.id for v in versions] == [first.id, second.id]
        assert {f.key: f.md5 for f in versions[0].files} == {k: hashlib.md5(v).hexdigest() for k, v in files.items()}
        assert [f.key for f in versions[1].files] == ["processed.bin"]
        assert versions[1].files[0].md5 == hashlib.md5(b"processed" * 5000).hexdigest()

    secret = zenodo_server.token
    lines = [r.getMessage() for r in caplog.records]
    assert any("retrying" in line for line in lines)
    assert not [line for line in lines if secret in line]
    assert not [text for text in caught if secret in text]


async def test_publish_504_after_commit_is_not_resent(zenodo_server):
    zenodo_server.set_faults(FaultConfig(publish_504_after_commit=True))
    async with _client(zenodo_server) as zc:
        draft = await zc.create_deposition(_meta("Slow publish"))
        await zc.upload(draft.bucket_url, "a.txt", BytesSource(b"a"))
        published = await zc.publish(draft.id)
    assert published.state == "done" and published.doi
    assert zenodo_server.count("POST", "publish") == 1
    assert [r.status for r in zenodo_server.request_log if r.path.endswith("/actions/publish")] == [504]


async def test_create_with_metadata_under_errors_makes_exactly_one_draft(zenodo_server):
    zenodo_server.set_faults(FaultConfig(error_rate=0.5, html_error_share=0.5, seed=11))
    async with _client(zenodo_server, max_retries=12) as zc:
        created = await zc.create_deposition(_meta("Once only"))
    zenodo_server.set_faults(None)
    async with _client(zenodo_server) as zc:
        drafts = await zc.list_depositions(status="draft")
    assert [d.id for d in drafts] == [created.id]
    creates = [r for r in zenodo_server.request_log if r.method == "POST" and r.path == "/api/deposit/depositions"]
    assert any(r.status >= 500 for r in creates)


async def test_create_without_metadata_is_not_resent_after_a_5xx(zenodo_server):
    zenodo_server.set_faults(FaultConfig(error_rate=1.0, html_error_share=0.0))
    async with _client(zenodo_server, max_retries=3) as zc:
        with pytest.raises(ServerError, match=r"POST /api/deposit/depositions failed: HTTP 50\d"):
            await zc.create_deposition()
    assert zenodo_server.count("POST", "deposit_create") == 1


async def test_new_version_discard_and_delete_under_errors(zenodo_server):
    async with _client(zenodo_server, max_retries=12) as zc:
        draft = await zc.create_deposition(_meta("Versions"))
        await zc.upload(draft.bucket_url, "a.txt", BytesSource(b"a"))
        first = await zc.publish(draft.id)
        zenodo_server.set_faults(FaultConfig(error_rate=0.5, seed=1))
        for _ in range(3):
            opened = await zc.new_version(first.id)
            assert opened.state == "unsubmitted" and opened.conceptrecid == first.conceptrecid
            await zc.discard(opened.id)
            throwaway = await zc.create_deposition(_meta("Throwaway"))
            await zc.delete_deposition(throwaway.id)
        zenodo_server.set_faults(None)
        remaining = await zc.list_depositions(all_versions=True)
    assert [d.id for d in remaining] == [first.id]
    failed = [r for r in zenodo_server.request_log if r.status >= 500]
    assert any(r.path.endswith(("/actions/newversion", "/actions/discard")) or r.method == "DELETE" for r in failed)


async def test_reset_upload_restarts_the_stream_and_rewinds_progress(zenodo_server):
    data = _payload(300)  # ~9.6 MB, streamed in 256 KiB chunks
    async with _client(zenodo_server, max_retries=10) as zc:
        draft = await zc.create_deposition(_meta("Resets"))
        zenodo_server.set_faults(FaultConfig(reset_rate=0.6, seed=3))
        deltas: list[int] = []
        result = await zc.upload(
            draft.bucket_url, "big.bin", BytesSource(data, chunk_size=256 * 1024), progress=deltas.append
        )
    cut = [r for r in zenodo_server.request_log if r.path.startswith("/api/files/") and r.status == 0]
    assert cut, "the fault injector should have cut at least one upload"
    assert result.md5 == hashlib.md5(data).hexdigest() == result.server.md5
    assert any(d < 0 for d in deltas) and sum(deltas) == len(data)


@pytest.mark.parametrize(
    ("route", "value", "what"),
    [
        ("record_get", 5, r"a JSON number \(5\) where a Record object"),
        ("record_get", [1, 2], r"a JSON list of 2 item\(s\) where a Record object"),
        ("records_search", "busy", r'a JSON string \("busy"\) where a search page'),
    ],
)
async def test_wrong_shaped_json_names_the_server_and_what_it_answered(zenodo_server, route, value, what):
    async with _client(zenodo_server) as zc:
        draft = await zc.create_deposition(_meta("Shapes"))
        await zc.upload(draft.bucket_url, "a.bin", BytesSource(b"a"))
        record_id = (await zc.publish(draft.id)).id
        zenodo_server.set_faults(FaultConfig(wrong_shapes={route: value}))
        with pytest.raises(ServerError) as caught:
            if route == "record_get":
                await zc.get_record(record_id)
            else:
                [r async for r in zc.search_records("Shapes")]
    message = str(caught.value)
    assert message.startswith(f"Zenodo at {zenodo_server.api_url.removesuffix('/api')} answered GET /api/records")
    assert re.search(what, message), message
    assert "attribute" not in message and "subscriptable" not in message
