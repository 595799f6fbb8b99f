"""The two ways a flow runs things at once: every session to its end, or a job's parts all-or-none."""

from __future__ import annotations

import asyncio

import pytest

from zenodo_atlas.flows.batch import all_or_none, run_each


async def test_run_each_keeps_going_after_a_failure_and_bounds_the_parallelism():
    running, most = 0, 0

    async def run(item: int) -> int:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0)
        running -= 1
        if item == 2:
            raise ValueError("bad session 2\nsecond line")
        return item * 10

    done, failed = await run_each([1, 2, 3, 4, 5], 2, run)

    assert done == [10, 30, 40, 50]
    assert failed == [(2, "bad session 2")]  # the first line of the error
    assert most == 2


async def test_all_or_none_cancels_the_other_parts_before_raising_the_first_failure():
    started = asyncio.Event()
    cleaned: list[str] = []

    async def slow(name: str) -> str:
        try:
            started.set()
            await asyncio.Event().wait()  # never set: only cancellation ends it
            return name
        finally:
            cleaned.append(name)

    async def failing() -> str:
        await started.wait()
        raise OSError("disk gone")

    with pytest.raises(OSError, match="disk gone"):
        await all_or_none([slow("a"), failing(), slow("b")])

    assert sorted(cleaned) == ["a", "b"]  # finished (cancelled) before the error reached the caller


async def test_all_or_none_returns_results_in_order():
    async def part(value: int) -> int:
        await asyncio.sleep(0)
        return value

    assert await all_or_none([part(3), part(1), part(2)]) == [3, 1, 2]
