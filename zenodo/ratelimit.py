"""One request budget per Zenodo host, shared by every client of that host in the process.

Zenodo counts requests per token/IP, not per client object, so two `ZenodoClient`s on the same
base URL must draw from the same bucket. asyncio primitives belong to one event loop, so the shared
limiter is keyed by (base_url, running loop); a limiter made for a closed loop is dropped with it.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Mapping

from aiolimiter import AsyncLimiter

from zenodo_atlas.zenodo.errors import InvalidInputError

# A server clock far ahead of ours must not freeze the client for hours.
_MAX_HEADER_PAUSE = 120.0


class HostLimiter:
    """A leaky bucket (requests per minute) plus a pause that every caller honours.

    The pause is set from the server's own signals: `Retry-After` on a 429, or
    `X-RateLimit-Remaining: 0` with `X-RateLimit-Reset` (epoch seconds).
    """

    def __init__(self, rate_per_minute: int):
        self.rate_per_minute = rate_per_minute
        self._bucket = AsyncLimiter(rate_per_minute, 60)
        self._resume_at = 0.0

    def lower_rate(self, rate_per_minute: int) -> None:
        """The strictest client wins: a lower rate replaces the bucket, a higher one is ignored."""
        if rate_per_minute < self.rate_per_minute:
            self.rate_per_minute = rate_per_minute
            self._bucket = AsyncLimiter(rate_per_minute, 60)

    @property
    def paused_for(self) -> float:
        return max(0.0, self._resume_at - time.monotonic())

    async def acquire(self) -> float:
        """Wait for a slot; returns how long a server-requested pause held us (for logging)."""
        held = 0.0
        while (wait := self.paused_for) > 0:
            held += wait
            await asyncio.sleep(wait)
        await self._bucket.acquire()
        return held

    def pause(self, seconds: float) -> None:
        if seconds > 0:
            self._resume_at = max(self._resume_at, time.monotonic() + min(seconds, _MAX_HEADER_PAUSE))

    def observe(self, headers: Mapping[str, str]) -> None:
        """Stop everyone until the window resets once the server says the budget is spent."""
        remaining = _number(headers.get("X-RateLimit-Remaining"))
        reset = _number(headers.get("X-RateLimit-Reset"))
        if remaining is not None and remaining <= 0 and reset is not None:
            self.pause(reset - time.time())


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


_shared: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, HostLimiter]] = (
    weakref.WeakKeyDictionary()
)


def shared_limiter(base_url: str, rate_per_minute: int) -> HostLimiter:
    """The limiter for `base_url` on the running loop (created on first use)."""
    if rate_per_minute < 1:
        raise InvalidInputError(f"rate_limit_per_minute must be at least 1, got {rate_per_minute}.")
    per_loop = _shared.setdefault(asyncio.get_running_loop(), {})
    key = base_url.rstrip("/")
    limiter = per_loop.get(key)
    if limiter is None:
        limiter = per_loop[key] = HostLimiter(rate_per_minute)
    else:
        limiter.lower_rate(rate_per_minute)
    return limiter
