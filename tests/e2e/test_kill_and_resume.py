"""An upload killed (SIGKILL, or Ctrl-C) in the middle resumes on re-run without resending finished files."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path

import psutil
import pytest
from prefect.settings import PREFECT_API_URL

from tests.flows.helpers import session_records, successful_puts
from zenodo_atlas.atlas.etl import last_published
from zenodo_atlas.cli import warm
from zenodo_atlas.flows.publish_atlas import publish_atlas
from zenodo_atlas.flows.register import register_sessions
from zenodo_atlas.flows.upload import upload_session
from zenodo_atlas.sessions.plan import plan_raw
from zenodo_atlas.sessions.session import Session
from zenodo_atlas.tasks.atlas_db import read_atlas
from zenodo_atlas.zenodo.server import FaultConfig

HELD_AFTER = 3


def _wait_no_warm_children(home: Path, timeout: float = 60.0) -> None:
    state = warm.running(home)
    assert state is not None
    deadline = time.monotonic() + timeout
    while psutil.Process(state.pid).children(recursive=True):
        assert time.monotonic() < deadline, "the killed command's warm child is still running"
        time.sleep(0.05)


def _progress_log(line: str) -> bool:
    """An INFO/WARNING line of the run's log (e.g. an earlier test's killed run marked crashed)."""
    return any(f"| {level} " in line for level in ("INFO", "WARNING"))


def _cli(*args: str, stderr: int = asyncio.subprocess.DEVNULL, warm_home: Path | None = None):
    """`zenodo-atlas ARGS` as a child process on the suite's Prefect server; with `warm_home`, handed to
    that home's warm process as a user's command is once the background server runs."""
    env = os.environ | {"PREFECT_API_URL": PREFECT_API_URL.value()}
    if warm_home is not None:
        env = {k: v for k, v in env.items() if k != "ATLAS_PREFECT_SERVER"} | {"PREFECT_HOME": str(warm_home)}
    return asyncio.create_subprocess_exec(
        sys.executable, "-m", "zenodo_atlas", *args, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=stderr,
    )


@pytest.fixture(params=["in-process", "warm"])
def cli_home(request: pytest.FixtureRequest) -> Path | None:
    """Where a command runs: in its own process, or in a child of the warm process (`zenodo_atlas.launch`)."""
    return request.getfixturevalue("warm_home") if request.param == "warm" else None


async def _upload_held_midway(
    zenodo_env, sample_sessions, monkeypatch, stderr: int = asyncio.subprocess.DEVNULL, warm_home: Path | None = None
):
    """A UAV session of many small raw archives whose `upload --raw` child is past HELD_AFTER stored files
    and has one more PUT held open by the server: the moment to interrupt it."""
    session = sample_sessions(platform="UAV", frames=40, dcim_mb=0)
    monkeypatch.setenv("ATLAS_DCIM_PART_GB", "0.00001")
    monkeypatch.setenv("ATLAS_UPLOAD_CONCURRENCY", "2")
    [raw_archives] = plan_raw(Session.open(session), dcim_part_bytes=10_000)
    assert len(raw_archives) > HELD_AFTER + 2
    zenodo_env.set_faults(FaultConfig(hold_uploads_after=HELD_AFTER))
    child = await _cli("upload", str(session), "--raw", stderr=stderr, warm_home=warm_home)
    try:
        await asyncio.to_thread(zenodo_env.wait_held, 1, 120.0)
    except BaseException:
        child.kill()
        await child.wait()
        raise
    return session, raw_archives, child


async def test_sigkill_mid_upload_then_rerun_completes(zenodo_env, sample_sessions, monkeypatch, cli_home):
    session, raw_archives, child = await _upload_held_midway(
        zenodo_env, sample_sessions, monkeypatch, warm_home=cli_home
    )
    child.send_signal(signal.SIGKILL)
    await child.wait()
    assert child.returncode == -signal.SIGKILL
    if cli_home is not None:  # the warm process's child that ran it is killed too
        await asyncio.to_thread(_wait_no_warm_children, cli_home)
    finished_before_kill = set(successful_puts(zenodo_env))
    assert HELD_AFTER <= len(finished_before_kill) < len(raw_archives)
    zenodo_env.set_faults(None)

    summary = await upload_session(str(session), raw=True, processed="mi")

    records = await session_records(zenodo_env, session.name)
    assert [r.version_label for r in records] == ["RAW_DATA", "PROCESSED_DATA"]
    assert len({r.conceptrecid for r in records}) == 1
    raw = summary.versions[0]
    assert {a.name for a in raw.archives if not a.uploaded} == finished_before_kill
    puts = successful_puts(zenodo_env)
    assert all(puts[a.name] == 1 for a in raw_archives)
    assert {f.key for f in records[0].files} == {a.name for a in raw_archives}


async def test_ctrl_c_mid_upload_is_one_line_exit_130_and_the_rerun_finishes(
    zenodo_env, sample_sessions, monkeypatch, cli_home
):
    """Ctrl-C in a terminal (SIGINT to the CLI) stops the upload with one line naming the fix, exit 130
    and no Prefect crash report; running the same command again completes without resending."""
    session, raw_archives, child = await _upload_held_midway(
        zenodo_env, sample_sessions, monkeypatch, stderr=asyncio.subprocess.PIPE, warm_home=cli_home
    )
    try:
        child.send_signal(signal.SIGINT)
        zenodo_env.set_faults(None)  # the held request may now finish; the CLI is already stopping
        _, err = await asyncio.wait_for(child.communicate(), 120)
    finally:
        if child.returncode is None:
            child.kill()
    stderr = err.decode()
    assert child.returncode == 130, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines[-1] == (
        "error: interrupted (Ctrl-C); run the same command again: it resumes open drafts and skips finished files"
    )
    assert not [line for line in lines[:-1] if not _progress_log(line)], stderr
    assert "Traceback" not in stderr and "Crash detected" not in stderr
    finished_before = set(successful_puts(zenodo_env))

    rerun = await _cli("upload", str(session), "--raw", stderr=asyncio.subprocess.PIPE, warm_home=cli_home)
    _, err = await asyncio.wait_for(rerun.communicate(), 300)
    assert rerun.returncode == 0, err.decode()
    [record] = await session_records(zenodo_env, session.name)
    assert {f.key for f in record.files} == {a.name for a in raw_archives}
    puts = successful_puts(zenodo_env)
    assert all(puts[name] == 1 for name in finished_before)


async def test_sigkill_after_atlas_publish_then_rerun_reports_the_same_doi(
    zenodo_env, sample_session, monkeypatch
):
    """Zenodo published the Atlas but the run died before hearing back: the re-run finds that version
    by its content fingerprint, records it in the Atlas and publishes nothing more."""
    monkeypatch.setenv("ATLAS_COMMUNITIES", '["seatizen-data"]')
    await upload_session(str(sample_session), raw=True, processed="mi")
    await register_sessions([str(sample_session)])
    zenodo_env.set_faults(FaultConfig(hold_after_publish=True))
    child = await _cli("atlas", "publish")
    try:
        await asyncio.to_thread(zenodo_env.wait_held, 1, 180.0)
    finally:
        child.send_signal(signal.SIGKILL)
        await child.wait()
    assert child.returncode == -signal.SIGKILL
    zenodo_env.set_faults(None)
    [published] = await session_records(zenodo_env, "seatizen-atlas")
    atlas = Path(os.environ["ATLAS_ATLAS_PATH"])
    assert (await read_atlas(atlas, last_published))[0] is None
    publishes = zenodo_env.count("POST", "publish")

    rerun = await publish_atlas()

    assert not rerun.published and rerun.reason == "content unchanged"
    assert (rerun.doi, rerun.record_id, rerun.version) == (published.doi, published.id, "v1.0.0")
    assert [r.id for r in await session_records(zenodo_env, "seatizen-atlas")] == [published.id]
    recorded, _ = await read_atlas(atlas, last_published)
    assert (recorded.published_version, recorded.notes) == ("v1.0.0", f"published as {published.doi}")
    assert recorded.content_fingerprint == rerun.fingerprint
    assert zenodo_env.count("POST", "publish") == publishes
