"""Realistic mode: search lags writes, budgets and page caps, thumbnails, 504 after applied actions."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.zenodo_server import OTHER_TOKEN, TOKEN, ZenodoTestServer
from tests.zenodo.server.support import METADATA, call, create, published
from zenodo_atlas.zenodo.server import Realism


def _server(tmp_path: Path, **realism) -> ZenodoTestServer:
    config = Realism(**({"index_lag": 0.0, "timeout_after_commit_rate": 0.0} | realism))
    return ZenodoTestServer(tokens={TOKEN: 1, OTHER_TOKEN: 2}, data_dir=tmp_path / "z", realism=config)


@pytest.fixture
def realistic(request, tmp_path: Path) -> Iterator[ZenodoTestServer]:
    with _server(tmp_path, **getattr(request, "param", {})) as srv:
        yield srv


async def _until(predicate, limit: float = 10.0) -> float:
    """Poll an observable condition (the server's search answer); returns the seconds it took."""
    start = time.monotonic()
    while not await predicate():
        assert time.monotonic() - start < limit, "condition not reached"
        await asyncio.sleep(0.05)
    return time.monotonic() - start


@pytest.mark.parametrize("realistic", [{"index_lag": 1.0}], indirect=True)
async def test_search_lags_a_publish_but_get_by_id_does_not(realistic, http):
    # InvenioRDM indexes without refresh (invenio-drafts-resources services/records/service.py).
    srv = realistic
    done = await published(http, srv)
    status, record = await call(http, "GET", f"{srv.api_url}/records/{done['id']}")
    assert status == 200 and record["id"] == done["id"]

    async def listed() -> bool:
        _, page = await call(http, "GET", f"{srv.api_url}/records", params={"q": f"recid:{done['id']}"})
        return page["hits"]["total"] == 1

    assert not await listed(), "a search right after the publish must not see it yet"
    _, deposits = await call(http, "GET", f"{srv.api_url}/deposit/depositions", srv.token,
                             params={"status": "published"})
    assert deposits == [], "the deposit list is a search too"
    assert await _until(listed) >= 0.5


async def test_page_caps_for_guests_tokens_and_deep_pages(realistic, http):
    # blog.zenodo.org 2025-11-25 (25 guest / 100 token); galaxyproject/galaxy#19121 (page*size > 10,000).
    url = f"{realistic.api_url}/records"
    assert (await call(http, "GET", url, params={"size": "25"}))[0] == 200
    assert (await call(http, "GET", url, params={"size": "26"}))[0] == 400
    assert (await call(http, "GET", url, realistic.token, params={"size": "100"}))[0] == 200
    assert (await call(http, "GET", url, realistic.token, params={"size": "101"}))[0] == 400
    status, body = await call(http, "GET", url, params={"size": "25", "page": "401"})
    assert status == 400 and body["message"] == "Invalid querystring parameters."


@pytest.mark.parametrize("realistic", [{"search_per_minute": 3}], indirect=True)
async def test_search_has_its_own_budget(realistic, http):
    # records.search "30 per minute" (zenodo-rdm invenio.cfg), separate from the request budget.
    srv = realistic
    answers = [(await call(http, "GET", f"{srv.api_url}/records"))[0] for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    assert (await call(http, "GET", f"{srv.api_url}/records/999"))[0] == 404, "other routes still answer"


@pytest.mark.parametrize("realistic", [{"guest_per_minute": 2, "token_per_minute": 5}], indirect=True)
async def test_guest_and_token_budgets_differ(realistic, http):
    # developers.zenodo.org rate limits: guests get less than authenticated users.
    srv = realistic
    url = f"{srv.api_url}/records/999"
    async with http.get(url) as response:
        assert response.headers["X-RateLimit-Limit"] == "2"
    assert [(await call(http, "GET", url))[0] for _ in range(2)] == [404, 429]
    async with http.get(url, headers={"Authorization": f"Bearer {srv.token}"}) as response:
        assert response.headers["X-RateLimit-Limit"] == "5" and response.status == 404


async def test_records_with_images_carry_a_thumbnails_object(realistic, http):
    # zenodo/zenodo#2591: links.thumbnails is {size: url} on records holding images or PDFs.
    done = await published(http, realistic, files={"overview.png": b"\x89PNG....", "data.csv": b"a\n"})
    _, record = await call(http, "GET", f"{realistic.api_url}/records/{done['id']}")
    assert isinstance(record["links"]["thumbnails"], dict) and "250" in record["links"]["thumbnails"]
    plain = await published(http, realistic, files={"data.csv": b"a\n"})
    _, record = await call(http, "GET", f"{realistic.api_url}/records/{plain['id']}")
    assert "thumbnails" not in record["links"]


@pytest.mark.parametrize("realistic", [{"timeout_after_commit_rate": 1.0}], indirect=True)
async def test_504_after_the_action_was_applied(realistic, http):
    # zenodo/zenodo#2131, #2442: the gateway times out after the action happened.
    srv = realistic
    status, page = await call(http, "POST", f"{srv.api_url}/deposit/depositions", srv.token,
                              json={"metadata": METADATA})
    assert status == 504 and "<html>" in page
    _, listed = await call(http, "GET", f"{srv.api_url}/deposit/depositions", srv.token)
    assert [d["title"] for d in listed] == [METADATA["title"]], "the create was applied"
    dep = listed[0]
    status, _ = await call(http, "GET", dep["links"]["self"], srv.token)
    assert status == 200


@pytest.mark.parametrize("realistic", [{"timeout_after_commit_rate": 0.3, "seed": 7}], indirect=True)
async def test_504_rate_is_seeded(realistic, http):
    statuses = [(await call(http, "POST", f"{realistic.api_url}/deposit/depositions", realistic.token,
                            json={}))[0] for _ in range(20)]
    assert set(statuses) == {201, 504} and 2 <= statuses.count(504) <= 12
    _, deps = await call(http, "GET", f"{realistic.api_url}/deposit/depositions", realistic.token,
                         params={"size": "100"})
    assert len(deps) == 20, "every create was applied, answered or not"


def test_realism_rejects_nonsense():
    with pytest.raises(ValueError, match="index_lag"):
        Realism(index_lag=-1)
    with pytest.raises(ValueError, match="timeout_after_commit_rate"):
        Realism(timeout_after_commit_rate=2)


async def test_created_drafts_are_not_in_the_deposit_list_until_indexed(tmp_path, http):
    with _server(tmp_path, index_lag=0.6) as srv:
        dep = await create(http, srv, METADATA)

        async def visible() -> bool:
            _, items = await call(http, "GET", f"{srv.api_url}/deposit/depositions", srv.token)
            return [d["id"] for d in items] == [dep["id"]]

        assert not await visible()
        await _until(visible)
