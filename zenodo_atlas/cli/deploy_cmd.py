"""`zenodo-atlas deploy` (register deployments on a Prefect server) and `zenodo-atlas serve` (one process).

Mounted on the top-level app with `app.add_typer(deploy_cmd.app)` (no name: both commands stay at the
top level). Prefect is imported inside the commands so `zenodo-atlas --help` stays fast.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from zenodo_atlas.cli.errors import fail, one_line_errors, stderr
from zenodo_atlas.deployments.errors import DeploymentSpecError, PrefectServerUnavailable
from zenodo_atlas.errors import one_line
from zenodo_atlas.settings import load_settings
from zenodo_atlas.zenodo.errors import MissingTokenError

app = typer.Typer()
stdout = Console(highlight=False)

_SECRET_NAME = re.compile(r"TOKEN|SECRET|PASSWORD|KEY", re.IGNORECASE)

TimezoneOption = Annotated[
    str | None,
    typer.Option(
        "--timezone", envvar="ATLAS_TIMEZONE", help="IANA time zone of the nightly schedule, e.g. Europe/Paris."
    ),
]
CronOption = Annotated[
    str | None,
    typer.Option("--cron", envvar="ATLAS_NIGHTLY_CRON", help="Cron of the nightly schedule, e.g. '0 2 * * *'."),
]
OnlyOption = Annotated[
    list[str] | None,
    typer.Option("--only", help="Only this deployment (repeatable): upload, download, register, ..."),
]
SpecOption = Annotated[
    Path | None, typer.Option("--file", help="Deployment file (default: the packaged deployments/prefect.yaml).")
]


def _specs(spec_file: Path | None, only: list[str] | None, cron: str | None, timezone: str | None):
    from zenodo_atlas.deployments.spec import SPEC_PATH, load_specs, select, with_schedule

    specs = select(load_specs(spec_file or SPEC_PATH), only)
    return with_schedule(specs, cron=cron, timezone=timezone)


def _job_env(pairs: list[str]) -> dict[str, str]:
    env: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise DeploymentSpecError(f"--env {pair!r} is not KEY=VALUE.")
        if _SECRET_NAME.search(key):
            raise DeploymentSpecError(
                f"--env {key} looks like a secret; job variables are visible in the UI. "
                "Use --save-token-secret for the Zenodo token."
            )
        env[key] = value
    return env


@app.command()
@one_line_errors(DeploymentSpecError, PrefectServerUnavailable, MissingTokenError)
def deploy(
    pool: Annotated[
        str | None,
        typer.Option("--pool", envvar="ATLAS_WORK_POOL", help="Work pool for every deployment (created as 'process')."),
    ] = None,
    timezone: TimezoneOption = None,
    cron: CronOption = None,
    only: OnlyOption = None,
    spec_file: SpecOption = None,
    env: Annotated[
        list[str] | None, typer.Option("--env", help="KEY=VALUE added to every run's environment (repeatable).")
    ] = None,
    store_token: Annotated[
        bool,
        typer.Option(
            "--save-token-secret",
            help="Store ZENODO_TOKEN in a Prefect Secret block (ATLAS_TOKEN_SECRET_BLOCK, default 'zenodo-token').",
        ),
    ] = False,
) -> None:
    """Register every deployment with the Prefect server at PREFECT_API_URL (safe to re-run).

    Example:
      PREFECT_API_URL=http://127.0.0.1:4200/api zenodo-atlas deploy --timezone Europe/Paris
    """
    from prefect.deployments.runner import DeploymentApplyError

    from zenodo_atlas.deployments.deploy import (
        DEFAULT_SECRET_BLOCK,
        SECRET_BLOCK_ENV,
        api_url,
        register_deployments,
        save_token_secret,
    )

    specs = _specs(spec_file, only, cron, timezone)
    job_env = _job_env(env or [])
    settings = load_settings()
    token = settings.require_token() if store_token else None
    url = api_url()
    block = settings.token_secret_block or (DEFAULT_SECRET_BLOCK if store_token else None)
    if token is not None and block:
        asyncio.run(save_token_secret(token, block))
        stdout.print(f"saved the Zenodo token in Prefect Secret block {block!r}")
    if block:
        job_env[SECRET_BLOCK_ENV] = block
    stdout.print(f"registering {len(specs)} deployment(s) with {url}")
    try:
        registered = asyncio.run(
            register_deployments(
                specs, pool=pool, env=job_env, on_progress=lambda m: stdout.print(f"  {m}")
            )
        )
    except DeploymentApplyError as exc:
        raise fail(f"The server refused a deployment: {one_line(exc)}") from None
    for pool_name in sorted({r.work_pool for r in registered}):
        stdout.print(f"done; start a worker with: prefect worker start --pool {pool_name} --type process")


@app.command()
@one_line_errors(DeploymentSpecError, PrefectServerUnavailable)
def serve(
    timezone: TimezoneOption = None,
    cron: CronOption = None,
    only: OnlyOption = None,
    spec_file: SpecOption = None,
    limit: Annotated[
        int | None, typer.Option("--limit", min=1, help="Most runs at once across all deployments.")
    ] = None,
) -> None:
    """Run every deployment from this one process, no work pool (single-machine mode).

    Example:
      PREFECT_API_URL=http://127.0.0.1:4200/api zenodo-atlas serve
    """
    from prefect.settings import PREFECT_API_URL

    from zenodo_atlas.deployments.serve import serve_all

    specs = _specs(spec_file, only, cron, timezone)
    if not PREFECT_API_URL.value():
        stderr.print(
            "[yellow]warning:[/] PREFECT_API_URL is not set, so this uses Prefect's ephemeral server: "
            "runs can be triggered but the nightly schedule will not fire. "
            "Run `prefect server start` and export PREFECT_API_URL=http://127.0.0.1:4200/api for schedules.",
            highlight=False,
        )
    stdout.print(f"serving {', '.join(spec.name for spec in specs)} (Ctrl-C to stop)")
    try:
        asyncio.run(serve_all(specs, limit=limit))
    except KeyboardInterrupt:
        stdout.print("stopped")
