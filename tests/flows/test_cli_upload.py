"""`zenodo-atlas upload` through the CLI against the local Zenodo: a finished upload run again sends nothing.

Synchronous tests: the CLI runs its flows with asyncio.run, as from a shell."""

from __future__ import annotations

import asyncio
import json

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
