"""Running several things at once inside a flow, with a stated failure rule for each way of doing it.

`run_each`: one flow per session; a failure is recorded and never stops the others.
`all_or_none`: the parts of one job (the archives of a version); the first failure stops the rest.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from zenodo_atlas.errors import one_line

T = TypeVar("T")
R = TypeVar("R")


async def all_or_none(parts: list[Awaitable[R]]) -> list[R]:
    """The results in order, or the first failure once every other part is cancelled and finished.

    Plain `asyncio.gather` leaves the others running after a failure: they then outlive the client the
    flow closes as the error leaves it, and fail again with "client is not open"."""
    running = [asyncio.ensure_future(part) for part in parts]
    try:
        return await asyncio.gather(*running)
    except BaseException:
        for future in running:
            future.cancel()
        await asyncio.gather(*running, return_exceptions=True)
        raise


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
