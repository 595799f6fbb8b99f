"""Register the deployments of prefect.yaml with the Prefect server at PREFECT_API_URL.

Entrypoints are module paths of the installed package and there are no pull steps: a process worker
on any machine where `zenodo-atlas` is installed imports the flows from its own installation.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from uuid import UUID

from prefect.blocks.system import Secret
from prefect.client.orchestration import PrefectClient, get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.deployments.runner import EntrypointType, RunnerDeployment
from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound
from prefect.settings import PREFECT_API_URL
from pydantic import BaseModel, SecretStr

from zenodo_atlas.deployments.errors import PrefectServerUnavailable
from zenodo_atlas.deployments.spec import DeploymentSpec

DEFAULT_SECRET_BLOCK = "zenodo-token"
SECRET_BLOCK_ENV = "ATLAS_TOKEN_SECRET_BLOCK"

Progress = Callable[[str], None]


class Registered(BaseModel):
    """What the server now holds for one deployment."""

    full_name: str
    deployment_id: UUID
    work_pool: str
    schedules: list[str]


def api_url() -> str:
    """The configured server, or an error that says how to get one."""
    url = PREFECT_API_URL.value()
    if not url:
        raise PrefectServerUnavailable(
            "PREFECT_API_URL is not set: start a server (`prefect server start`) and export "
            "PREFECT_API_URL=http://127.0.0.1:4200/api, or run without one via `zenodo-atlas serve`."
        )
    return url


async def check_server(client: PrefectClient) -> None:
    if await client.api_healthcheck() is not None:
        raise PrefectServerUnavailable(
            f"The Prefect server at {api_url()} does not answer: is `prefect server start` running?"
        )


async def ensure_process_pool(client: PrefectClient, name: str) -> bool:
    """Create a `process` work pool unless one of that name exists; True when created."""
    from prefect.workers.process import ProcessWorker

    try:
        await client.read_work_pool(name)
        return False
    except ObjectNotFound:
        pass
    try:
        await client.create_work_pool(
            WorkPoolCreate(name=name, type="process", base_job_template=ProcessWorker.get_default_base_job_template())
        )
    except ObjectAlreadyExists:
        return False
    return True


def _job_variables(spec: DeploymentSpec, env: Mapping[str, str]) -> dict[str, object]:
    variables = dict(spec.work_pool.job_variables)
    if env:
        variables["env"] = {**dict(variables.get("env") or {}), **env}
    return variables


async def build_deployment(spec: DeploymentSpec, *, pool: str, env: Mapping[str, str]) -> RunnerDeployment:
    """A RunnerDeployment of the imported flow, so the UI form comes from the flow's signature."""
    flow = await asyncio.to_thread(spec.load_flow)
    return await flow.ato_deployment(
        entrypoint_type=EntrypointType.MODULE_PATH,
        name=spec.name,
        description=spec.description,
        tags=spec.tags,
        parameters=spec.parameters,
        schedules=spec.prefect_schedules(),
        concurrency_limit=spec.prefect_concurrency(),
        work_pool_name=pool,
        work_queue_name=spec.work_pool.work_queue_name,
        job_variables=_job_variables(spec, env),
    )


async def register_deployments(
    specs: list[DeploymentSpec],
    *,
    pool: str | None = None,
    env: Mapping[str, str] | None = None,
    on_progress: Progress | None = None,
) -> list[Registered]:
    """Create or update every deployment (idempotent); `pool` overrides the pool named in the file.

    `env` is added to every deployment's job variables (non-secret values such as the name of the
    Secret block); the token itself never goes there.
    """
    report = on_progress or (lambda _message: None)
    api_url()
    registered: list[Registered] = []
    async with get_client() as client:
        await check_server(client)
        pools = sorted({pool or spec.work_pool.name for spec in specs})
        for name in pools:
            if await ensure_process_pool(client, name):
                report(f"created process work pool {name!r}")
        for spec in specs:
            target_pool = pool or spec.work_pool.name
            deployment = await build_deployment(spec, pool=target_pool, env=env or {})
            deployment_id = await deployment.aapply()
            entry = Registered(
                full_name=f"{deployment.flow_name}/{deployment.name}",
                deployment_id=deployment_id,
                work_pool=target_pool,
                schedules=[f"{s.cron} ({s.timezone})" for s in spec.schedules],
            )
            registered.append(entry)
            when = f", schedule {', '.join(entry.schedules)}" if entry.schedules else ""
            report(f"registered {entry.full_name} on pool {target_pool!r}{when}")
    return registered


async def save_token_secret(token: SecretStr, block_name: str = DEFAULT_SECRET_BLOCK) -> None:
    """Store the Zenodo token as a Prefect Secret block (overwriting), for workers without ZENODO_TOKEN."""
    api_url()
    async with get_client() as client:
        await check_server(client)
    await Secret(value=token).save(block_name, overwrite=True)
