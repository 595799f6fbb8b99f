"""Real `prefect server start` and `prefect worker start` subprocesses for the integration tests.

Each runs in its own process group (so the flow-run subprocesses a worker spawns go down with it),
logs to a file the tests can read, and is waited for by polling an API, never by sleeping blindly.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from zenodo_atlas.settings import LEASES_ON_DISK

PREFECT = str(Path(sys.executable).with_name("prefect"))
QUIET_ENV = {
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_LOGGING_LEVEL": "INFO",
}
# As docker-compose.yml, the README and the background server configure one: leases kept on disk, so
# slots held when the server dies are revoked after it restarts instead of being leaked for good.
SERVER_ENV = LEASES_ON_DISK


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Managed:
    """A subprocess with its log file."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    api_url: str = ""

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    def kill(self) -> None:
        """SIGKILL the whole group at once: a crash, nothing gets to clean up."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM the whole group, then SIGKILL whatever is left after `grace` seconds."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=grace)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=grace)


def start(name: str, args: list[str], *, env: dict[str, str], cwd: Path, log_dir: Path) -> Managed:
    log_path = log_dir / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            args,
            env=env,
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    return Managed(name, process, log_path)


def wait_until(check: Callable[[], bool], *, timeout: float, managed: Managed, what: str) -> float:
    """Poll `check` every 0.2 s; fail early if the process died. Returns the seconds it took."""
    started = time.monotonic()
    deadline = started + timeout
    while time.monotonic() < deadline:
        if managed.process.poll() is not None:
            code = managed.process.returncode
            raise AssertionError(f"{managed.name} exited ({code}) before {what}:\n{managed.tail()}")
        if check():
            return time.monotonic() - started
        time.sleep(0.2)
    raise AssertionError(f"{what} not reached within {timeout:.0f} s:\n{managed.tail()}")


def healthy(api_url: str) -> Callable[[], bool]:
    def check() -> bool:
        try:
            with urllib.request.urlopen(f"{api_url}/health", timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    return check


def start_server(home: Path, log_dir: Path, port: int | None = None) -> Managed:
    """A real server on a free port (or `port`, to restart one), SQLite under `home`; its `api_url` is set."""
    port = port or free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env |= QUIET_ENV | SERVER_ENV | {"PREFECT_HOME": str(home), "PREFECT_UI_ENABLED": "false"}
    server = start(
        "prefect-server",
        [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port), "--no-ui"],
        env=env,
        cwd=home,
        log_dir=log_dir,
    )
    server.api_url = f"http://127.0.0.1:{port}/api"
    return server


def client_env(api_url: str, home: Path) -> dict[str, str]:
    """The environment of a process that talks to `api_url`: no inherited PREFECT_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    return env | QUIET_ENV | {"PREFECT_HOME": str(home), "PREFECT_API_URL": api_url}


def start_worker(
    api_url: str, pool: str, *, home: Path, log_dir: Path, extra_env: dict[str, str],
    name: str = "test-worker", queues: tuple[str, ...] = (),
) -> Managed:
    """A process worker polling every second (all queues of the pool unless `queues` are named); it
    runs from `home`, not the checkout, on purpose."""
    env = client_env(api_url, home) | extra_env
    env |= {
        "PREFECT_WORKER_QUERY_SECONDS": "1",
        "PREFECT_WORKER_PREFETCH_SECONDS": "2",
        "PREFECT_WORKER_HEARTBEAT_SECONDS": "5",
    }
    return start(
        name,
        [PREFECT, "worker", "start", "--pool", pool, "--type", "process", "--name", name,
         *(arg for queue in queues for arg in ("--work-queue", queue))],
        env=env,
        cwd=home,
        log_dir=log_dir,
    )
