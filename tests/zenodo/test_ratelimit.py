"""The request budget is shared per (base URL, event loop) and honours the server's own signals."""

from __future__ import annotations

import asyncio
import time

import pytest

from zenodo_atlas.zenodo.errors import InvalidInputError
from zenodo_atlas.zenodo.ratelimit import HostLimiter, shared_limiter


async def test_same_base_url_shares_one_limiter_and_lowest_rate_wins():
    first = shared_limiter("http://127.0.0.1:1/api/", 600)
    second = shared_limiter("http://127.0.0.1:1/api", 120)
    other = shared_limiter("http://127.0.0.1:2/api", 120)
    assert first is second and first is not other
    assert first.rate_per_minute == 120
    assert shared_limiter("http://127.0.0.1:1/api", 6000).rate_per_minute == 120


def test_each_event_loop_gets_its_own_limiter():
    async def grab() -> HostLimiter:
        return shared_limiter("http://127.0.0.1:3/api", 100)

    assert asyncio.run(grab()) is not asyncio.run(grab())


async def test_remaining_zero_pauses_until_reset():
    limiter = HostLimiter(1000)
    limiter.observe({"X-RateLimit-Remaining": "5", "X-RateLimit-Reset": str(time.time() + 30)})
    assert limiter.paused_for == 0
    limiter.observe({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(time.time() + 0.3)})
    assert 0.1 < limiter.paused_for <= 0.3
    started = time.monotonic()
    held = await limiter.acquire()
    assert time.monotonic() - started >= 0.25 and held > 0


async def test_a_far_future_reset_is_capped():
    limiter = HostLimiter(1000)
    limiter.observe({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(time.time() + 86400)})
    assert limiter.paused_for <= 120


async def test_bucket_limits_bursts():
    limiter = HostLimiter(120)  # 2 per second after the initial burst of 120
    for _ in range(120):
        await limiter.acquire()
    started = time.monotonic()
    await limiter.acquire()
    assert time.monotonic() - started >= 0.3


async def test_rate_must_be_positive():
    with pytest.raises(InvalidInputError, match="at least 1"):
        shared_limiter("http://127.0.0.1:4/api", 0)


def _window(limit: int, remaining: int, reset_in: float) -> dict[str, str]:
    return {"X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": str(time.time() + reset_in)}


async def test_the_announced_per_minute_budget_replaces_the_configured_rate():
    limiter = shared_limiter("http://127.0.0.1:5/api", 100)
    limiter.observe(_window(1000, 990, 50))
    assert limiter.rate_per_minute == 1000
    for _ in range(150):  # beyond the configured 100, within the announced burst
        await asyncio.wait_for(limiter.acquire(), 1)
    shared_limiter("http://127.0.0.1:5/api", 100)  # a later client's guess no longer lowers it
    assert limiter.rate_per_minute == 1000


async def test_spent_or_hourly_budgets_are_not_taken_for_a_rate():
    limiter = HostLimiter(100)
    limiter.observe(_window(30, 0, 20))  # a 429 from a narrower (search) budget: pause only
    assert limiter.rate_per_minute == 100 and limiter.paused_for > 0
    limiter = HostLimiter(100)
    limiter.observe(_window(5000, 4000, 3000))  # an hourly window
    assert limiter.rate_per_minute == 100


async def test_guests_have_their_own_budget():
    token = shared_limiter("http://127.0.0.1:6/api", 100)
    assert shared_limiter("http://127.0.0.1:6/api", 100, guest=True) is not token
