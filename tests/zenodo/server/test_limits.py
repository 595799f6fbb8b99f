"""The per-caller minute window behind X-RateLimit-* and 429."""

from __future__ import annotations

from zenodo_atlas.zenodo.server.limits import RateLimiter


def test_window_counts_down_then_refuses_then_resets():
    limiter = RateLimiter(per_minute=2)
    ok1, h1 = limiter.hit("a", now=1000.0)
    ok2, h2 = limiter.hit("a", now=1010.0)
    ok3, h3 = limiter.hit("a", now=1020.0)
    assert (ok1, ok2, ok3) == (True, True, False)
    assert [h["X-RateLimit-Remaining"] for h in (h1, h2, h3)] == ["1", "0", "0"]
    assert h3["X-RateLimit-Reset"] == "1060" and h3["Retry-After"] == "40"
    ok4, h4 = limiter.hit("a", now=1060.0)
    assert ok4 and h4["X-RateLimit-Remaining"] == "1"


def test_callers_have_separate_windows():
    limiter = RateLimiter(per_minute=1)
    assert limiter.hit("a", now=0.0)[0] and limiter.hit("b", now=0.0)[0]
    assert not limiter.hit("a", now=1.0)[0]
    assert limiter.message == "1 per 1 minute"
