"""Rich progress bars for flows run from the terminal (per file and in total)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)


class RichTransferBars:
    """A ProgressSink drawing one bar per file in flight and one for all bytes of the run."""

    def __init__(self, progress: Progress):
        self._progress = progress
        self._files: dict[str, TaskID] = {}
        self._total = progress.add_task("total", total=0)

    def start_file(self, name: str, total: int) -> None:
        if name in self._files:
            self._progress.reset(self._files[name], total=total)
        else:
            self._files[name] = self._progress.add_task(name, total=total)
        self._progress.update(self._total, total=(self._progress.tasks[self._total].total or 0) + total)

    def advance(self, name: str, delta: int) -> None:
        if name in self._files:
            self._progress.advance(self._files[name], delta)
        self._progress.advance(self._total, delta)

    def finish_file(self, name: str) -> None:
        task = self._files.pop(name, None)
        if task is not None:
            self._progress.remove_task(task)


@contextlib.contextmanager
def transfer_bars(enabled: bool = True) -> Iterator[None]:
    if not enabled:
        yield
        return
    from zenodo_atlas.tasks.progress import watching  # imports Prefect: only commands that run flows pay it

    columns = (
        TextColumn("[bold]{task.description}", justify="left"), BarColumn(), DownloadColumn(),
        TransferSpeedColumn(), TimeRemainingColumn(),
    )
    with Progress(*columns, transient=True) as progress, watching(RichTransferBars(progress)):
        yield
