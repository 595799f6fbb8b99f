"""The background Prefect server: started once, found again by later commands, stopped on request."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import httpx
import psutil
import pytest

from tests.cli.test_zenodo_cmd import free_port
from zenodo_atlas.cli.prefect_server import prefect_down

pytestmark = pytest.mark.slow


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "zenodo_atlas", *args], env=env, capture_output=True, text=True, timeout=300,
        check=False,
    )


def flow_run_names(api_url: str) -> list[str]:
    request = urllib.request.Request(
        f"{api_url}/flows/filter", data=b"{}", headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return [flow["name"] for flow in json.load(response)]


def test_flow_commands_share_one_background_server_until_it_is_stopped(tmp_path: Path, zenodo_server) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_API", "ZENODO_", "ATLAS_"))}
    env |= {"PREFECT_HOME": str(tmp_path / "prefect-home"), "ZENODO_URL": zenodo_server.api_url,
            "ZENODO_TOKEN": zenodo_server.token, "ATLAS_TOKEN_FILE": str(tmp_path / "none")}
    try:
        first = cli("upload", "--clean-drafts", env=env)
        assert first.returncode == 0, first.stderr[-2000:]
        assert "Started a background Prefect server" in first.stderr
        state = json.loads((tmp_path / "prefect-home" / "zenodo-atlas-server.json").read_text())
        api_url = f"http://127.0.0.1:{state['port']}/api"

        again = cli("upload", "--clean-drafts", env=env)
        assert again.returncode == 0, again.stderr[-2000:]
        assert "Started a background Prefect server" not in again.stderr
        assert "clean-drafts" in flow_run_names(api_url)  # runs are recorded there, visible in its UI
        status = cli("server", "status", env=env)
        assert status.returncode == 0 and f"pid {state['pid']}" in status.stdout
        assert zenodo_server.token not in Path(f"/proc/{state['pid']}/environ").read_text()  # outlives the command
        warm = json.loads((tmp_path / "prefect-home" / "zenodo-atlas-warm.json").read_text())  # started beside it
        assert zenodo_server.token not in Path(f"/proc/{warm['pid']}/environ").read_text()
    finally:
        stopped = cli("server", "stop", env=env)
    assert stopped.returncode == 0, stopped.stderr
    for pid in (state["pid"], warm["pid"]):
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert not Path(warm["socket"]).exists()
    assert cli("server", "status", env=env).returncode == 1


def test_a_configured_server_or_the_ephemeral_mode_starts_no_background_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from zenodo_atlas.cli.prefect_server import prefect_api

    monkeypatch.setenv("PREFECT_HOME", str(tmp_path))
    messages: list[str] = []
    monkeypatch.setenv("ATLAS_PREFECT_SERVER", "ephemeral")
    with prefect_api(messages.append):
        pass
    monkeypatch.delenv("ATLAS_PREFECT_SERVER")
    with temporary_settings({PREFECT_API_URL: "http://127.0.0.1:9/api"}), prefect_api(messages.append):
        assert PREFECT_API_URL.value() == "http://127.0.0.1:9/api"
    assert messages == [] and not (tmp_path / "zenodo-atlas-server.json").exists()


def test_a_configured_prefect_api_that_is_down_is_named_with_how_to_start_it(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_API", "ZENODO_", "ATLAS_"))}
    env |= {"PREFECT_HOME": str(tmp_path / "prefect-home"), "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
            "ATLAS_TOKEN_FILE": str(tmp_path / "none")}

    result = cli("download", "--name", "20231021_REU-ST-LEU_ASV-1_01", "--out", str(tmp_path / "out"), env=env)

    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert f"the Prefect API at http://127.0.0.1:{port} is not answering" in line, line
    assert "prefect server start" in line and "unset PREFECT_API_URL" in line and "Traceback" not in line


async def test_a_lost_background_server_says_prefect_and_how_to_restart_it() -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    port = free_port()
    with pytest.raises(httpx.ConnectError) as caught:  # a real refused connection, as the engine meets it
        async with httpx.AsyncClient() as client:
            await client.get(f"http://127.0.0.1:{port}/api/health")
    wrapped = RuntimeError("All connection attempts failed")
    wrapped.__cause__ = caught.value

    with temporary_settings({PREFECT_API_URL: ""}):
        line = prefect_down(wrapped)

    assert line is not None and line.startswith(f"the Prefect API at http://127.0.0.1:{port} is not answering")
    assert "background server" in line and "zenodo-atlas server stop" in line
    assert prefect_down(RuntimeError("Zenodo said no")) is None
