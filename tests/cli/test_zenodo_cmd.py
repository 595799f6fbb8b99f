"""`zenodo-atlas zenodo serve` as users run it: a real process on a real port."""

from __future__ import annotations

import contextlib
import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from typer.testing import CliRunner

from zenodo_atlas.cli import app


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def serve_subprocess(
    *args: str, tokens: str, startup_timeout: float = 90.0
) -> Iterator[tuple[subprocess.Popen, str]]:
    """Run `zenodo-atlas zenodo serve ARGS` (tokens in ZENODO_TOKEN) and yield the process and its API URL."""
    command = [str(Path(sys.executable).with_name("zenodo-atlas")), "zenodo", "serve", *args]
    env = {**os.environ, "ZENODO_TOKEN": tokens}
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        ready, _, _ = select.select([proc.stdout], [], [], startup_timeout)
        assert ready, "the server printed nothing before the timeout"
        line = proc.stdout.readline()
        match = re.search(r"(http://\S+/api)", line)
        assert match, f"no URL in {line!r}; stderr: {proc.stderr.read() if proc.poll() is not None else ''}"
        yield proc, match.group(1)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _get(url: str, token: str | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read())


def _post(url: str, token: str) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=b"{}", method="POST", headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read())


def test_serve_answers_on_the_given_port_and_stops_on_ctrl_c(tmp_path: Path):
    port = free_port()
    data_dir = tmp_path / "data"
    args = ["--host", "127.0.0.1", "--port", str(port), "--data-dir", str(data_dir), "--doi-prefix", "10.1234"]
    with serve_subprocess(*args, tokens="cli-secret-1,cli-secret-2") as (proc, api_url):
        assert api_url == f"http://127.0.0.1:{port}/api"
        status, page = _get(f"{api_url}/records")
        assert status == 200 and page["hits"]["total"] == 0
        status, dep = _post(f"{api_url}/deposit/depositions", "cli-secret-2")
        assert status == 201 and dep["owner"] == 2
        assert dep["metadata"]["prereserve_doi"]["doi"].startswith("10.1234/")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "cli-secret" not in out + err
    assert (data_dir / "state.json").exists()


def test_serve_on_a_busy_port_fails_with_one_line():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(app, ["zenodo", "serve", "--port", str(port)], env={"ZENODO_TOKEN": "t"})
    assert result.exit_code == 1
    assert "cannot listen" in result.output and "--port" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_serve_needs_a_non_empty_token():
    result = CliRunner().invoke(app, ["zenodo", "serve"], env={"ZENODO_TOKEN": " , "})
    assert result.exit_code == 1 and "ZENODO_TOKEN" in result.output and "--token-file" in result.output


def test_serve_takes_tokens_from_a_file_never_from_argv(tmp_path: Path):
    refused = CliRunner().invoke(app, ["zenodo", "serve", "--token", "on-argv"])
    assert refused.exit_code == 2 and "No such option" in refused.output
    tokens = tmp_path / "tokens"
    tokens.write_text("# local users\nfile-secret-1\n")
    port = free_port()
    with serve_subprocess("--port", str(port), "--token-file", str(tokens), tokens="") as (_proc, api_url):
        status, dep = _post(f"{api_url}/deposit/depositions", "file-secret-1")
        assert status == 201 and dep["owner"] == 1
    help_text = CliRunner().invoke(app, ["zenodo", "serve", "--help"], env={"COLUMNS": "200"}).output
    assert "ZENODO_TOKEN" in help_text and "--token-file" in help_text



def test_serve_realistic_applies_guest_limits_and_page_caps(tmp_path: Path):
    port = free_port()
    with serve_subprocess("--port", str(port), "--realistic", "--index-lag", "0.5", "--timeout-rate", "0",
                          tokens="t") as (_proc, api_url):
        request = urllib.request.Request(f"{api_url}/records?size=25")
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.headers["X-RateLimit-Limit"] == "60"
        try:
            urllib.request.urlopen(f"{api_url}/records?size=26", timeout=10)
            raise AssertionError("an anonymous page of 26 must be refused")
        except urllib.error.HTTPError as exc:
            assert exc.code == 400
        status, _ = _get(f"{api_url}/records?size=100", "t")
        assert status == 200
