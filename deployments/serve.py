"""Single-machine mode: every deployment of prefect.yaml served from one process, no work pool.

Runs go to subprocesses of this process. Schedules (the nightly Atlas refresh) need a real server
(`prefect server start`, SQLite, nothing else to install); against Prefect's ephemeral server the
deployments can still be triggered by this process but nothing runs on a timer.

    python -m zenodo_atlas.deployments.serve          # or: zenodo-atlas serve
"""

from __future__ import annotations

import asyncio

from prefect.deployments.runner import RunnerDeployment
from prefect.flows import aserve
from prefect.settings import PREFECT_API_URL

from zenodo_atlas.deployments.spec import DeploymentSpec, load_specs


async def build_served(specs: list[DeploymentSpec]) -> list[RunnerDeployment]:
    """Load each flow and describe it as a served deployment (same names, schedules and limits)."""
    served: list[RunnerDeployment] = []
    for spec in specs:
        served.append(
            await (await asyncio.to_thread(spec.load_flow)).ato_deployment(
                name=spec.name,
                description=spec.description,
                tags=spec.tags,
                parameters=spec.parameters,
                schedules=spec.prefect_schedules(),
                concurrency_limit=spec.prefect_concurrency(),
            )
        )
    return served


async def serve_all(specs: list[DeploymentSpec], *, limit: int | None = None) -> None:
    """Serve until interrupted; `limit` caps concurrent runs across all deployments.

    On a real server the schedules are paused at shutdown so runs do not pile up unattended; an
    ephemeral server is gone by then (Ctrl-C stops it too), and there is nothing to pause.
    """
    deployments = await build_served(specs)
    await aserve(*deployments, limit=limit, pause_on_shutdown=bool(PREFECT_API_URL.value()))


if __name__ == "__main__":
    asyncio.run(serve_all(load_specs()))
