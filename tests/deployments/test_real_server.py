"""Deployments on a real Prefect server with a real process worker (one server for the module)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from prefect.blocks.system import Secret
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import ConcurrencyLimitStrategy
from prefect.deployments import run_deployment
from prefect.settings import PREFECT_API_URL, temporary_settings
from typer.testing import CliRunner

from deployments.spec import default_project_dir
from tests.deployments import processes
from zenodo_atlas.cli import deploy_cmd

pytestmark = pytest.mark.slow

STANDIN_SPEC = Path(__file__).with_name("standin.yaml")
POOL = "atlas-it"
TOKEN = "it-token-5f1c0e7d9a"
SECRET_BLOCK = "zenodo-token-it"


class _FakeDeposit(BaseHTTPRequestHandler):
    """Accepts `POST /api/deposit/depositions` with the right Bearer token; remembers the titles."""

    titles: list[str]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            self.send_response(401)
            self.end_headers()
            return
        self.titles.append(json.loads(body)["metadata"]["title"])
        payload = json.dumps({"id": len(self.titles)}).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def fake_zenodo() -> Iterator[tuple[str, list[str]]]:
    titles: list[str] = []
    handler = type("Handler", (_FakeDeposit,), {"titles": titles})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/api", titles
    server.shutdown()
    server.server_close()


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


@pytest.fixture(scope="module")
def worker(
    prefect_server: processes.Managed,
    fake_zenodo: tuple[str, list[str]],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[processes.Managed]:
    home = tmp_path_factory.mktemp("prefect-worker-home")
    zenodo_url, _ = fake_zenodo
    managed = processes.start_worker(
        prefect_server.api_url,
        POOL,
        home=home,
        log_dir=home,
        extra_env={"ZENODO_URL": zenodo_url, "ZENODO_TOKEN": TOKEN},
    )

    def online() -> bool:
        with get_client(sync_client=True) as client:
            try:
                workers = client.read_workers_for_work_pool(POOL)
            except Exception:
                return False
        return any(w.status and w.status.value == "ONLINE" for w in workers)

    try:
        processes.wait_until(online, timeout=60, managed=managed, what="worker ONLINE")
        yield managed
    finally:
        managed.stop()


@pytest.fixture(scope="module")
def deployed(prefect_server: processes.Managed) -> str:
    """`zenodo-atlas deploy` run once for the module, with the token stored as a Secret block."""
    result = CliRunner().invoke(
        deploy_cmd.app,
        [
            "deploy",
            "--file",
            str(STANDIN_SPEC),
            "--pool",
            POOL,
            "--timezone",
            "Europe/Paris",
            "--save-token-secret",
        ],
        env={"ZENODO_TOKEN": TOKEN, "ATLAS_TOKEN_SECRET_BLOCK": SECRET_BLOCK},
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_deploy_command_registers_every_deployment(deployed: str) -> None:
    assert "registered upload-sessions/upload" in deployed
    assert "registered auto-update/nightly" in deployed
    assert TOKEN not in deployed
    with get_client(sync_client=True) as client:
        pool = client.read_work_pool(POOL)
        upload = client.read_deployment_by_name("upload-sessions/upload")
        nightly = client.read_deployment_by_name("auto-update/nightly")

    assert pool.type == "process"
    assert upload.work_pool_name == POOL
    assert upload.pull_steps == [
        {"prefect.deployments.steps.set_working_directory": {"directory": str(default_project_dir())}}
    ]
    assert upload.job_variables["env"] == {"ATLAS_TOKEN_SECRET_BLOCK": SECRET_BLOCK}
    assert set(upload.parameter_openapi_schema["properties"]) == {
        "sessions",
        "raw",
        "processed",
        "custom",
        "metadata_template",
        "dry_run",
    }
    assert upload.schedules == []
    assert upload.global_concurrency_limit is None

    [schedule] = nightly.schedules
    assert (schedule.schedule.cron, schedule.schedule.timezone, schedule.active) == ("0 2 * * *", "Europe/Paris", True)
    assert nightly.global_concurrency_limit is not None
    assert nightly.global_concurrency_limit.limit == 1
    assert nightly.concurrency_options.collision_strategy == ConcurrencyLimitStrategy.CANCEL_NEW
    assert nightly.parameters == {"publish": True}


def test_deploy_command_stores_the_token_as_a_secret_block(deployed: str) -> None:
    assert Secret.load(SECRET_BLOCK).get() == TOKEN


def test_deploy_command_is_idempotent(deployed: str) -> None:
    with get_client(sync_client=True) as client:
        before = client.read_deployment_by_name("upload-sessions/upload").id
    result = CliRunner().invoke(deploy_cmd.app, ["deploy", "--file", str(STANDIN_SPEC), "--pool", POOL])
    assert result.exit_code == 0, result.output
    with get_client(sync_client=True) as client:
        after = client.read_deployment_by_name("upload-sessions/upload")
        names = {d.name for d in client.read_deployments()}
    assert after.id == before
    assert names == {"upload", "nightly"}


def test_worker_runs_the_upload_deployment(
    deployed: str, worker: processes.Managed, fake_zenodo: tuple[str, list[str]], tmp_path: Path
) -> None:
    _, titles = fake_zenodo
    session = tmp_path / "20240101_REU-Stleu_ASV-1_01"
    session.mkdir()

    flow_run = run_deployment(
        "upload-sessions/upload", parameters={"sessions": [str(session)]}, timeout=120, poll_interval=1
    )

    assert flow_run.state is not None
    assert flow_run.state.is_completed(), f"{flow_run.state!r}\n{worker.tail()}"
    assert titles == [session.name]
    assert TOKEN not in worker.log()
