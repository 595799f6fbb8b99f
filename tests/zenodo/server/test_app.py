"""Cross-cutting behaviour: authentication forms, rate-limit headers and 429s, JSON error bodies."""

from __future__ import annotations

import time

from tests.fixtures.zenodo_server import ZenodoTestServer
from tests.zenodo.server.support import call, create

RATE_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After")


async def test_token_in_query_string_is_accepted(zenodo_server, http):
    url = f"{zenodo_server.api_url}/deposit/depositions"
    status, dep = await call(http, "POST", url, json={}, params={"access_token": zenodo_server.token})
    assert status == 201 and dep["owner"] == 1


async def test_malformed_authorization_header_is_401(zenodo_server, http):
    for header in ("Basic dXNlcjpwYXNz", "Bearer", "Token abc", "Bearer a b"):
        status, body = await call(http, "GET", f"{zenodo_server.api_url}/deposit/depositions",
                                  headers={"Authorization": header})
        assert status == 401, header
        assert body["status"] == 401 and "Bearer" in body["message"]


async def test_unknown_token_is_403_everywhere_and_never_echoed(zenodo_server, http):
    for path in ("/deposit/depositions", "/records"):
        status, body = await call(http, "GET", f"{zenodo_server.api_url}{path}", "wrong-token-123")
        assert status == 403 and body["status"] == 403
        assert "wrong-token-123" not in body["message"]


async def test_records_api_is_public(zenodo_server, http):
    status, page = await call(http, "GET", f"{zenodo_server.api_url}/records")
    assert status == 200 and page["hits"] == {"hits": [], "total": 0}


async def test_every_response_carries_rate_limit_headers(zenodo_server, http):
    dep = await create(http, zenodo_server)
    for method, url in (("GET", f"{zenodo_server.api_url}/records"),
                        ("GET", f"{zenodo_server.api_url}/records/1"),
                        ("GET", f"{zenodo_server.api_url}/nowhere"),
                        ("GET", dep["links"]["self"])):
        async with http.request(method, url, headers={"Authorization": f"Bearer {zenodo_server.token}"}) as resp:
            assert all(h in resp.headers for h in RATE_HEADERS), (url, resp.headers)
            assert resp.headers["X-RateLimit-Limit"] == "1000"
            assert int(resp.headers["X-RateLimit-Reset"]) >= int(time.time())
            assert int(resp.headers["Retry-After"]) >= 1
    async with http.get(f"{zenodo_server.api_url}/records") as first, \
            http.get(f"{zenodo_server.api_url}/records") as second:
        assert int(second.headers["X-RateLimit-Remaining"]) < int(first.headers["X-RateLimit-Remaining"])


async def test_rate_limit_answers_429_per_caller(tmp_path, http):
    with ZenodoTestServer(tokens={"a": 1, "b": 2}, data_dir=tmp_path, rate_limit_per_minute=3) as srv:
        url = f"{srv.api_url}/deposit/depositions"
        statuses = [(await call(http, "GET", url, "a"))[0] for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        async with http.get(url, headers={"Authorization": "Bearer a"}) as resp:
            assert resp.status == 429
            assert await resp.json() == {"status": 429, "message": "3 per 1 minute"}
            assert resp.headers["X-RateLimit-Remaining"] == "0"
            assert 1 <= int(resp.headers["Retry-After"]) <= 60
        assert (await call(http, "GET", url, "b"))[0] == 200


async def test_unknown_path_and_method_give_json(zenodo_server, http):
    status, body = await call(http, "GET", f"{zenodo_server.api_url}/unknown")
    assert status == 404 and body["status"] == 404 and body["message"]
    status, body = await call(http, "DELETE", f"{zenodo_server.api_url}/records")
    assert status == 405 and body["status"] == 405


async def test_request_log_keeps_paths_without_query(zenodo_server, http):
    await call(http, "GET", f"{zenodo_server.api_url}/records", params={"access_token": zenodo_server.token,
                                                                        "q": "x"})
    [entry] = zenodo_server.request_log
    assert (entry.method, entry.path, entry.status, entry.kind) == ("GET", "/api/records", 200, "records_search")
    assert zenodo_server.token not in repr(zenodo_server.request_log)
    assert zenodo_server.count("get", "records_search") == 1
