"""ZenodoClient against the local Zenodo over real HTTP: depositions, uploads, records, errors."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import web

from zenodo_atlas.zenodo.client import ZenodoClient, record_id_from
from zenodo_atlas.zenodo.errors import (
    AuthenticationError,
    ChecksumMismatchError,
    DraftExistsError,
    InvalidInputError,
    MissingTokenError,
    NotFoundError,
    QuotaExceededError,
    ValidationError,
)
from zenodo_atlas.zenodo.models import Community, Creator, DepositMetadata, RelatedIdentifier
from zenodo_atlas.zenodo.streams import BytesSource, IterableSource


def _meta(title: str = "Survey 1", **extra) -> DepositMetadata:
    return DepositMetadata(
        title=title,
        creators=[Creator(name="Doe, Jane")],
        description="A field survey.",
        license="cc-by-4.0",
        **extra,
    )


def _client(server, token: str | None = "owner", **kwargs) -> ZenodoClient:
    chosen = {"owner": server.token, "other": server.other_token, None: None}[token]
    kwargs.setdefault("backoff_base", 0.01)
    kwargs.setdefault("backoff_max", 0.05)
    kwargs.setdefault("rate_limit_per_minute", 100_000)
    return ZenodoClient(server.api_url, chosen, **kwargs)


@pytest.fixture
async def client(zenodo_server):
    async with _client(zenodo_server) as zc:
        yield zc


async def _published(client: ZenodoClient, title: str = "Survey 1", files: dict[str, bytes] | None = None, **extra):
    draft = await client.create_deposition(_meta(title, **extra))
    for key, data in (files or {"a.txt": b"alpha"}).items():
        await client.upload(draft.bucket_url, key, BytesSource(data))
    return await client.publish(draft.id)


# -- depositions ---------------------------------------------------------------------------------


async def test_deposition_lifecycle(client, zenodo_server):
    draft = await client.create_deposition()
    assert draft.is_draft and draft.bucket_url
    updated = await client.update_deposition(draft.id, _meta("Renamed"))
    assert updated.title == "Renamed"
    assert (await client.get_deposition(draft.id)).metadata["creators"][0]["name"] == "Doe, Jane"
    listed = await client.list_depositions(status="draft")
    assert [d.id for d in listed] == [draft.id]
    assert await client.list_depositions(status="published") == []
    await client.delete_deposition(draft.id)
    with pytest.raises(NotFoundError, match=f"GET /api/deposit/depositions/{draft.id} failed: HTTP 404"):
        await client.get_deposition(draft.id)
    assert zenodo_server.count("DELETE", "deposit_delete") == 1


async def test_upload_streams_once_with_md5_and_progress(client, zenodo_server, tmp_path):
    draft = await client.create_deposition(_meta())
    path = tmp_path / "big.bin"
    data = hashlib.sha256(b"seed").digest() * 200_000  # 6.4 MB: several 1 MiB chunks
    path.write_bytes(data)
    deltas: list[int] = []
    result = await client.upload(draft.bucket_url, "big.bin", path, progress=deltas.append)
    assert result.md5 == hashlib.md5(data).hexdigest() == result.server.md5
    assert result.size == len(data) == sum(deltas) and len(deltas) >= 6
    assert zenodo_server.count("PUT", "bucket_put") == 1
    files = await client.list_files(draft.id)
    assert [(f.filename, f.filesize, f.md5) for f in files] == [("big.bin", len(data), result.md5)]


async def test_upload_from_a_sync_iterator_factory(client):
    draft = await client.create_deposition(_meta())
    pieces = [bytes([i]) * 1000 for i in range(50)]
    result = await client.upload(draft.bucket_url, "gen.bin", IterableSource(50_000, lambda: iter(pieces)))
    assert result.md5 == hashlib.md5(b"".join(pieces)).hexdigest()


async def test_upload_with_a_lying_source_fails_without_retrying(client, zenodo_server):
    draft = await client.create_deposition(_meta())
    with pytest.raises(InvalidInputError, match="declared 100"):
        await client.upload(draft.bucket_url, "short.bin", IterableSource(100, lambda: [b"x" * 10]))
    assert zenodo_server.count("PUT", "bucket_put") <= 1
    assert await client.list_files(draft.id) == []


@pytest.mark.parametrize("key", ["", "a/b.txt", ".."])
async def test_upload_rejects_bad_keys(client, key):
    with pytest.raises(InvalidInputError, match="file key"):
        await client.upload("http://127.0.0.1:1/api/files/x", key, BytesSource(b"x"))


async def test_delete_file_and_publish_edit_discard(client):
    draft = await client.create_deposition(_meta())
    await client.upload(draft.bucket_url, "keep.txt", BytesSource(b"keep"))
    await client.upload(draft.bucket_url, "drop.txt", BytesSource(b"drop"))
    drop = next(f for f in await client.list_files(draft.id) if f.filename == "drop.txt")
    await client.delete_file(draft.id, drop.id)
    assert [f.filename for f in await client.list_files(draft.id)] == ["keep.txt"]
    published = await client.publish(draft.id)
    assert published.state == "done" and published.submitted and published.doi
    editing = await client.edit(draft.id)
    assert editing.state == "inprogress"
    await client.discard(draft.id)
    assert (await client.get_deposition(draft.id)).state == "done"


async def test_new_version_returns_the_draft_with_bucket_and_carried_files(client):
    first = await _published(client, files={"v1.txt": b"one"})
    draft = await client.new_version(first.id)
    assert draft.id != first.id and draft.state == "unsubmitted"
    assert draft.conceptrecid == first.conceptrecid and draft.bucket_url
    assert [f.filename for f in draft.files] == ["v1.txt"]
    assert (await client.open_draft(first.id)).id == draft.id
    with pytest.raises(DraftExistsError, match="Please remove all files first"):
        await client.new_version(first.id)


async def test_open_draft_is_none_when_no_version_is_open(client):
    first = await _published(client)
    assert await client.open_draft(first.id) is None


async def test_publish_without_files_is_a_validation_error(client):
    draft = await client.create_deposition(_meta())
    with pytest.raises(ValidationError) as caught:
        await client.publish(draft.id)
    assert caught.value.status == 400 and caught.value.field_errors
    assert "actions/publish failed: HTTP 400" in str(caught.value)


async def test_quota_exceeded(client, zenodo_server):
    zenodo_server.set_quota(max_record_bytes=100)
    draft = await client.create_deposition(_meta())
    with pytest.raises(QuotaExceededError, match="quota"):
        await client.upload(draft.bucket_url, "big.bin", BytesSource(b"x" * 500))
    assert zenodo_server.count("PUT", "bucket_put") == 1


async def test_file_count_quota(client, zenodo_server):
    zenodo_server.set_quota(max_record_files=1)
    draft = await client.create_deposition(_meta())
    await client.upload(draft.bucket_url, "one.txt", BytesSource(b"1"))
    with pytest.raises(QuotaExceededError):
        await client.upload(draft.bucket_url, "two.txt", BytesSource(b"2"))


async def test_other_users_deposition_is_refused(client, zenodo_server):
    draft = await client.create_deposition(_meta())
    async with _client(zenodo_server, "other") as other:
        with pytest.raises((AuthenticationError, NotFoundError)) as caught:
            await other.get_deposition(draft.id)
    assert caught.value.status in (403, 404)


async def test_wrong_token_is_an_authentication_error(zenodo_server):
    async with ZenodoClient(zenodo_server.api_url, "not-a-valid-token", backoff_base=0.01) as bad:
        with pytest.raises(AuthenticationError) as caught:
            await bad.list_depositions()
    assert caught.value.status in (401, 403)
    assert "not-a-valid-token" not in str(caught.value)


async def test_deposit_calls_without_token_say_how_to_fix(zenodo_server):
    async with _client(zenodo_server, None) as anonymous:
        with pytest.raises(MissingTokenError, match="needs a Zenodo token"):
            await anonymous.create_deposition()
        with pytest.raises(MissingTokenError):
            await anonymous.upload("http://127.0.0.1:1/api/files/b", "k", BytesSource(b"x"))
    assert zenodo_server.request_log == []


async def test_invalid_arguments_are_named_errors(client):
    with pytest.raises(InvalidInputError, match="positive integer"):
        await client.get_deposition(0)
    with pytest.raises(InvalidInputError, match="'draft' or 'published'"):
        await client.list_depositions(status="open")
    with pytest.raises(InvalidInputError, match="bucket"):
        await client.upload("", "a.txt", BytesSource(b"x"))


# -- records -------------------------------------------------------------------------------------


async def test_get_record_by_id_concept_and_doi(client):
    v1 = await _published(client)
    v2_draft = await client.new_version(v1.id)
    await client.update_deposition(v2_draft.id, _meta(version="2"))
    v2 = await client.publish(v2_draft.id)
    assert (await client.get_record(v1.id)).id == v1.id
    assert (await client.get_record(int(v1.conceptrecid))).id == v2.id
    assert (await client.get_record(v2.doi)).id == v2.id
    assert (await client.get_record(f"https://doi.org/{v1.doi}")).id == v1.id
    assert (await client.latest_version(v1.id)).id == v2.id
    versions = await client.record_versions(v2.id)
    assert [r.id for r in versions] == [v1.id, v2.id]
    with pytest.raises(NotFoundError):
        await client.get_record(999_999)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (123, 123), ("123", 123), ("10.5072/zenodo.55", 55), ("doi:10.5281/zenodo.7", 7),
        ("https://doi.org/10.5281/zenodo.8", 8), ("https://zenodo.org/records/9", 9),
    ],
)
def test_record_id_from(value, expected):
    assert record_id_from(value) == expected


@pytest.mark.parametrize("value", ["", "abc", "10.1000/xyz", 0, -3, True])
def test_record_id_from_rejects_garbage(value):
    with pytest.raises(InvalidInputError, match="record id"):
        record_id_from(value)


async def test_search_follows_next_links_and_respects_max_pages(client, zenodo_server):
    for i in range(5):
        await _published(client, f"Reef survey {i}")
    async with _client(zenodo_server, None) as anonymous:
        everything = [r async for r in anonymous.search_records("reef", size=2)]
        assert sorted(r.title for r in everything) == [f"Reef survey {i}" for i in range(5)]
        assert len([r async for r in anonymous.search_records("reef", size=2, max_pages=2)]) == 4
        assert [r async for r in anonymous.search_records("nothing-matches-this", size=2)] == []
    assert zenodo_server.count("GET", "records_search") == 3 + 2 + 1


async def test_search_all_versions(client):
    v1 = await _published(client, "Lagoon")
    draft = await client.new_version(v1.id)
    await client.publish(draft.id)
    latest = [r async for r in client.search_records('title:"Lagoon"')]
    every = [r async for r in client.search_records('title:"Lagoon"', all_versions=True)]
    assert len(latest) == 1 and len(every) == 2


async def test_community_records_with_since(client):
    await _published(client, "In community", communities=[Community(identifier="seatizen-data")])
    await _published(client, "Outside")
    found = [r async for r in client.community_records("seatizen-data")]
    assert [r.title for r in found] == ["In community"]
    future = datetime.now(UTC) + timedelta(days=1)
    assert [r async for r in client.community_records("seatizen-data", since=future)] == []
    past = datetime.now() - timedelta(days=1)  # naive: read as UTC
    assert len([r async for r in client.community_records("seatizen-data", since=past)]) == 1
    with pytest.raises(InvalidInputError):
        _ = [r async for r in client.community_records("a/b")]


async def test_records_by_identifier_matches_exactly(client):
    urn = "urn:20230101_FRA-Reef_ASV-1_01"
    alt = [RelatedIdentifier(identifier=urn, relation="isAlternateIdentifier")]
    v1 = await _published(client, "Session", related_identifiers=alt)
    draft = await client.new_version(v1.id)
    v2 = await client.publish(draft.id)
    await _published(
        client, "Other session",
        related_identifiers=[RelatedIdentifier(identifier=urn + "0", relation="isAlternateIdentifier")],
    )
    assert [r.id for r in await client.records_by_identifier(urn)] == [v1.id, v2.id]
    assert [r.id for r in await client.records_by_identifier(urn, all_versions=False)] == [v2.id]
    assert await client.records_by_identifier("urn:none") == []
    with pytest.raises(InvalidInputError):
        await client.records_by_identifier("  ")


async def test_upload_checksum_mismatch_is_reported(zenodo_server, bad_bucket):
    async with _client(zenodo_server) as zc:
        with pytest.raises(ChecksumMismatchError, match="upload the file again"):
            await zc.upload(bad_bucket, "a.txt", BytesSource(b"hello"))


@pytest.fixture
async def bad_bucket():
    """A one-route 127.0.0.1 app whose bucket answers with a checksum that does not match."""
    async def put(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response(
            {"key": request.match_info["key"], "size": 5, "checksum": "md5:" + "0" * 32}, status=201
        )

    app = web.Application()
    app.router.add_put("/api/files/{bucket}/{key}", put)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield f"http://127.0.0.1:{port}/api/files/bucket-1"
    await runner.cleanup()
