"""Run one flow per session, several sessions at once; a failure is recorded and never stops the others."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from zenodo_atlas.errors import one_line

T = TypeVar("T")
R = TypeVar("R")


async def run_each(
    items: list[T], limit: int, run: Callable[[T], Awaitable[R]]
) -> tuple[list[R], list[tuple[T, str]]]:
    """Results of the items that succeeded and (item, first line of the error) of those that failed,
    both in input order; at most `limit` items run at once (transfers inside still take the global slots)."""
    gate = asyncio.Semaphore(limit)

    async def one(item: T) -> R:
        async with gate:
            return await run(item)

    outcomes = await asyncio.gather(*[one(item) for item in items], return_exceptions=True)
    done: list[R] = []
    failed: list[tuple[T, str]] = []
    for item, outcome in zip(items, outcomes, strict=True):
        if isinstance(outcome, asyncio.CancelledError):
            raise outcome
        if isinstance(outcome, Exception):
            failed.append((item, one_line(outcome)))
        elif isinstance(outcome, BaseException):
            raise outcome
        else:
            done.append(outcome)
    return done, failed
