"""`zenodo-atlas deploy` / `serve` refuse bad input with one line before touching any server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import typer
from prefect.settings import PREFECT_API_URL, temporary_settings
from typer.testing import CliRunner

from tests.deployments import processes
from zenodo_atlas.cli import deploy_cmd


@pytest.fixture(autouse=True)
def no_prefect_server() -> Iterator[None]:
    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        yield


def invoke(*args: str, **env: str) -> tuple[int, str]:
    result = CliRunner().invoke(deploy_cmd.app, list(args), env=env or None)
    return result.exit_code, result.output


def one_line_error(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert lines[0].startswith("error: "), output
    return lines[0]


def test_deploy_without_a_server_says_how_to_get_one() -> None:
    code, output = invoke("deploy")
    assert code == 1
    assert "PREFECT_API_URL is not set: start a server (`prefect server start`)" in one_line_error(output)


SHARED_MISTAKES = [
    (["--timezone", "Mars/Olympus"], "Unknown time zone 'Mars/Olympus'"),
    (["--cron", "nightly"], "Invalid cron expression 'nightly'"),
    (["--only", "uplod"], "Unknown deployment(s) 'uplod'"),
    (["--file", "/nonexistent/prefect.yaml"], "No deployment file at /nonexistent/prefect.yaml"),
]
DEPLOY_MISTAKES = [
    (["--env", "ZENODO_TOKEN=abc"], "--env ZENODO_TOKEN looks like a secret"),
    (["--env", "NOEQUALS"], "--env 'NOEQUALS' is not KEY=VALUE"),
]


@pytest.mark.parametrize(
    ("command", "args", "message"),
    [("deploy", *case) for case in SHARED_MISTAKES + DEPLOY_MISTAKES] + [("serve", *case) for case in SHARED_MISTAKES],
)
def test_bad_options_are_one_line_errors(command: str, args: list[str], message: str) -> None:
    code, output = invoke(command, *args)
    assert code == 1
    assert message in one_line_error(output)


def test_saving_the_token_needs_a_token(tmp_path: Path) -> None:
    code, output = invoke("deploy", "--save-token-secret", ATLAS_TOKEN_FILE=str(tmp_path / "absent"))
    assert code == 1
    assert "needs a Zenodo token" in one_line_error(output)


def test_commands_mount_at_the_top_level_of_the_cli() -> None:
    top = typer.Typer()
    top.add_typer(deploy_cmd.app)
    for command in ("deploy", "serve"):
        result = CliRunner().invoke(top, [command, "--help"])
        assert result.exit_code == 0, result.output
        assert "--timezone" in result.output


def test_deploy_to_a_server_that_does_not_answer() -> None:
    url = f"http://127.0.0.1:{processes.free_port()}/api"
    with temporary_settings(updates={PREFECT_API_URL: url}):
        code, output = invoke("deploy", "--only", "upload")
    assert code == 1
    assert output.splitlines()[-1] == (
        f"error: The Prefect server at {url} does not answer: is `prefect server start` running?"
    )


def test_saving_the_token_to_a_server_that_does_not_answer(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{processes.free_port()}/api"
    with temporary_settings(updates={PREFECT_API_URL: url}):
        code, output = invoke("deploy", "--save-token-secret", ZENODO_TOKEN="tok-never-printed")
    assert code == 1
    assert "does not answer" in one_line_error(output)
    assert "tok-never-printed" not in output
