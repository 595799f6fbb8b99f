"""Child process: a flow with the stale-run hook that waits until killed (or runs through with `quick`).

Usage: python -m tests.flows.stale_child   (PREFECT_API_URL must name the test server)
"""

from __future__ import annotations

import asyncio
import sys

from prefect import flow

from zenodo_atlas.tasks.stale_runs import STALE_RUN_HOOKS


@flow(name="stale-standin", on_running=STALE_RUN_HOOKS)
async def stale_standin(quick: bool = False) -> str:
    """Stands in for an upload killed mid-way: it never ends unless `quick`."""
    if not quick:
        await asyncio.Event().wait()
    return "done"


if __name__ == "__main__":
    asyncio.run(stale_standin(quick="--quick" in sys.argv))
