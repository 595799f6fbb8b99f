"""A run killed mid-way (SIGKILL) does not stay Running: the next run of the same flow marks it crashed."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import FlowFilter, FlowFilterName
from prefect.client.schemas.objects import FlowRun, StateType

from tests.flows.stale_child import stale_standin

REPO = Path(__file__).resolve().parents[2]


async def _runs() -> list[FlowRun]:
    async with get_client() as client:
        return await client.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=["stale-standin"])))


async def _claimed_run(child: asyncio.subprocess.Process) -> FlowRun:
    """The child's run once it is Running and has recorded its process (polled: an observable condition)."""
    async with asyncio.timeout(120):
        while True:
            assert child.returncode is None, "the child flow ended early"
            claimed = [r for r in await _runs() if r.state_type == StateType.RUNNING
                       and r.infrastructure_pid and r.infrastructure_pid.endswith(f":{child.pid}")]
            if claimed:
                return claimed[0]
            await asyncio.sleep(0.2)


async def _child(api_url: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.flows.stale_child", cwd=REPO, env=os.environ | {"PREFECT_API_URL": api_url},
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )


async def test_a_killed_run_is_marked_crashed_by_the_next_run_of_its_flow(prefect_harness):
    child = await _child(prefect_harness)
    try:
        killed = await _claimed_run(child)
    finally:
        child.kill()
        await child.wait()
    assert (await _run(killed.id)).state_type == StateType.RUNNING  # nothing else would ever change it

    assert await stale_standin(quick=True) == "done"

    after = await _run(killed.id)
    assert after.state_type == StateType.CRASHED and after.state is not None
    assert f"({killed.infrastructure_pid})" in (after.state.message or "")


async def test_a_live_run_of_the_same_flow_is_left_running(prefect_harness):
    child = await _child(prefect_harness)
    try:
        alive = await _claimed_run(child)
        assert await stale_standin(quick=True) == "done"
        assert (await _run(alive.id)).state_type == StateType.RUNNING
    finally:
        child.kill()
        await child.wait()


async def _run(run_id) -> FlowRun:
    async with get_client() as client:
        return await client.read_flow_run(run_id)
