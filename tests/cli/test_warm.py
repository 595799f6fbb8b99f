"""Commands handed to the warm process behave as if they ran in the caller's own process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from tests.cli.test_zenodo_cmd import free_port
from zenodo_atlas.cli import warm
from zenodo_atlas.launch import receive_message, send_message, socket_path

pytestmark = pytest.mark.slow


def caller_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_API", "ZENODO_", "ATLAS_"))}
    return env | {"PREFECT_HOME": str(home), "ATLAS_TOKEN_FILE": "/nonexistent"} | extra


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "zenodo_atlas", *args]


def warm_children(home: Path) -> list[psutil.Process]:
    state = warm.running(home)
    assert state is not None
    return psutil.Process(state.pid).children(recursive=True)


def wait_for(check, what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what}: not within {timeout:g} s"
        time.sleep(0.05)


def serving(home: Path, cwd: Path, token: str) -> tuple[subprocess.Popen[str], str]:
    """`zenodo serve` (a command that runs until Ctrl-C) started through the warm process; its first line."""
    caller = subprocess.Popen(
        command("zenodo", "serve", "--port", str(free_port()), "--data-dir", "zenodo-data"),
        cwd=cwd, env=caller_env(home, ZENODO_TOKEN=token), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )
    assert caller.stdout is not None
    return caller, caller.stdout.readline()


def test_a_command_runs_in_a_child_of_the_warm_process_with_the_callers_folder_streams_and_signals(
    warm_home: Path, tmp_path: Path
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    token = "warm-secret-token"
    caller, first_line = serving(warm_home, work, token)
    try:
        assert "Local Zenodo serving at" in first_line  # written by the child straight into the caller's pipe
        [monitor, child] = warm_children(warm_home)
        assert child.ppid() == monitor.pid and caller.pid not in (monitor.pid, child.pid)
        assert Path(child.cwd()) == work and (work / "zenodo-data").is_dir()  # relative paths are the caller's
        api_url = first_line.split("serving at ")[1].split()[0]
        accepted = urllib.request.Request(
            f"{api_url}/deposit/depositions", headers={"Authorization": f"Bearer {token}"}
        )
        with urllib.request.urlopen(accepted, timeout=30) as response:  # it read ZENODO_TOKEN from the caller
            assert response.status == 200
        state = warm.running(warm_home)
        assert state is not None
        assert token not in Path(f"/proc/{state.pid}/environ").read_text()
        assert not any(token in " ".join(p.cmdline()) for p in [psutil.Process(state.pid), monitor, child])

        caller.send_signal(signal.SIGINT)  # Ctrl-C reaches the caller; the child stops as it would in-process
        out, err = caller.communicate(timeout=60)
    finally:
        if caller.poll() is None:
            caller.kill()
    assert caller.returncode == 0, err
    assert out.strip().endswith("Local Zenodo stopped.")
    wait_for(lambda: not warm_children(warm_home), "the finished command's processes are gone")


def test_killing_the_caller_kills_the_command(warm_home: Path, tmp_path: Path) -> None:
    caller, first_line = serving(warm_home, tmp_path, "token")
    assert "serving at" in first_line
    [_, child] = warm_children(warm_home)
    caller.kill()
    caller.wait()
    wait_for(lambda: not child.is_running() or child.status() == psutil.STATUS_ZOMBIE, "the command was killed")


def test_exit_codes_and_one_line_errors_are_the_same_as_in_process(warm_home: Path, tmp_path: Path) -> None:
    env = caller_env(warm_home, ATLAS_ATLAS_PATH="relative.duckdb")
    missing = ["session", "check", str(tmp_path / "missing")]
    warm_run = subprocess.run(command(*missing), env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    here = subprocess.run(command(*missing), env=env | {"ATLAS_PREFECT_SERVER": "ephemeral"}, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert warm_run.returncode == here.returncode != 0
    assert warm_run.stderr == here.stderr and len(warm_run.stderr.strip().splitlines()) == 1

    migrated = subprocess.run(command("atlas", "migrate"), env=env, cwd=tmp_path, capture_output=True, text=True,
                              timeout=120)
    assert migrated.returncode == 0, migrated.stderr
    assert (tmp_path / "relative.duckdb").is_file()  # ATLAS_ATLAS_PATH and the folder came from the caller


def test_a_warm_process_older_than_the_installed_libraries_steps_aside(warm_home: Path, tmp_path: Path) -> None:
    state = warm.running(warm_home)
    assert state is not None
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(str(socket_path(warm_home)))
        request = {"argv": ["--help"], "cwd": str(tmp_path), "env": {}, "fingerprint": "libraries of another day"}
        send_message(sock, request, [0, 1, 2])
        reply, _ = receive_message(sock)
    assert reply == {"stale": True}  # the caller runs the command itself
    wait_for(lambda: not psutil.pid_exists(state.pid) or psutil.Process(state.pid).status() == psutil.STATUS_ZOMBIE,
             "the stale warm process exited")
    assert not socket_path(warm_home).exists()
    done = subprocess.run(command("--help"), env=caller_env(warm_home), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "Usage" in done.stdout


def test_editing_a_loaded_source_file_makes_the_warm_process_step_aside(warm_home: Path) -> None:
    import zenodo_atlas.zenodo.streams as loaded

    state = warm.running(warm_home)
    assert state is not None
    source = Path(str(loaded.__file__))
    before = source.stat()
    os.utime(source, ns=(before.st_atime_ns, before.st_mtime_ns + 2_000_000_000))  # as an editor's save would
    try:
        done = subprocess.run(command("--help"), env=caller_env(warm_home), capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0 and "Usage" in done.stdout  # run by the caller itself
        wait_for(lambda: not psutil.pid_exists(state.pid) or psutil.Process(state.pid).status() == psutil.STATUS_ZOMBIE,
                 "the warm process with the old code exited")
    finally:
        os.utime(source, ns=(before.st_atime_ns, before.st_mtime_ns))


def test_a_socket_in_a_folder_others_can_enter_gets_no_command_and_no_environment(tmp_path: Path) -> None:
    home, temp = tmp_path / "prefect-home", tmp_path / "tmp"
    folder = temp / f"zenodo-atlas-{os.getuid()}"
    folder.mkdir(parents=True)
    folder.chmod(0o755)  # as if another user had made it first
    with socket.socket(socket.AF_UNIX) as impostor:
        impostor.bind(str(folder / socket_path(home).name))
        impostor.listen(1)
        impostor.setblocking(False)
        env = caller_env(home, TMPDIR=str(temp), ZENODO_TOKEN="never-sent")
        done = subprocess.run(command("--help"), env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0 and "Usage" in done.stdout  # ran by the caller itself
        with pytest.raises(BlockingIOError):
            impostor.accept()  # nobody connected


def test_a_warm_process_that_cannot_start_is_one_line_and_the_command_still_runs(tmp_path: Path) -> None:
    home, temp = tmp_path / "prefect-home", tmp_path / "tmp"
    folder = temp / f"zenodo-atlas-{os.getuid()}"
    folder.mkdir(parents=True)
    folder.chmod(0o755)
    env = caller_env(home, TMPDIR=str(temp))
    try:
        started = subprocess.run(command("server", "start"), env=env, capture_output=True, text=True, timeout=300)
        assert started.returncode == 0, started.stderr
        [line] = started.stderr.strip().splitlines()
        assert line.startswith("commands run without the warm process:") and "mode 0700; remove it" in line
        assert warm.running(home) is None
    finally:
        subprocess.run(command("server", "stop"), env=env, capture_output=True, timeout=120, check=False)
