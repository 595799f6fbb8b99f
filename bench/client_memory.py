"""Upload a 1 GiB file through ZenodoClient and report the client's peak memory: it must stay flat.

The local Zenodo runs in a subprocess (`zenodo-atlas zenodo serve`) so only the client's memory is
measured. The file is sparse (no disk space, no time to write it). The baseline is a bare aiohttp
PUT of the same file in the same process (no md5, no rate limiter, no retries); the two alternate
and the best of each counts, because the server shares the machine's CPUs. `ratio=` is client time
over baseline time. The last line is `peak_rss_mb=<n>` (must stay under 150).
Run: .venv/bin/python bench/client_memory.py [--mib 1024] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import tempfile
import time
from pathlib import Path

import aiohttp
from local_zenodo import local_zenodo, peak_rss_mb

from zenodo_atlas.zenodo.client import ZenodoClient
from zenodo_atlas.zenodo.models import Creator, DepositMetadata

CHUNK = 1 << 20
MIB = 1 << 20


async def _bare_put(bucket: str, path: Path, token: str) -> float:
    async def body():
        with path.open("rb") as handle:
            while chunk := await asyncio.to_thread(handle.read, CHUNK):
                yield chunk

    headers = {"Authorization": f"Bearer {token}", "Content-Length": str(path.stat().st_size)}
    started = time.perf_counter()
    async with aiohttp.ClientSession() as session, session.put(f"{bucket}/baseline.bin", data=body(),
                                                               headers=headers) as resp:
        resp.raise_for_status()
    return time.perf_counter() - started


async def main(size: int, rounds: int) -> None:
    token = secrets.token_urlsafe(16)
    with tempfile.TemporaryDirectory(prefix="client-bench-") as scratch:
        root = Path(scratch)
        big = root / "big.bin"
        with big.open("wb") as handle:
            handle.truncate(size)
        async with local_zenodo(token, root / "zenodo") as (api_url, _), ZenodoClient(api_url, token) as client:
            meta = DepositMetadata(title="bench", creators=[Creator(name="Bench, B")], description="bench")
            draft = await client.create_deposition(meta)
            client_times, baseline_times = [], []
            for _ in range(rounds):  # alternate, keep the best: the server shares our 2 CPUs
                started = time.perf_counter()
                result = await client.upload(draft.bucket_url, "big.bin", big)
                client_times.append(time.perf_counter() - started)
                baseline_times.append(await _bare_put(draft.bucket_url, big, token))
            client_seconds, baseline_seconds = min(client_times), min(baseline_times)
    mib = size / MIB
    print(f"uploaded={mib:.0f}MiB md5={result.md5} (server agrees: {result.server.md5 == result.md5})")
    print(f"client_throughput_mib_s={mib / client_seconds:.1f} seconds={client_seconds:.2f}")
    print(f"baseline_throughput_mib_s={mib / baseline_seconds:.1f} seconds={baseline_seconds:.2f}")
    print(f"ratio={client_seconds / baseline_seconds:.2f} (client time / bare aiohttp PUT time, best of {rounds})")
    print(f"peak_rss_mb={peak_rss_mb():.0f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=int, default=1024, help="size of the uploaded file in MiB")
    parser.add_argument("--rounds", type=int, default=2, help="uploads of each kind (best one counts)")
    args = parser.parse_args()
    os.environ.pop("ZENODO_TOKEN", None)
    asyncio.run(main(args.mib * MIB, max(1, args.rounds)))
