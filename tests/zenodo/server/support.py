"""Raw-HTTP helpers for the local Zenodo tests (no project client: these tests pin the wire format)."""

from __future__ import annotations

from typing import Any

import aiohttp

from tests.fixtures.zenodo_server import ZenodoTestServer

METADATA: dict[str, Any] = {
    "upload_type": "dataset",
    "title": "20230101_REU-Hermitage_ASV-1_01 raw data",
    "creators": [{"name": "Doe, Jane", "affiliation": "Ifremer"}],
    "description": "<p>Survey session.</p>",
    "access_right": "open",
    "license": "CC-BY-4.0",
    "keywords": ["coral", "reef"],
    "version": "RAW_DATA",
    "related_identifiers": [
        {"identifier": "urn:20230101_REU-Hermitage_ASV-1_01", "relation": "isAlternateIdentifier"}
    ],
    "communities": [{"identifier": "seatizen-data"}],
}


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def call(http: aiohttp.ClientSession, method: str, url: str, token: str | None = None,
               **kwargs: Any) -> tuple[int, Any]:
    """Send one request; returns the status and the JSON body (None when empty, text when not JSON)."""
    headers = {**kwargs.pop("headers", {}), **(auth(token) if token else {})}
    async with http.request(method, url, headers=headers, allow_redirects=False, **kwargs) as response:
        raw = await response.read()
        if not raw:
            return response.status, None
        if response.content_type == "application/json":
            return response.status, await response.json()
        return response.status, raw.decode()


async def create(http: aiohttp.ClientSession, srv: ZenodoTestServer, metadata: dict | None = None,
                 token: str | None = None) -> dict:
    body = {} if metadata is None else {"metadata": metadata}
    status, dep = await call(http, "POST", f"{srv.api_url}/deposit/depositions", token or srv.token, json=body)
    assert status == 201, dep
    return dep


async def upload(http: aiohttp.ClientSession, srv: ZenodoTestServer, dep: dict, key: str, data: bytes,
                 token: str | None = None) -> tuple[int, Any]:
    return await call(http, "PUT", f"{dep['links']['bucket']}/{key}", token or srv.token, data=data)


async def action(http: aiohttp.ClientSession, srv: ZenodoTestServer, dep_id: int, name: str,
                 token: str | None = None) -> tuple[int, Any]:
    url = f"{srv.api_url}/deposit/depositions/{dep_id}/actions/{name}"
    return await call(http, "POST", url, token or srv.token)


async def published(http: aiohttp.ClientSession, srv: ZenodoTestServer, metadata: dict | None = None,
                    files: dict[str, bytes] | None = None, token: str | None = None) -> dict:
    """A published deposition with the given files (default: one small file)."""
    dep = await create(http, srv, METADATA if metadata is None else metadata, token)
    for key, data in (files or {"data.csv": b"a,b\n1,2\n"}).items():
        status, body = await upload(http, srv, dep, key, data, token)
        assert status == 201, body
    status, done = await action(http, srv, dep["id"], "publish", token)
    assert status == 202, done
    return done


async def new_version(http: aiohttp.ClientSession, srv: ZenodoTestServer, dep_id: int, metadata: dict,
                      files: dict[str, bytes]) -> dict:
    """Publish a next version that replaces the carried-over files with `files`."""
    status, draft = await action(http, srv, dep_id, "newversion")
    assert status == 201, draft
    for stored in draft["files"]:
        status, _ = await call(http, "DELETE", f"{draft['links']['files']}/{stored['id']}", srv.token)
        assert status == 204
    status, _ = await call(http, "PUT", draft["links"]["self"], srv.token, json={"metadata": metadata})
    assert status == 200
    for key, data in files.items():
        status, _ = await upload(http, srv, draft, key, data)
        assert status == 201
    status, done = await action(http, srv, draft["id"], "publish")
    assert status == 202, done
    return done


