"""The background server's app adds a `Retry-After` to Prefect's 503s, growing while they keep coming."""

from __future__ import annotations

import httpx

from zenodo_atlas.cli.prefect_app import FIRST_RETRY_S, LONGEST_RETRY_S, RetryAfter


def app_answering(status: int, headers: list[tuple[bytes, bytes]] | None = None):
    async def app(scope, receive, send) -> None:
        await send({"type": "http.response.start", "status": status, "headers": headers or []})
        await send({"type": "http.response.body", "body": b"{}"})

    return app


async def get(app) -> httpx.Response:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://prefect") as client:
        return await client.get("/api/v2/concurrency_limits/increment-with-lease")


async def test_a_503_says_when_to_retry_and_later_each_time_it_repeats() -> None:
    app = RetryAfter(app_answering(503))

    delays = [float((await get(app)).headers["retry-after"]) for _ in range(8)]

    assert delays[0] == FIRST_RETRY_S  # Prefect's client would otherwise sleep 2 s first
    assert delays[:3] == [FIRST_RETRY_S, 2 * FIRST_RETRY_S, 4 * FIRST_RETRY_S]
    assert delays[-1] == LONGEST_RETRY_S


async def test_other_answers_and_a_server_chosen_retry_after_pass_unchanged() -> None:
    assert "retry-after" not in (await get(RetryAfter(app_answering(200)))).headers
    chosen = await get(RetryAfter(app_answering(503, [(b"retry-after", b"7")])))
    assert chosen.headers.get_list("retry-after") == ["7"]
