"""Fault injection: every configured fault is observable, deterministic for a seed, and switchable."""

from __future__ import annotations

import aiohttp
import pytest

from tests.zenodo.server.support import METADATA, action, call, create, upload
from zenodo_atlas.zenodo.server import FaultConfig


async def _statuses(http, srv, n: int) -> list[int]:
    return [(await call(http, "GET", f"{srv.api_url}/records"))[0] for _ in range(n)]


async def test_error_rate_gives_json_and_html_5xx(zenodo_server, http):
    zenodo_server.set_faults(FaultConfig(error_rate=1.0, html_error_share=0.5, seed=3))
    kinds = set()
    for _ in range(20):
        async with http.get(f"{zenodo_server.api_url}/records") as resp:
            assert resp.status in (500, 502, 503)
            if resp.content_type == "application/json":
                body = await resp.json()
                assert body["status"] == resp.status and body["message"]
                kinds.add("json")
            else:
                assert resp.content_type == "text/html"
                assert f"<h1>{resp.status}" in await resp.text()
                kinds.add("html")
            assert "X-RateLimit-Limit" in resp.headers
    assert kinds == {"json", "html"}


async def test_error_rate_is_deterministic_for_a_seed(zenodo_server, http):
    zenodo_server.set_faults(FaultConfig(error_rate=0.3, seed=7))
    first = await _statuses(http, zenodo_server, 30)
    zenodo_server.set_faults(FaultConfig(error_rate=0.3, seed=7))
    second = await _statuses(http, zenodo_server, 30)
    assert first == second
    assert 0 < sum(s >= 500 for s in first) < 30
    zenodo_server.set_faults(None)
    assert await _statuses(http, zenodo_server, 5) == [200] * 5


async def test_failed_requests_change_nothing(zenodo_server, http):
    zenodo_server.set_faults(FaultConfig(error_rate=1.0))
    status, _ = await call(http, "POST", f"{zenodo_server.api_url}/deposit/depositions", zenodo_server.token,
                           json={})
    assert status >= 500
    zenodo_server.set_faults(None)
    _, listed = await call(http, "GET", f"{zenodo_server.api_url}/deposit/depositions", zenodo_server.token)
    assert listed == []


async def test_burst_429_every_nth_request(zenodo_server, http):
    zenodo_server.set_faults(FaultConfig(burst_429_every=3, burst_429_length=2))
    assert await _statuses(http, zenodo_server, 9) == [200, 200, 429, 429, 200, 200, 429, 429, 200]
    zenodo_server.set_faults(FaultConfig(burst_429_every=1, burst_429_length=1))
    async with http.get(f"{zenodo_server.api_url}/records") as resp:
        assert resp.status == 429 and resp.headers["Retry-After"] == "1"
        assert (await resp.json())["status"] == 429


async def test_reset_cuts_bucket_uploads_and_stores_nothing(zenodo_server, http):
    dep = await create(http, zenodo_server)
    zenodo_server.set_faults(FaultConfig(reset_rate=1.0))
    with pytest.raises(aiohttp.ClientError):
        await upload(http, zenodo_server, dep, "big.bin", b"z" * 500_000)
    zenodo_server.set_faults(None)
    _, listing = await call(http, "GET", dep["links"]["bucket"], zenodo_server.token)
    assert listing["contents"] == []
    cut = [r.status for r in zenodo_server.request_log if r.kind == "bucket_put"]
    assert cut and set(cut) == {0}, "aiohttp may resend an idempotent PUT once; every attempt was cut"
    assert list((zenodo_server.data_dir / "tmp").iterdir()) == []
    status, _ = await upload(http, zenodo_server, dep, "big.bin", b"z" * 500_000)
    assert status == 201


async def test_reset_only_hits_uploads(zenodo_server, http):
    zenodo_server.set_faults(FaultConfig(reset_rate=1.0))
    assert await _statuses(http, zenodo_server, 3) == [200, 200, 200]


async def test_publish_504_after_commit_once_per_deposition(zenodo_server, http):
    srv = zenodo_server
    srv.set_faults(FaultConfig(publish_504_after_commit=True))
    dep = await create(http, srv, METADATA)
    await upload(http, srv, dep, "a.txt", b"a")
    status, body = await action(http, srv, dep["id"], "publish")
    assert status == 504 and "504 Gateway Time-out" in body
    _, after = await call(http, "GET", dep["links"]["self"], srv.token)
    assert after["state"] == "done" and after["submitted"] is True
    status, _ = await action(http, srv, dep["id"], "publish")
    assert status == 404
    await action(http, srv, dep["id"], "edit")
    status, again = await action(http, srv, dep["id"], "publish")
    assert status == 202 and again["state"] == "done"


def test_fault_config_rejects_bad_values():
    with pytest.raises(ValueError, match="error_rate"):
        FaultConfig(error_rate=1.5)
    with pytest.raises(ValueError, match="burst_429"):
        FaultConfig(burst_429_every=-1)
