"""One Prefect server in the background, started by the first command that runs a flow and found again
by every later one, so a user without a server pays Prefect's start-up once, not 10-25 s per command.

Without PREFECT_API_URL, Prefect starts a temporary server (a uvicorn subprocess, migrations, services)
inside every process that runs a flow and stops it at exit. Here the CLI starts that same app once,
detached, on a free loopback port, against the same database ($PREFECT_HOME/prefect.db), records where
it listens in $PREFECT_HOME, and points later commands at it. Runs stay visible in its UI. A server the
user configured (PREFECT_API_URL, a profile) always wins; ATLAS_PREFECT_SERVER=ephemeral restores
Prefect's per-command temporary server. `zenodo-atlas server stop` ends it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
from pydantic import BaseModel, ValidationError

from zenodo_atlas.errors import one_line
from zenodo_atlas.launch import MODE_ENV, prefect_home
from zenodo_atlas.settings import LEASES_ON_DISK

APP_FACTORY = "zenodo_atlas.cli.prefect_app:create_app"
_FACTORIES = (APP_FACTORY, "prefect.server.api.server:create_app")
"""Ours, and Prefect's own that earlier releases ran (so such a server is still found and stopped)."""
CLIENT_MAX_RETRIES = 10
"""Tries of a Prefect client against this server: its 503s ask for short waits (see `prefect_app`)."""
START_TIMEOUT_S = 180.0
"""A cold server migrates its database first: over a minute on a loaded machine."""


class ServerStartError(RuntimeError):
    """The background server did not answer its health check in time."""


class ServerState(BaseModel):
    pid: int
    port: int
    prefect_version: str

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"


def _state_path() -> Path:
    return prefect_home() / "zenodo-atlas-server.json"


def _prefect_version() -> str:
    """The loaded Prefect's version, else the installed one (reading package metadata costs ~30 ms)."""
    if "prefect" in sys.modules:
        return str(sys.modules["prefect"].__version__)
    from importlib.metadata import version

    return version("prefect")


def _healthy(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=timeout) as response:  # loopback only
            return response.status == 200
    except OSError:
        return False


def _ours(state: ServerState) -> psutil.Process | None:
    """The recorded process if it is still the server we started (a recycled pid is not)."""
    try:
        process = psutil.Process(state.pid)
        command = process.cmdline()
    except (psutil.Error, OSError):
        return None
    return process if any(f in command for f in _FACTORIES) and str(state.port) in command else None


def _recorded() -> ServerState | None:
    try:
        return ServerState.model_validate_json(_state_path().read_text())
    except (OSError, ValidationError):
        return None


def running() -> ServerState | None:
    """The background server of this PREFECT_HOME, if it is alive, answers and runs this Prefect."""
    state = _recorded()
    if state is None or state.prefect_version != _prefect_version() or _ours(state) is None:
        return None
    return state if _healthy(state.api_url, timeout=10.0) else None  # a busy machine answers slowly


def _terminate(process: psutil.Process) -> None:
    with contextlib.suppress(psutil.Error, OSError):
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except psutil.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def _server_environment(home: Path) -> dict[str, str]:
    """The caller's environment minus the project's settings: the server outlives the command, and
    the Zenodo token (ZENODO_TOKEN) has no business in a Prefect server's environment."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("ZENODO_", "ATLAS_"))}
    return keep | LEASES_ON_DISK | {"PREFECT_HOME": str(home), "PREFECT_API_URL": ""}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def _locked() -> Iterator[None]:
    """Two commands started at once start one server: the second waits, then finds the first's."""
    home = prefect_home()
    home.mkdir(parents=True, exist_ok=True)
    with (home / "zenodo-atlas-server.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def ensure_warm() -> str | None:
    """Start the warm process later commands hand themselves to (`zenodo_atlas.launch`) if it is not
    running; the one-line reason when it cannot start (commands then simply run in their own process)."""
    from zenodo_atlas.cli import warm  # not at import: `python -m zenodo_atlas.cli.warm` runs it as __main__

    if not warm.supported():
        return None
    with _locked():
        if warm.running(prefect_home()) is None:
            try:
                warm.start(prefect_home())
            except OSError as exc:
                return f"commands run without the warm process: {one_line(exc)}"
    return None


def ensure() -> tuple[ServerState, bool]:
    """The running background server, started if there is none; True when this call started it."""
    with _locked():
        state = running()
        if state is not None:
            return state, False
        stale = _recorded()
        if stale is not None and (process := _ours(stale)) is not None:
            _terminate(process)  # another Prefect version's, or no longer answering
        home = prefect_home()
        port = _free_port()
        log = (home / "zenodo-atlas-server.log").open("ab")
        env = _server_environment(home)
        command = [
            sys.executable, "-m", "uvicorn", "--factory", APP_FACTORY,
            "--host", "127.0.0.1", "--port", str(port), "--log-level", "error", "--lifespan", "on",
        ]
        process = subprocess.Popen(
            command, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
        )
        log.close()
        state = ServerState(pid=process.pid, port=port, prefect_version=_prefect_version())
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _healthy(state.api_url, timeout=1.0):
            if process.poll() is not None or time.monotonic() > deadline:
                with contextlib.suppress(OSError):
                    process.kill()
                raise ServerStartError(
                    f"the background Prefect server did not start (see {home / 'zenodo-atlas-server.log'}); "
                    f"set PREFECT_API_URL to a running server or {MODE_ENV}=ephemeral"
                )
            time.sleep(0.2)  # polling the health endpoint, the observable condition
        _state_path().write_text(state.model_dump_json())
        return state, True


def stop() -> ServerState | None:
    """Stop the background server of this PREFECT_HOME; None if none was running."""
    from zenodo_atlas.cli import warm

    with _locked():
        warm.stop(prefect_home())
        state = _recorded()
        if state is None:
            return None
        process = _ours(state)
        if process is not None:
            _terminate(process)
        _state_path().unlink(missing_ok=True)
        return state if process is not None else None


def configured_api_url() -> str | None:
    """The Prefect API the user configured (environment, .env, profile), if any."""
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value() or None


@contextlib.contextmanager
def prefect_api(announce: Callable[[str], None]) -> Iterator[None]:
    """Run the enclosed flows against the user's server, else against the background one."""
    if configured_api_url() or os.environ.get(MODE_ENV, "background").lower() == "ephemeral":
        yield
        return
    from prefect.settings import PREFECT_API_URL, PREFECT_CLIENT_MAX_RETRIES, temporary_settings

    state, started = ensure()
    if started:
        announce(
            f"Started a background Prefect server for this and later commands: {state.api_url.removesuffix('/api')} "
            "(runs and logs in its UI). Stop it with `zenodo-atlas server stop`."
        )
    if (problem := ensure_warm()) is not None:
        announce(problem)
    with temporary_settings({PREFECT_API_URL: state.api_url, PREFECT_CLIENT_MAX_RETRIES: CLIENT_MAX_RETRIES}):
        yield


def prefect_down(exc: BaseException) -> str | None:
    """The one-line reason when `exc` comes from the Prefect API not answering, else None.

    Prefect reports it as `All connection attempts failed` or `Failed to reach API at ...`, naming
    neither Prefect nor what to do; the cause is an httpx transport error (Zenodo goes through aiohttp).
    """
    import httpx

    chain: list[BaseException] = []
    seen: BaseException | None = exc
    while seen is not None and seen not in chain:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    seen = next((e for e in chain if isinstance(e, httpx.TransportError)), None)
    if seen is None:
        return None
    try:
        url = seen.request.url
        where = f" at {url.scheme}://{url.netloc.decode()}"
    except RuntimeError:  # an error raised before its request was attached
        where = ""
    reason = one_line(seen)
    if configured_api_url():
        hint = ("start that server (`prefect server start`), or unset PREFECT_API_URL to let zenodo-atlas run "
                "its own background server")
    else:
        hint = ("it is zenodo-atlas's background server: run the command again to restart it "
                "(`zenodo-atlas server stop` stops it for good)")
    return f"the Prefect API{where} is not answering ({reason}): {hint}"


__all__ = ["ServerStartError", "ServerState", "ensure", "ensure_warm", "prefect_api", "prefect_down", "running", "stop"]
