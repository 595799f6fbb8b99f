"""The CLI running flows against the local Zenodo: a finished upload run again sends nothing; a failing
flow is one line on stderr.

Synchronous tests: the CLI runs its flows with asyncio.run, as from a shell."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from tests.flows.helpers import session_records
from zenodo_atlas.cli import app


def test_rerunning_a_finished_upload_exits_0_and_sends_nothing(zenodo_env, sample_session):
    argv = ["upload", str(sample_session), "--raw", "--processed", "fmgbi"]
    first = CliRunner().invoke(app, [*argv, "--json"])
    assert first.exit_code == 0, first.output
    published = json.loads(first.stdout)["succeeded"][0]["versions"]
    assert [v["label"] for v in published] == ["RAW_DATA", "PROCESSED_DATA"]
    requests = len(zenodo_env.request_log)

    again = CliRunner().invoke(app, argv)

    assert again.exit_code == 0, again.output
    assert "nothing to do" in again.stdout and published[-1]["doi"] in again.stdout
    assert "Traceback" not in again.output
    assert [r for r in zenodo_env.request_log[requests:] if r.method not in ("GET", "HEAD")] == []
    assert len(asyncio.run(session_records(zenodo_env, sample_session.name))) == 2


def _cli(args: list[str], zenodo_env, prefect_harness: str, tmp_path: Path) -> subprocess.CompletedProcess:
    """The installed command in its own process, as a shell runs it (Prefect logs reach the real stderr)."""
    env = {**os.environ, "PREFECT_API_URL": prefect_harness, "ZENODO_URL": zenodo_env.api_url,
           "ZENODO_TOKEN": zenodo_env.token, "ATLAS_TOKEN_FILE": str(tmp_path / "none"),
           "ATLAS_WORK_DIR": str(tmp_path / "work")}
    env.pop("PREFECT_LOGGING_LEVEL", None)  # the command's own default, not the suite's
    command = [str(Path(sys.executable).with_name("zenodo-atlas")), *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)


def test_a_failing_flow_prints_one_line_and_clean_drafts_none(zenodo_env, prefect_harness, tmp_path):
    missing = "20200101_FRA-Brest_ASV-1_01"
    failed = _cli(["download", "--name", missing, "--out", str(tmp_path / "out")], zenodo_env, prefect_harness,
                  tmp_path)
    cleaned = _cli(["upload", "--clean-drafts"], zenodo_env, prefect_harness, tmp_path)

    lines = [line for line in failed.stderr.splitlines() if line.strip()]
    assert failed.returncode == 1 and len(lines) == 1, failed.stderr
    assert lines[0].startswith("error: ") and f"urn:{missing}" in lines[0]
    assert cleaned.returncode == 0 and "Discarded 0 empty draft(s)" in cleaned.stdout, cleaned.stderr
    assert "Traceback" not in cleaned.stderr and "stopped service" not in cleaned.stderr, cleaned.stderr
