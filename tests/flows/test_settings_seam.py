"""Settings installed with `use_settings` reach subflows and tasks (async and thread-run) for real."""

from __future__ import annotations

import os
from pathlib import Path

from prefect import flow, task

from zenodo_atlas.settings import Settings, current_settings, use_settings


@task
def _in_a_thread() -> str:
    return str(current_settings().work_dir)


@task
async def _async_task() -> str:
    return str(current_settings().work_dir)


@flow
async def _child() -> list[str]:
    submitted = _in_a_thread.submit()  # runs on the task runner's worker thread
    return [str(current_settings().work_dir), await _async_task(), submitted.result()]


@flow
async def _parent() -> list[str]:
    return [str(current_settings().work_dir), *await _child()]


async def test_installed_settings_reach_subflows_and_tasks(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("ATLAS_WORK_DIR", str(tmp_path / "from-env"))
    with use_settings(Settings(work_dir=tmp_path / "installed")):
        seen = await _parent()
    assert seen == [str(tmp_path / "installed")] * 4
    assert os.environ["ATLAS_WORK_DIR"] == str(tmp_path / "from-env")  # the environment was not touched
    assert await _parent() == [str(tmp_path / "from-env")] * 4  # nothing installed: the environment rules
