"""What the benchmarks share: the local Zenodo in its own process, free ports and peak memory.

The server runs in a subprocess so its CPU and memory are never counted as the client's.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

CLI = Path(sys.executable).with_name("zenodo-atlas")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.asynccontextmanager
async def local_zenodo(token: str, data_dir: Path) -> AsyncIterator[tuple[str, asyncio.subprocess.Process]]:
    """`zenodo-atlas zenodo serve` on a free port; yields (api_url, process) once it listens."""
    port = free_port()
    command = [str(CLI)] if CLI.exists() else [sys.executable, "-m", "zenodo_atlas"]
    process = await asyncio.create_subprocess_exec(
        *command, "zenodo", "serve", "--host", "127.0.0.1", "--port", str(port),
        "--data-dir", str(data_dir), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "ZENODO_TOKEN": token},
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), timeout=60)
        if b"serving at" not in line:
            raise SystemExit(f"the local Zenodo did not start: {line.decode(errors='replace').strip()!r}")
        yield f"http://127.0.0.1:{port}/api", process
    finally:
        if process.returncode is None:
            process.terminate()
            try:
                await asyncio.wait_for(process.wait(), timeout=20)
            except TimeoutError:
                process.kill()
                await process.wait()
