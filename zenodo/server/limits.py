"""Per-token request budget with the headers zenodo.org sends on every answer."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

WINDOW_SECONDS = 60


@dataclass
class _Window:
    start: float
    used: int = 0


@dataclass
class RateLimiter:
    """Fixed one-minute windows per caller (token, or address for anonymous calls)."""

    per_minute: int
    _windows: dict[str, _Window] = field(default_factory=dict)

    def hit(self, caller: str, now: float | None = None) -> tuple[bool, dict[str, str]]:
        """Count one request; returns whether it is allowed and the headers to send."""
        now = time.time() if now is None else now
        window = self._windows.get(caller)
        if window is None or now - window.start >= WINDOW_SECONDS:
            window = self._windows[caller] = _Window(start=now)
        window.used += 1
        allowed = window.used <= self.per_minute
        reset = window.start + WINDOW_SECONDS
        headers = {
            "X-RateLimit-Limit": str(self.per_minute),
            "X-RateLimit-Remaining": str(max(self.per_minute - window.used, 0)),
            "X-RateLimit-Reset": str(math.ceil(reset)),
            "Retry-After": str(max(math.ceil(reset - now), 1)),
        }
        return allowed, headers

    @property
    def message(self) -> str:
        return f"{self.per_minute} per 1 minute"
