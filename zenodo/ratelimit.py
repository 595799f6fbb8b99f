"""One request budget per Zenodo host, shared by every client of that host in the process.

Zenodo counts requests per token/IP, not per client object, so two `ZenodoClient`s on the same
base URL must draw from the same bucket (guests apart: their budget is the address's, not a
token's). asyncio primitives belong to one event loop, so the shared limiter is keyed by
(base_url, guest or not, running loop); a limiter made for a closed loop is dropped with it.
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
# The window, in seconds, of the budgets this limiter paces (Zenodo's are per minute).
_WINDOW = 60


class HostLimiter:
    """A leaky bucket (requests per minute) plus a pause that every caller honours.

    The configured rate is an assumption until the server announces its own per-minute budget
    (`X-RateLimit-Limit`, which zenodo.org sends on every answer: 1000 per minute for tokens, per
    zen4R#142 and zenodo/zenodo-rdm#1226); from then on the announced budget sets the pace.
    The pause is set from the server's own signals: `Retry-After` on a 429, or
    `X-RateLimit-Remaining: 0` with `X-RateLimit-Reset` (epoch seconds); it is what protects a
    budget shared with other processes, which only the server counts.
    """

    def __init__(self, rate_per_minute: int):
        self.rate_per_minute = rate_per_minute
        self._bucket = AsyncLimiter(rate_per_minute, _WINDOW)
        self._resume_at = 0.0
        self._announced = False

    def lower_rate(self, rate_per_minute: int) -> None:
        """The strictest client wins until the server has announced its budget, which wins then."""
        if rate_per_minute < self.rate_per_minute and not self._announced:
            self._set_rate(rate_per_minute)

    def _set_rate(self, rate_per_minute: int) -> None:
        self.rate_per_minute = rate_per_minute
        self._bucket = AsyncLimiter(rate_per_minute, _WINDOW)

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
        """Follow the server's per-minute budget; stop everyone until reset once it is spent.

        A limit is adopted only from an answer with budget left and a window of at most a
        minute: a 429 may announce a narrower budget (zenodo.org's search endpoints), and an
        hourly window's limit is no per-minute rate.
        """
        remaining = _number(headers.get("X-RateLimit-Remaining"))
        reset = _number(headers.get("X-RateLimit-Reset"))
        if remaining is None or reset is None:
            return
        if remaining <= 0:
            self.pause(reset - time.time())
            return
        limit = _number(headers.get("X-RateLimit-Limit"))
        if limit is not None and limit >= 1 and reset - time.time() <= _WINDOW + 1:
            self._announced = True
            if int(limit) != self.rate_per_minute:
                self._set_rate(int(limit))


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


_shared: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, HostLimiter]] = (
    weakref.WeakKeyDictionary()
)


def shared_limiter(base_url: str, rate_per_minute: int, *, guest: bool = False) -> HostLimiter:
    """The limiter for `base_url` (token or `guest` calls) on the running loop, made on first use."""
    if rate_per_minute < 1:
        raise InvalidInputError(f"rate_limit_per_minute must be at least 1, got {rate_per_minute}.")
    per_loop = _shared.setdefault(asyncio.get_running_loop(), {})
    key = base_url.rstrip("/") + (" guest" if guest else "")
    limiter = per_loop.get(key)
    if limiter is None:
        limiter = per_loop[key] = HostLimiter(rate_per_minute)
    else:
        limiter.lower_rate(rate_per_minute)
    return limiter
