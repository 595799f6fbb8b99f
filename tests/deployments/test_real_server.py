"""Deployments on a real Prefect server with a real process worker, against the local Zenodo.

One server, one worker and one local Zenodo serve the whole module; all are torn down (process
groups killed) even when a test fails.
"""

from __future__ import annotations

import json
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from prefect.blocks.system import Secret
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    DeploymentFilter,
    DeploymentFilterId,
    FlowRunFilter,
    FlowRunFilterState,
    FlowRunFilterStateType,
)
from prefect.client.schemas.objects import ConcurrencyLimitStrategy, StateType
from prefect.deployments import run_deployment
from prefect.exceptions import ObjectNotFound
from prefect.settings import PREFECT_API_URL, temporary_settings
from typer.testing import CliRunner

from tests.deployments import processes
from tests.fixtures.zenodo_server import OTHER_TOKEN, TOKEN, ZenodoTestServer
from zenodo_atlas.cli import deploy_cmd

pytestmark = pytest.mark.slow

POOL = "atlas-it"
SECRET_BLOCK = "zenodo-token-it"
EXPECTED = {
    "upload-sessions/upload",
    "download-sessions/download",
    "register-sessions/register",
    "import-annotations/annotations",
    "publish-atlas/publish",
    "auto-update/nightly",
}


@pytest.fixture(scope="module")
def zenodo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ZenodoTestServer]:
    server = ZenodoTestServer(tokens={TOKEN: 1, OTHER_TOKEN: 2}, data_dir=tmp_path_factory.mktemp("local-zenodo"))
    with server:
        yield server


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[processes.Managed]:
    home = tmp_path_factory.mktemp("prefect-server-home")
    server = processes.start_server(home, home)
    try:
        processes.wait_until(processes.healthy(server.api_url), timeout=90, managed=server, what="/api/health")
        with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
            yield server
    finally:
        server.stop()


def flow_env(zenodo: ZenodoTestServer, scratch: Path) -> dict[str, str]:
    """What a machine running flows has: Zenodo's URL and token, and its own scratch space."""
    return {
        "ZENODO_URL": zenodo.api_url,
        "ZENODO_TOKEN": zenodo.token,
        "ATLAS_WORK_DIR": str(scratch / "work"),
        "ATLAS_ATLAS_PATH": str(scratch / "atlas.duckdb"),
        "ATLAS_TOKEN_FILE": str(scratch / "no-token-file"),
        "ATLAS_SEARCH_LAG": "0",  # this local Zenodo's search does not lag (no realistic mode)
    }


@pytest.fixture(scope="module")
def worker(
    prefect_server: processes.Managed, zenodo: ZenodoTestServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[processes.Managed]:
    home = tmp_path_factory.mktemp("prefect-worker-home")
    managed = processes.start_worker(
        prefect_server.api_url, POOL, home=home, log_dir=home, extra_env=flow_env(zenodo, home)
    )

    def online() -> bool:
        with get_client(sync_client=True) as client:
            try:
                workers = client.read_workers_for_work_pool(POOL)
            except ObjectNotFound:
                return False
        return any(w.status is not None and w.status.value == "ONLINE" for w in workers)

    try:
        processes.wait_until(online, timeout=60, managed=managed, what="worker ONLINE")
        yield managed
    finally:
        managed.stop()


@pytest.fixture(scope="module")
def deployed(prefect_server: processes.Managed) -> str:
    """`zenodo-atlas deploy` of the real prefect.yaml, the token stored as a Secret block."""
    result = CliRunner().invoke(
        deploy_cmd.app,
        ["deploy", "--pool", POOL, "--timezone", "Europe/Paris", "--save-token-secret"],
        env={"ZENODO_TOKEN": TOKEN, "ATLAS_TOKEN_SECRET_BLOCK": SECRET_BLOCK},
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_deploy_registers_every_deployment_of_prefect_yaml(deployed: str) -> None:
    assert TOKEN not in deployed
    with get_client(sync_client=True) as client:
        pool = client.read_work_pool(POOL)
        deployments = {d.name: d for d in client.read_deployments()}
        flows = {f.id: f.name for f in client.read_flows()}

    assert {f"{flows[d.flow_id]}/{name}" for name, d in deployments.items()} == EXPECTED
    for full_name in EXPECTED:
        assert f"registered {full_name} on pool '{POOL}'" in deployed
    assert pool.type == "process"
    upload = deployments["upload"]
    assert upload.work_pool_name == POOL
    # A module path and no pull step: the worker runs the installed package, not a checkout.
    assert upload.entrypoint == "zenodo_atlas.flows.upload.upload_sessions"
    assert not upload.pull_steps
    assert upload.job_variables["env"] == {"ATLAS_TOKEN_SECRET_BLOCK": SECRET_BLOCK}
    assert upload.parameter_openapi_schema["required"] == ["sessions"]
    assert upload.schedules == []
    assert upload.global_concurrency_limit is None


def test_every_deployment_parameter_is_described_in_the_api(deployed: str) -> None:
    """What the UI's run form shows: each parameter's description, read back from the server."""
    with get_client(sync_client=True) as client:
        deployments = client.read_deployments()
    assert len(deployments) == len(EXPECTED)
    for deployment in deployments:
        properties = deployment.parameter_openapi_schema["properties"]
        assert properties, deployment.name
        for name, schema in properties.items():
            assert len(schema.get("description") or "") > 15, f"{deployment.name}.{name} has no description"


def test_nightly_schedule_and_limits_reach_the_server(deployed: str) -> None:
    with get_client(sync_client=True) as client:
        nightly = client.read_deployment_by_name("auto-update/nightly")
        publish = client.read_deployment_by_name("publish-atlas/publish")

    [schedule] = nightly.schedules
    assert (schedule.schedule.cron, schedule.schedule.timezone, schedule.active) == (
        "0 2 * * *",
        "Europe/Paris",
        True,
    )
    assert nightly.parameters == {"publish": True}
    for deployment in (nightly, publish):
        assert deployment.global_concurrency_limit is not None
        assert deployment.global_concurrency_limit.limit == 1
        assert deployment.concurrency_options.collision_strategy == ConcurrencyLimitStrategy.CANCEL_NEW


def test_the_scheduler_creates_runs_for_the_nightly_deployment(
    deployed: str, prefect_server: processes.Managed
) -> None:
    """The server's own scheduler service turns the nightly cron into scheduled runs.

    Prefect 3.8.8's scheduler fails on every tick with SQLAlchemy 2.1 ("Can't evaluate bulk DML
    statement"), so this is what proves the pinned dependencies give a working schedule.
    """
    with get_client(sync_client=True) as client:
        nightly = client.read_deployment_by_name("auto-update/nightly")

    def scheduled_runs() -> list:
        with get_client(sync_client=True) as client:
            return client.read_flow_runs(
                deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[nightly.id])),
                flow_run_filter=FlowRunFilter(
                    state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED]))
                ),
            )

    # The recent-deployments scheduler loops every 5 s; 90 s covers a slow tick on a busy machine.
    processes.wait_until(
        lambda: bool(scheduled_runs()),
        timeout=90,
        managed=prefect_server,
        what="a scheduled run of auto-update/nightly",
    )
    runs = scheduled_runs()
    paris = ZoneInfo("Europe/Paris")
    for run in runs:
        local = run.expected_start_time.astimezone(paris)
        assert (local.hour, local.minute) == (2, 0), run.expected_start_time
    assert "InvalidRequestError" not in prefect_server.log()


def test_the_token_is_stored_as_a_secret_block(deployed: str) -> None:
    assert Secret.load(SECRET_BLOCK).get() == TOKEN


def test_deploying_again_updates_in_place(deployed: str) -> None:
    with get_client(sync_client=True) as client:
        before = client.read_deployment_by_name("upload-sessions/upload").id
    result = CliRunner().invoke(deploy_cmd.app, ["deploy", "--pool", POOL, "--only", "upload"])
    assert result.exit_code == 0, result.output
    with get_client(sync_client=True) as client:
        assert client.read_deployment_by_name("upload-sessions/upload").id == before
        assert len(client.read_deployments()) == len(EXPECTED)


def depositions(zenodo: ZenodoTestServer) -> list[dict]:
    """The token owner's depositions, drafts included, as Zenodo lists them."""
    request = urllib.request.Request(
        f"{zenodo.api_url}/deposit/depositions", headers={"Authorization": f"Bearer {zenodo.token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def test_worker_runs_the_upload_deployment_against_local_zenodo(
    deployed: str, worker: processes.Managed, zenodo: ZenodoTestServer, sample_session: Path
) -> None:
    flow_run = run_deployment(
        "upload-sessions/upload",
        parameters={"sessions": [str(sample_session)], "raw": True},
        timeout=180,
        poll_interval=1,
    )

    assert flow_run.state is not None
    assert flow_run.state.is_completed(), f"{flow_run.state!r}\n{worker.tail()}"
    [record] = [d for d in depositions(zenodo) if d["submitted"]]
    identifiers = {i["identifier"] for i in record["metadata"].get("related_identifiers", [])}
    assert f"urn:{sample_session.name}" in identifiers, record["metadata"]
    assert zenodo.token not in worker.log()


def test_serve_runs_a_deployment_with_the_token_from_the_secret_block(
    deployed: str, prefect_server: processes.Managed, zenodo: ZenodoTestServer, tmp_path: Path
) -> None:
    """No work pool, and no ZENODO_TOKEN in the serving process: the flow reads the Secret block."""
    spec = tmp_path / "served.yaml"
    spec.write_text(
        "deployments:\n  - name: served\n    entrypoint: tests.deployments.standin_flows:upload_sessions\n"
    )
    env = processes.client_env(prefect_server.api_url, tmp_path) | flow_env(zenodo, tmp_path)
    del env["ZENODO_TOKEN"]
    env |= {
        "ATLAS_TOKEN_SECRET_BLOCK": SECRET_BLOCK,
        "PREFECT_RUNNER_POLL_FREQUENCY": "1",
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }
    serving = processes.start(
        "serve",
        [sys.executable, "-c", "from zenodo_atlas.cli.deploy_cmd import app; app()", "serve", "--file", str(spec)],
        env=env,
        cwd=tmp_path,
        log_dir=tmp_path,
    )
    try:

        def registered() -> bool:
            with get_client(sync_client=True) as client:
                try:
                    client.read_deployment_by_name("upload-sessions/served")
                except ObjectNotFound:
                    return False
            return True

        processes.wait_until(registered, timeout=60, managed=serving, what="served deployment registered")
        flow_run = run_deployment(
            "upload-sessions/served", parameters={"sessions": ["serve-check"]}, timeout=120, poll_interval=1
        )
        assert flow_run.state is not None
        assert flow_run.state.is_completed(), f"{flow_run.state!r}\n{serving.tail()}"
        with get_client(sync_client=True) as client:
            served = client.read_deployment_by_name("upload-sessions/served")
        assert served.work_pool_name is None
        assert "serve-check" in {d["title"] for d in depositions(zenodo)}
        assert zenodo.token not in serving.log()
    finally:
        serving.stop()
