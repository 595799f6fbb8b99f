"""Progress of long transfers, shown wherever someone is watching.

A flow run started from the UI shows a Prefect progress artifact; the same run started from the CLI
also drives rich progress bars. The CLI installs a `ProgressSink` in a context variable before it
calls the flow, so flows and tasks never need to know who is watching.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Protocol
from uuid import UUID

from prefect.artifacts import acreate_progress_artifact, aupdate_progress_artifact
from prefect.context import FlowRunContext


def run_name(describe: Callable[[dict[str, Any]], str]) -> Callable[[], str]:
    """A flow run name built from the run's parameters, so the UI says what runs instead of a random name."""

    def name() -> str:
        from prefect.runtime import flow_run

        return describe(dict(flow_run.parameters))

    return name


def many(items: list[str] | None, what: str) -> str:
    """`20231021_..._01` for one item, `3 sessions` for several."""
    items = [Path(str(i)).name for i in items or []]
    return items[0] if len(items) == 1 else f"{len(items)} {what}"


def artifact_key(*parts: str) -> str:
    """A Prefect artifact key from names and labels: Prefect accepts only lowercase letters, digits and dashes."""
    return "-".join(re.sub(r"[^a-z0-9-]+", "-", part.lower()).strip("-") for part in parts if part)


class ProgressSink(Protocol):
    """Receives per-file and total byte counts (the CLI draws bars from them)."""

    def start_file(self, name: str, total: int) -> None: ...

    def advance(self, name: str, delta: int) -> None: ...

    def finish_file(self, name: str) -> None: ...


progress_sink: ContextVar[ProgressSink | None] = ContextVar("progress_sink", default=None)


@contextlib.contextmanager
def watching(sink: ProgressSink) -> Iterator[None]:
    token = progress_sink.set(sink)
    try:
        yield
    finally:
        progress_sink.reset(token)


class TransferProgress:
    """Counts bytes of one batch of transfers; refreshes the Prefect artifact at most once a second."""

    def __init__(self, key: str, total_bytes: int, description: str):
        self.key = key
        self.total = max(total_bytes, 1)
        self.description = description
        self.done = 0
        self._artifact: UUID | None = None
        self._ticker: asyncio.Task | None = None
        self._sink = progress_sink.get()

    async def __aenter__(self) -> TransferProgress:
        if FlowRunContext.get() is not None:
            self._artifact = await acreate_progress_artifact(
                progress=0.0, key=self.key, description=self.description
            )
            self._ticker = asyncio.create_task(self._refresh_every(1.0))
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._ticker:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            await self._push()

    def start_file(self, name: str, size: int) -> None:
        if self._sink:
            self._sink.start_file(name, size)

    def finish_file(self, name: str) -> None:
        if self._sink:
            self._sink.finish_file(name)

    def skip(self, size: int) -> None:
        """Count bytes that needed no transfer (already on the draft or on disk)."""
        self.done += size

    def callback(self, name: str) -> Callable[[int], None]:
        """A byte-delta callback for the Zenodo client; negative deltas rewind after a retry."""

        def advance(delta: int) -> None:
            self.done += delta
            if self._sink:
                self._sink.advance(name, delta)

        return advance

    async def _refresh_every(self, seconds: float) -> None:
        while True:
            await asyncio.sleep(seconds)
            await self._push()

    async def _push(self) -> None:
        if self._artifact is None:  # no flow run to attach an artifact to
            return
        percent = min(100.0, 100.0 * self.done / self.total)
        await aupdate_progress_artifact(self._artifact, percent)
