"""The warm process: Prefect and the flows imported once, a fork per command (see `zenodo_atlas.launch`).

It lives beside the background Prefect server (started and stopped with it) and is single-threaded,
so forking it is safe. Each accepted command gets a monitor process, which forks the child that runs
it and reports how the child ended; the monitor kills the child if the caller's process disappears
(closed connection), so killing the command's process kills the command, as without the warm process.

The child starts from a pristine copy: every command and flow was imported once, then the command
modules (`zenodo_atlas.cli`, whose consoles read the terminal and whose package sets Prefect's
defaults at import) were forgotten, so the child imports them afresh under the caller's environment.
The layers below read nothing from the environment at import. Prefect's settings and logging, and
the temporary folder Python caches, are rebuilt from the caller's environment.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import importlib
import os
import pkgutil
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import traceback
from pathlib import Path
from typing import Any, NoReturn

import psutil
from pydantic import BaseModel, ValidationError

from zenodo_atlas.launch import (
    installed_fingerprint,
    prefect_home,
    private_folder,
    receive_message,
    same_user,
    send_message,
    socket_path,
)

_MODULE = "zenodo_atlas.cli.warm"
_OURS = "zenodo_atlas."
_FRESH = "zenodo_atlas.cli"
_CHECK_EVERY_S = 30.0
"""How often an idle warm process checks that its socket is still its own (else it exits)."""


class WarmState(BaseModel):
    pid: int
    socket: str


def _state_path(home: Path) -> Path:
    return home / "zenodo-atlas-warm.json"


def _preload() -> dict[str, int]:
    """Import every command and flow (so they and their libraries load), then forget the command modules.

    Returns the modification times of the project's source files that stay loaded.
    """
    import zenodo_atlas.cli  # noqa: F401  the commands
    import zenodo_atlas.flows as flows

    for module in pkgutil.walk_packages(flows.__path__, f"{flows.__name__}."):
        importlib.import_module(module.name)
    for name in [name for name in sys.modules if name == _FRESH or name.startswith(f"{_FRESH}.")]:
        del sys.modules[name]  # this running copy is `__main__`, which keeps what it uses
    gc.collect()
    loaded = [getattr(module, "__file__", None) for name, module in sys.modules.items() if name.startswith(_OURS)]
    return {file: os.stat(file).st_mtime_ns for file in loaded if file}


def _sources_changed(sources: dict[str, int]) -> bool:
    """An edited source file (an editable install being worked on) makes the loaded code stale."""
    return any(_mtime(Path(file)) != mtime for file, mtime in sources.items())


def _listen(path: Path) -> tuple[socket.socket, int]:
    """Listen at `path`, replacing atomically whatever socket was there; (listener, its inode)."""
    folder = private_folder(path)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    staging = folder / f".{os.getpid()}.sock"
    staging.unlink(missing_ok=True)
    listener.bind(str(staging))
    listener.listen(64)
    os.replace(staging, path)
    return listener, path.stat().st_ino


def _still_ours(path: Path, inode: int) -> bool:
    try:
        return path.stat().st_ino == inode
    except OSError:
        return False


def serve(path: Path) -> tuple[dict[str, Any], list[int]]:
    """Accept commands until stopped; returns only in a child, with the command it must run."""
    sources = _preload()
    _LOADED_WITH[:] = prefect_inputs()
    fingerprint = installed_fingerprint()
    listener, inode = _listen(path)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # monitors are reaped by the kernel
    while _still_ours(path, inode):  # a newer warm process took the socket over: leave
        ready, _, _ = select.select([listener], [], [], _CHECK_EVERY_S)
        if not ready:
            continue
        conn, _ = listener.accept()
        if not same_user(conn):
            conn.close()
            continue
        if os.fork() == 0:
            listener.close()
            return _monitor(conn, fingerprint, sources, path, inode)
        conn.close()
    raise SystemExit(0)


def _monitor(
    conn: socket.socket, fingerprint: str, sources: dict[str, int], path: Path, inode: int
) -> tuple[dict[str, Any], list[int]]:
    """Fork the child for one command, then report how it ended; returns only in the child."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    try:
        request, fds = receive_message(conn, max_fds=3)
        if request.get("fingerprint") != fingerprint or _sources_changed(sources) or len(fds) != 3:
            send_message(conn, {"stale": True})  # the caller runs the command itself
            if _still_ours(path, inode):
                path.unlink(missing_ok=True)
                os.kill(os.getppid(), signal.SIGTERM)
            os._exit(0)
        go, wait_for_go = os.pipe()[::-1]
        child = os.fork()
        if child == 0:  # starts once its monitor can watch it, or never
            conn.close()
            os.close(go)
            if not os.read(wait_for_go, 1):
                os._exit(1)
            os.close(wait_for_go)
            return request, fds
        os.close(wait_for_go)
        for fd in fds:
            os.close(fd)
        try:
            exited = os.pidfd_open(child)
        except OSError:  # a kernel older than 5.3: the caller runs the command itself
            os.kill(child, signal.SIGKILL)
            send_message(conn, {"stale": True})
            os._exit(0)
        os.write(go, b"1")
        os.close(go)
        send_message(conn, {"pid": child})
        watched: list[Any] = [exited, conn]
        while True:
            ready, _, _ = select.select(watched, [], [])
            if conn in ready and not conn.recv(64):  # the caller is gone: so is its command
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child, signal.SIGKILL)
                watched.remove(conn)
            if watched[0] in ready:
                break
        code = os.waitstatus_to_exitcode(os.waitpid(child, 0)[1])
        with contextlib.suppress(OSError):
            send_message(conn, {"signal": -code} if code < 0 else {"exit": code})
    except BaseException:  # a monitor never returns into the accept loop; its caller sees a closed socket
        os._exit(1)
    os._exit(0)


def _text(fd: int, mode: str, encoding: str) -> Any:
    """A standard stream on `fd` buffered as Python buffers it at start-up (line-buffered on a terminal)."""
    line = mode == "w" and (fd == 2 or os.isatty(fd))
    return open(
        fd, mode, buffering=1 if line else -1, encoding=encoding,
        errors="backslashreplace" if fd == 2 else "strict", closefd=False,
    )


def become(request: dict[str, Any], fds: list[int]) -> None:
    """Turn this fresh child into the caller's command: its terminal, folder, environment, arguments."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    for target, fd in enumerate(fds):
        if fd != target:
            os.dup2(fd, target)
            os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    tempfile.tempdir = None  # gettempdir() caches its first answer
    encoding = request.get("encoding") or "utf-8"
    sys.stdin, sys.stdout, sys.stderr = _text(0, "r", encoding), _text(1, "w", encoding), _text(2, "w", encoding)
    sys.argv = ["zenodo-atlas", *request["argv"]]

    import zenodo_atlas.cli  # noqa: F401  applies the Prefect defaults to this environment

    if prefect_inputs() != _LOADED_WITH:
        from prefect.context import refresh_global_settings_context
        from prefect.logging.configuration import setup_logging

        refresh_global_settings_context()
        setup_logging(incremental=False)


def _mtime(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None


def prefect_inputs() -> list[Any]:
    """What Prefect builds its settings and logging from: PREFECT_* variables, the profiles and logging
    files of its home, and the `.env`, `prefect.toml` and `pyproject.toml` of the working folder.
    While these are the warm process's own, rebuilding them (~65 ms) would change nothing."""
    variables = sorted(
        (k, v) for k, v in os.environ.items() if k.startswith("PREFECT_") or k in ("HOME", "DO_NOT_TRACK")
    )
    files = [prefect_home() / "profiles.toml", prefect_home() / "logging.yml",
             *(Path.cwd() / name for name in (".env", "prefect.toml", "pyproject.toml"))]
    return [variables, [(str(f), _mtime(f)) for f in files]]


_LOADED_WITH: list[Any] = []
"""`prefect_inputs()` as the warm process loaded Prefect."""


def supported() -> bool:
    """Linux: the monitor watches its child through a pidfd and checks callers with SO_PEERCRED."""
    return sys.platform.startswith("linux") and hasattr(os, "pidfd_open")


def running(home: Path) -> WarmState | None:
    try:
        state = WarmState.model_validate_json(_state_path(home).read_text())
        process = psutil.Process(state.pid)
        if _MODULE in process.cmdline() and Path(state.socket).exists():
            return state
    except (OSError, ValidationError, psutil.Error):
        pass
    return None


def start(home: Path) -> WarmState:
    """Start the warm process for `home` (the caller holds the server lock); it is ready a few seconds later.

    It gets the caller's environment without the project's settings (the Zenodo token stays out), so
    Prefect's settings it loads are usually the ones commands bring (see `prefect_inputs`).
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ZENODO_", "ATLAS_"))} | {"PREFECT_HOME": str(home)}
    path = socket_path(home)
    private_folder(path)
    with (home / "zenodo-atlas-warm.log").open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", _MODULE, str(path)], env=env, cwd="/", stdin=subprocess.DEVNULL,
            stdout=log, stderr=log, start_new_session=True,
        )
    state = WarmState(pid=process.pid, socket=str(path))
    _state_path(home).write_text(state.model_dump_json())
    return state


def stop(home: Path) -> None:
    """Stop the warm process (commands it is running finish on their own)."""
    try:
        state = WarmState.model_validate_json(_state_path(home).read_text())
    except (OSError, ValidationError):
        return
    with contextlib.suppress(psutil.Error, OSError):
        process = psutil.Process(state.pid)
        if _MODULE in process.cmdline():
            process.terminate()
            process.wait(timeout=20)
    _state_path(home).unlink(missing_ok=True)
    Path(state.socket).unlink(missing_ok=True)


def run_command() -> NoReturn:
    """Run the command, then end as the interpreter would (threads joined, atexit run, streams
    flushed) but without the native libraries' destructors: in a forked child, those of threads
    started by pyarrow and OpenBLAS in the warm process abort or crash the exit of a finished command."""
    from zenodo_atlas.cli import main

    code = 0
    try:
        main()
    except SystemExit as exc:
        if isinstance(exc.code, int):
            code = exc.code
        elif exc.code is not None:
            print(exc.code, file=sys.stderr)
            code = 1
    except KeyboardInterrupt:
        code = 130
    except BaseException:  # reported as an uncaught exception would be
        traceback.print_exc()
        code = 1
    finally:
        threading._shutdown()  # type: ignore[attr-defined]  # what interpreter exit does first
        atexit._run_exitfuncs()
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
    os._exit(code)


if __name__ == "__main__":
    command, descriptors = serve(Path(sys.argv[1]))
    become(command, descriptors)
    run_command()
