"""Uploads stream to disk: a 200 MB PUT must not grow the server's memory by more than ~30 MB."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import threading
from collections.abc import Iterator

import aiohttp
import psutil
import pytest

from tests.zenodo.server.support import call

SERVER_SCRIPT = """
import sys
from zenodo_atlas.zenodo.server import LocalZenodo
srv = LocalZenodo(tokens={"mem": 1}).start()
print(srv.api_url, flush=True)
sys.stdin.read()
srv.stop()
"""
UPLOAD_MB = 200
MAX_GROWTH = 30 * 1024 * 1024


class PeakRss(threading.Thread):
    """Samples a process's RSS until stopped; the peak is what streaming must keep low."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.process = psutil.Process(pid)
        self.peak = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.02):
            self.peak = max(self.peak, self.process.memory_info().rss)


@pytest.fixture
def server_process() -> Iterator[tuple[int, str]]:
    """A LocalZenodo in its own process, so its RSS is not mixed with the client's."""
    proc = subprocess.Popen([sys.executable, "-c", SERVER_SCRIPT], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        yield proc.pid, proc.stdout.readline().strip()
    finally:
        proc.stdin.close()
        proc.wait(timeout=30)


@pytest.mark.slow
async def test_200_mb_upload_keeps_server_rss_flat(http: aiohttp.ClientSession, server_process):
    pid, api_url = server_process
    status, dep = await call(http, "POST", f"{api_url}/deposit/depositions", "mem", json={})
    assert status == 201
    await call(http, "PUT", f"{dep['links']['bucket']}/warmup.bin", "mem", data=b"w" * 4_000_000)
    baseline = psutil.Process(pid).memory_info().rss
    chunk = bytes(range(256)) * 4096
    digest = hashlib.md5()

    async def body():
        for _ in range(UPLOAD_MB):
            digest.update(chunk)
            yield chunk

    sampler = PeakRss(pid)
    sampler.start()
    status, obj = await call(http, "PUT", f"{dep['links']['bucket']}/big.bin", "mem", data=body(),
                             headers={"Content-Length": str(UPLOAD_MB * len(chunk))})
    sampler.done.set()
    sampler.join()
    assert status == 201 and obj["size"] == UPLOAD_MB * len(chunk)
    assert obj["checksum"] == f"md5:{digest.hexdigest()}"
    growth = sampler.peak - baseline
    print(f"server RSS baseline={baseline / 2**20:.1f} MiB peak growth={growth / 2**20:.1f} MiB")
    assert growth < MAX_GROWTH
