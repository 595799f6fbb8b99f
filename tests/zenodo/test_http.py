"""Transport rules over real sockets: what is sent, what is retried, how long it waits, what is logged."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from aiohttp import web

from zenodo_atlas.zenodo.client import ZenodoClient
from zenodo_atlas.zenodo.errors import RateLimitedError, ServerError, ZenodoError
from zenodo_atlas.zenodo.server import FaultConfig

SECRET = "s3cr3t-token-value"


def _client(url: str, token: str | None = SECRET, **kwargs) -> ZenodoClient:
    kwargs.setdefault("backoff_base", 0.01)
    kwargs.setdefault("backoff_max", 0.05)
    kwargs.setdefault("rate_limit_per_minute", 100_000)
    return ZenodoClient(url, token, **kwargs)


@asynccontextmanager
async def serve(routes: list[web.RouteDef]) -> AsyncIterator[tuple[str, list[web.Request]]]:
    """A throwaway app on 127.0.0.1 that records every request it answers."""
    seen: list[web.Request] = []

    @web.middleware
    async def record(request: web.Request, handler):
        seen.append(request)
        return await handler(request)

    app = web.Application(middlewares=[record])
    app.add_routes(routes)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}", seen
    finally:
        await runner.cleanup()


async def _ok(request: web.Request) -> web.Response:
    return web.json_response([])


async def test_token_only_in_bearer_header_and_descriptive_user_agent():
    async with serve([web.get("/api/deposit/depositions", _ok)]) as (base, seen):
        zc = _client(base + "/api")
        async with zc:
            assert await zc.list_depositions(q="title:x", size=5) == []
    request = seen[0]
    assert request.headers["Authorization"] == f"Bearer {SECRET}"
    assert SECRET not in str(request.rel_url)
    assert "access_token" not in request.query
    agent = request.headers["User-Agent"]
    assert agent.startswith("zenodo-atlas/") and "aiohttp" in agent and "+https://" in agent


async def test_token_not_sent_to_another_origin(tmp_path):
    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound(f"{other}/file")

    async def content(request: web.Request) -> web.Response:
        return web.Response(body=b"data")

    async with (
        serve([web.get("/file", content)]) as (other, elsewhere),
        serve([web.get("/api/records/1/files/f/content", redirect)]) as (base, here),
    ):
        zc = _client(base + "/api")
        async with zc:
            await zc.download(f"{base}/api/records/1/files/f/content", tmp_path / "f")
            await zc.download(f"{other}/file", tmp_path / "g")
    assert here[0].headers["Authorization"] == f"Bearer {SECRET}"
    assert len(elsewhere) == 2 and all("Authorization" not in r.headers for r in elsewhere)
    assert (tmp_path / "f").read_bytes() == (tmp_path / "g").read_bytes() == b"data"


def test_repr_hides_the_token():
    client = _client("http://127.0.0.1:9/api")
    assert SECRET not in repr(client) and "***" in repr(client)
    assert "anonymous" in repr(_client("http://127.0.0.1:9/api", None))


async def test_429_waits_for_retry_after_then_succeeds(zenodo_server):
    zenodo_server.set_faults(FaultConfig(burst_429_every=2, burst_429_length=1))
    async with _client(zenodo_server.api_url, zenodo_server.token) as zc:
        await zc.list_depositions()  # request 1: through
        started = time.monotonic()
        await zc.list_depositions()  # request 2: 429 with Retry-After: 1, then through
        waited = time.monotonic() - started
    assert [r.status for r in zenodo_server.request_log] == [200, 429, 200]
    assert waited >= 0.95


async def test_rate_limited_error_when_retries_run_out(zenodo_server):
    zenodo_server.set_faults(FaultConfig(burst_429_every=1))
    async with _client(zenodo_server.api_url, zenodo_server.token, max_retries=0) as zc:
        with pytest.raises(RateLimitedError) as caught:
            await zc.list_depositions()
    assert caught.value.status == 429 and caught.value.retry_after == 1.0
    assert "GET /api/deposit/depositions failed: HTTP 429" in str(caught.value)


@pytest.mark.parametrize(("html_share", "expected"), [(1.0, r"\(HTML body\)$"), (0.0, r"HTTP 50\d [\w ]+: \w")])
async def test_server_error_after_retries_with_readable_message(zenodo_server, html_share, expected):
    zenodo_server.set_faults(FaultConfig(error_rate=1.0, html_error_share=html_share))
    async with _client(zenodo_server.api_url, zenodo_server.token, max_retries=2) as zc:
        with pytest.raises(ServerError, match=expected) as caught:
            await zc.get_record(1)
    assert caught.value.status in (500, 502, 503)
    assert str(caught.value).startswith("GET /api/records/1 failed: HTTP 50")
    assert zenodo_server.count("GET", "record_get") == 3


async def test_timeouts_are_retried_then_reported():
    never = asyncio.Event()

    async def hang(request: web.Request) -> web.Response:
        await never.wait()
        return web.json_response({})

    async with serve([web.get("/api/records/5", hang)]) as (base, seen):
        async with _client(base + "/api", max_retries=1, stall=0.2) as zc:
            with pytest.raises(ServerError, match="GET /api/records/5 failed: timed out"):
                await zc.get_record(5)
        never.set()  # let the hung handlers finish so the app shuts down at once
    assert len(seen) == 2


async def test_connection_refused_is_retried_even_for_create(caplog, unused_port):
    caplog.set_level(logging.WARNING, logger="zenodo")
    async with _client(f"http://127.0.0.1:{unused_port}/api", max_retries=2) as zc:
        with pytest.raises(ServerError, match="connection error"):
            await zc.create_deposition()
    retries = [r for r in caplog.records if "retrying" in r.getMessage()]
    assert len(retries) == 2


@pytest.fixture
def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_debug_log_names_method_path_status_attempt_without_token(zenodo_server, caplog):
    caplog.set_level(logging.DEBUG, logger="zenodo")
    zenodo_server.set_faults(FaultConfig(error_rate=1.0))
    async with _client(zenodo_server.api_url, zenodo_server.token, max_retries=1) as zc:
        with pytest.raises(ZenodoError) as caught:
            await zc.list_depositions(q="secret-free query")
    lines = [r.getMessage() for r in caplog.records if r.name == "zenodo"]
    assert any(line.startswith("GET /api/deposit/depositions -> 50") and "(attempt 1)" in line for line in lines)
    assert any("retrying in" in line and "(attempt 2 of 2)" in line for line in lines)
    assert all(zenodo_server.token not in line for line in lines)
    assert zenodo_server.token not in str(caught.value)


@pytest.mark.asyncio(loop_scope="function")  # limiters live per loop: none left by an earlier server on this port
async def test_two_clients_of_one_host_share_the_budget(zenodo_server):
    a = _client(zenodo_server.api_url, zenodo_server.token, rate_limit_per_minute=500)
    b = _client(zenodo_server.api_url, zenodo_server.other_token, rate_limit_per_minute=300)
    async with a, b:
        assert a.limiter is b.limiter and a.limiter.rate_per_minute == 300
        await a.list_depositions()
        await b.list_depositions()


async def test_unopened_client_says_how_to_use_it(zenodo_server):
    client = _client(zenodo_server.api_url)
    with pytest.raises(ZenodoError, match="async with ZenodoClient"):
        await client.get_record(1)


async def test_search_page_size_is_clamped_to_zenodos_cap():
    async def empty(request: web.Request) -> web.Response:
        return web.json_response({"hits": {"hits": [], "total": 0}, "links": {}})

    async with serve([web.get("/api/records", empty)]) as (base, seen):
        for token in (None, SECRET):
            async with _client(base + "/api", token) as zc:
                assert [r async for r in zc.search_records("x", size=500)] == []
    assert [r.query["size"] for r in seen] == ["25", "100"]


@pytest.mark.parametrize(
    ("page", "message"),
    [
        (b"", "empty body where a search page was expected"),
        (b'{"hits": {"hits": [], "total": 3}, "links": {}}', "announced 3 hit"),
        (b'{"links": {}}', "SearchPage Zenodo-JSON this client cannot read"),
        (b"[1, 2]", r"Zenodo at http://127\.0\.0\.1:\d+ answered GET /api/records \(HTTP 200\) "
                    r"with a JSON list of 2 item\(s\) where a search page"),
    ],
)
async def test_an_empty_short_or_malformed_search_page_is_an_error_not_no_records(page: bytes, message: str):
    async def answer(request: web.Request) -> web.Response:
        return web.Response(body=page, content_type="application/json")

    async with serve([web.get("/api/records", answer)]) as (base, _), _client(base + "/api") as zc:
        with pytest.raises(ServerError, match=message):
            [r async for r in zc.search_records("x")]


async def test_a_server_that_never_answers_fails_within_the_deadline():
    done = asyncio.Event()

    async def silent(request: web.Request) -> web.Response:
        await done.wait()  # accepts the connection, answers nothing until the test is over
        return web.json_response({})

    async with serve([web.get("/api/records/1", silent)]) as (base, _), _client(base + "/api", deadline=1.5) as zc:
        started = time.monotonic()
        with pytest.raises(ServerError, match=r"127\.0\.0\.1:\d+ did not answer GET /api/records/1 within 1.5 s"):
            await zc.get_record(1)
        assert 1.5 <= time.monotonic() - started < 4.0
        done.set()


async def test_a_server_trickling_bytes_fails_within_the_deadline():
    """Each byte arrives well inside the stall timeout; only the overall deadline can stop it."""

    done = asyncio.Event()

    async def trickle(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        while not done.is_set():
            await response.write(b" ")
            await asyncio.sleep(0.1)  # the slow server being simulated, not test synchronisation
        return response

    async with serve([web.get("/api/records/1", trickle)]) as (base, _), _client(
        base + "/api", deadline=1.5, stall=1.0
    ) as zc:
        started = time.monotonic()
        with pytest.raises(ServerError, match=r"did not answer GET /api/records/1 within 1\.5 s"):
            await zc.get_record(1)
        assert time.monotonic() - started < 4.0
        done.set()


async def test_html_where_json_was_expected_is_a_server_error():
    async def maintenance(request: web.Request) -> web.Response:
        return web.Response(text="<html><body>Down for maintenance</body></html>", content_type="text/html")

    async with serve([web.get("/api/records/3", maintenance)]) as (base, _), _client(base + "/api") as zc:
        with pytest.raises(ServerError, match=r"GET /api/records/3 answered HTTP 200 with a HTML body"):
            await zc.get_record(3)


async def test_an_unreadable_json_shape_is_a_server_error_not_a_pydantic_error():
    async def odd(request: web.Request) -> web.Response:
        return web.json_response({"hello": "world"})

    async with serve([web.get("/api/records/4", odd)]) as (base, _), _client(base + "/api") as zc:
        with pytest.raises(ServerError, match=r"GET /api/records/4 answered HTTP 200 with a Record .*id: Field"):
            await zc.get_record(4)
