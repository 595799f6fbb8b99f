"""Files-REST buckets: streamed PUTs, replacement, quotas, locking and broken connections."""

from __future__ import annotations

import asyncio
import hashlib
import os
from urllib.parse import urlsplit

from tests.zenodo.server.support import METADATA, call, create, published, upload

BUCKET_OBJECT_KEYS = {"created", "updated", "version_id", "key", "size", "mimetype", "checksum", "is_head",
                      "delete_marker", "links"}


async def test_put_returns_files_rest_object(zenodo_server, http):
    dep = await create(http, zenodo_server)
    data = os.urandom(3000)
    status, obj = await upload(http, zenodo_server, dep, "frames part 1.zip", data)
    assert status == 201
    assert set(obj) == BUCKET_OBJECT_KEYS
    assert obj["key"] == "frames part 1.zip" and obj["size"] == 3000
    assert obj["checksum"] == f"md5:{hashlib.md5(data).hexdigest()}"
    assert obj["mimetype"] == "application/zip"
    assert obj["is_head"] is True and obj["delete_marker"] is False
    assert set(obj["links"]) == {"self", "version", "uploads"}
    _, dep_now = await call(http, "GET", dep["links"]["self"], zenodo_server.token)
    assert dep_now["files"][0]["checksum"] == hashlib.md5(data).hexdigest()
    assert dep_now["files"][0]["filename"] == "frames part 1.zip"


async def test_put_same_key_replaces_the_file(zenodo_server, http):
    dep = await create(http, zenodo_server)
    await upload(http, zenodo_server, dep, "a.bin", b"old")
    status, obj = await upload(http, zenodo_server, dep, "a.bin", b"newer")
    assert status == 201 and obj["size"] == 5
    _, listing = await call(http, "GET", dep["links"]["bucket"], zenodo_server.token)
    assert [(o["key"], o["size"]) for o in listing["contents"]] == [("a.bin", 5)]
    assert len(os.listdir(zenodo_server.data_dir / "blobs")) == 1


async def test_bucket_listing_download_and_delete(zenodo_server, http):
    dep = await create(http, zenodo_server)
    await upload(http, zenodo_server, dep, "x.txt", b"hello")
    status, listing = await call(http, "GET", dep["links"]["bucket"], zenodo_server.token)
    assert status == 200
    assert {"id", "contents", "links", "size", "quota_size", "locked"} <= set(listing)
    assert listing["size"] == 5 and listing["locked"] is False
    status, body = await call(http, "GET", f"{dep['links']['bucket']}/x.txt", zenodo_server.token)
    assert (status, body) == (200, "hello")
    assert (await call(http, "DELETE", f"{dep['links']['bucket']}/x.txt", zenodo_server.token)) == (204, None)
    status, body = await call(http, "DELETE", f"{dep['links']['bucket']}/x.txt", zenodo_server.token)
    assert status == 404 and body["status"] == 404
    assert os.listdir(zenodo_server.data_dir / "blobs") == []


async def test_unknown_bucket_is_404(zenodo_server, http):
    status, body = await call(http, "PUT", f"{zenodo_server.api_url}/files/nope/x", zenodo_server.token, data=b"1")
    assert status == 404 and body["status"] == 404


async def test_put_on_published_bucket_is_403(zenodo_server, http):
    done = await published(http, zenodo_server)
    status, body = await upload(http, zenodo_server, done, "late.txt", b"late")
    assert status == 403 and body["status"] == 403
    status, _ = await call(http, "DELETE", f"{done['links']['bucket']}/data.csv", zenodo_server.token)
    assert status == 403
    status, _ = await call(http, "DELETE", done["files"][0]["links"]["self"].replace(
        "/records/", "/deposit/depositions/"), zenodo_server.token)
    assert status == 403


async def test_bytes_quota_refuses_upload_by_length_and_while_streaming(zenodo_server, http):
    zenodo_server.set_quota(max_record_bytes=10)
    dep = await create(http, zenodo_server)
    assert (await upload(http, zenodo_server, dep, "a", b"123456"))[0] == 201
    status, body = await upload(http, zenodo_server, dep, "b", b"123456")
    assert (status, body) == (400, {"status": 400, "message": "Bucket quota exceeded."})

    async def chunked():
        yield b"12345"
        yield b"67"

    status, body = await call(http, "PUT", f"{dep['links']['bucket']}/c", zenodo_server.token, data=chunked())
    assert status == 400 and body["message"] == "Bucket quota exceeded."
    status, _ = await upload(http, zenodo_server, dep, "a", b"1234567890")
    assert status == 201, "replacing a key frees its bytes first"
    assert os.listdir(zenodo_server.data_dir / "tmp") == []


async def test_files_quota_refuses_one_file_too_many(zenodo_server, http):
    zenodo_server.set_quota(max_record_files=2)
    dep = await create(http, zenodo_server)
    for key in ("a", "b"):
        assert (await upload(http, zenodo_server, dep, key, b"1"))[0] == 201
    status, body = await upload(http, zenodo_server, dep, "c", b"1")
    assert status == 400 and body["message"].startswith("Bucket quota exceeded.")
    assert (await upload(http, zenodo_server, dep, "b", b"22"))[0] == 201


async def test_concurrent_uploads_all_land_with_right_checksums(zenodo_server, http):
    dep = await create(http, zenodo_server)
    blobs = {f"part{i}.bin": os.urandom(2_500_000 + i) for i in range(6)}
    results = await asyncio.gather(*(upload(http, zenodo_server, dep, k, v) for k, v in blobs.items()))
    assert all(status == 201 for status, _ in results)
    _, listing = await call(http, "GET", dep["links"]["bucket"], zenodo_server.token)
    got = {o["key"]: o["checksum"] for o in listing["contents"]}
    assert got == {k: f"md5:{hashlib.md5(v).hexdigest()}" for k, v in blobs.items()}


async def test_concurrent_uploads_respect_the_quota_together(zenodo_server, http):
    zenodo_server.set_quota(max_record_bytes=2_500_000)
    dep = await create(http, zenodo_server)
    results = await asyncio.gather(*(upload(http, zenodo_server, dep, f"{i}.bin", os.urandom(1_000_000))
                                     for i in range(4)))
    assert sorted(status for status, _ in results) == [201, 201, 400, 400]
    _, listing = await call(http, "GET", dep["links"]["bucket"], zenodo_server.token)
    assert listing["size"] == 2_000_000


async def test_connection_dropped_mid_body_stores_nothing(zenodo_server, http):
    dep = await create(http, zenodo_server)
    url = urlsplit(f"{dep['links']['bucket']}/broken.bin")
    _reader, writer = await asyncio.open_connection(url.hostname, url.port)
    writer.write(
        f"PUT {url.path} HTTP/1.1\r\nHost: {url.netloc}\r\nAuthorization: Bearer {zenodo_server.token}\r\n"
        f"Content-Length: 1000000\r\n\r\n".encode() + b"x" * 200_000
    )
    await writer.drain()
    writer.transport.abort()
    await asyncio.to_thread(zenodo_server.wait_for, "PUT", "bucket_put")
    _, listing = await call(http, "GET", dep["links"]["bucket"], zenodo_server.token)
    assert listing["contents"] == []
    assert os.listdir(zenodo_server.data_dir / "tmp") == []
    assert os.listdir(zenodo_server.data_dir / "blobs") == []


async def test_bucket_put_needs_token(zenodo_server, http):
    dep = await create(http, zenodo_server, METADATA)
    status, body = await call(http, "PUT", f"{dep['links']['bucket']}/x", data=b"x")
    assert status == 403 and body["status"] == 403

