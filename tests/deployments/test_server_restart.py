"""A Prefect server killed while an upload holds global transfer slots: after a restart, uploads proceed.

Prefect keeps global-concurrency leases apart from the slot counts; with the default in-memory lease
storage a crash loses the leases and the slots stay taken forever (issue 12: 8 of 8 leaked, then every
upload waited with no message). With leases on disk (processes.SERVER_ENV, as docker-compose.yml sets
it) the restarted server's repossessor revokes the expired lease and frees the slot.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.deployments import processes
from tests.fixtures.zenodo_server import ZenodoTestServer
from zenodo_atlas.tasks.transfer import UPLOAD_LIMIT
from zenodo_atlas.zenodo.server import FaultConfig

pytestmark = pytest.mark.slow


def active_slots(api_url: str) -> int:
    with urllib.request.urlopen(f"{api_url}/v2/concurrency_limits/{UPLOAD_LIMIT}", timeout=10) as response:
        return json.load(response)["active_slots"]


def take_without_lease(api_url: str) -> None:
    request = urllib.request.Request(
        f"{api_url}/v2/concurrency_limits/{UPLOAD_LIMIT}", method="PATCH",
        data=json.dumps({"active_slots": 1}).encode(), headers={"Content-Type": "application/json"},
    )
    urllib.request.urlopen(request, timeout=10).close()


def upload_command(session: Path) -> list[str]:
    return [sys.executable, "-m", "zenodo_atlas", "upload", str(session), "--raw"]


def test_slots_held_when_the_prefect_server_dies_are_freed_after_a_restart(
    tmp_path: Path, zenodo_server: ZenodoTestServer, sample_sessions
) -> None:
    home, logs = tmp_path / "prefect-home", tmp_path / "logs"
    home.mkdir()
    (logs / "restart").mkdir(parents=True)
    server = processes.start_server(home, logs)
    port = int(server.api_url.rsplit(":", 1)[1].split("/")[0])
    env = processes.client_env(server.api_url, home) | {
        "ZENODO_URL": zenodo_server.api_url,
        "ZENODO_TOKEN": zenodo_server.token,
        "ATLAS_WORK_DIR": str(tmp_path / "work"),
        "ATLAS_TOKEN_FILE": str(tmp_path / "no-token-file"),
        "ATLAS_GLOBAL_TRANSFER_SLOTS": "1",  # one leaked slot blocks every upload
    }
    first = second = None
    try:
        processes.wait_until(processes.healthy(server.api_url), timeout=120, managed=server, what="/api/health")
        zenodo_server.set_faults(FaultConfig(hold_uploads_after=0))
        first = processes.start("upload-1", upload_command(sample_sessions(platform="UAV", frames=10, dcim_mb=0)),
                                env=env, cwd=tmp_path, log_dir=logs)
        zenodo_server.wait_held(1, timeout=180)
        assert active_slots(server.api_url) == 1

        server.kill()
        first.kill()  # the upload dies with it: nothing will ever release its slot
        zenodo_server.set_faults(None)
        server = processes.start_server(home, logs / "restart", port=port)
        processes.wait_until(processes.healthy(server.api_url), timeout=120, managed=server, what="restart")
        assert active_slots(server.api_url) == 1  # the slot outlived the crash

        session = sample_sessions(platform="ASV", frames=10, dcim_mb=0)
        second = subprocess.run(upload_command(session), env=env, cwd=tmp_path, capture_output=True, timeout=300)
        assert second.returncode == 0, second.stderr.decode()[-3000:]
        assert active_slots(server.api_url) == 0

        # A slot taken with no lease at all (as a server with leases in memory leaves it) is never freed:
        # the wait is bounded and the message says what holds the limit and how to free it.
        take_without_lease(server.api_url)
        third = subprocess.run(
            upload_command(sample_sessions(name="20240301_MUS-Le-Morne_UAV-1_01", frames=10, dcim_mb=0)),
            env=env | {"ATLAS_SLOT_WAIT_SECONDS": "3"}, cwd=tmp_path, capture_output=True, timeout=120,
        )
        assert third.returncode != 0
        last = third.stderr.decode().rstrip().splitlines()[-1]  # the CLI's one-line error, after Prefect's log
        assert "error: " in last and "Waited 3 s" in last, last
        assert f"global concurrency limit '{UPLOAD_LIMIT}' (1 of 1 in use)" in last
        assert f"prefect gcl update {UPLOAD_LIMIT} --active-slots 0" in last
    finally:
        for managed in (first, server):
            if managed is not None:
                managed.stop(grace=5)
