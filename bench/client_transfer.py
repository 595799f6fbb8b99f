"""Bench: the Zenodo client alone, one file up and down, against curl + md5sum of the same bytes.

The honest limit is what the machine's own tools do for the same job on the same local Zenodo (run
in its own process): upload = `md5sum FILE` and `curl -T FILE` side by side (the client hashes while it
sends); download = `curl URL | tee OUT | md5sum` (one pass: written and hashed as it arrives). The
client does exactly that work: `ZenodoClient.upload(FileSource)` (md5 checked against the server's)
and `ZenodoClient.download` (written via .part, md5-verified). Rounds alternate limit and client;
wall time and CPU (client process vs curl + md5sum children) print as min/median/max, ratios compare
medians. Peak RSS of this process is the client's memory (the server is another process).

    python bench/client_transfer.py [--size-mb 1024] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import secrets
import shutil
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path

from local_zenodo import local_zenodo, peak_rss_mb

from zenodo_atlas.zenodo.client import ZenodoClient
from zenodo_atlas.zenodo.models import Creator, DepositMetadata
from zenodo_atlas.zenodo.streams import FileSource

MiB = 1 << 20


def cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


async def shell(command: str) -> None:
    process = await asyncio.create_subprocess_shell(command)
    if await process.wait() != 0:
        raise SystemExit(f"failed: {command}")


async def shell_pair(first: str, second: str) -> None:
    await asyncio.gather(shell(first), shell(second))


async def measured(work: Callable[[], Awaitable[object]], who: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds of `who`: this process or its children)."""
    cpu_before, started = cpu(who), time.perf_counter()
    await work()
    return time.perf_counter() - started, cpu(who) - cpu_before


def spread(values: list[float]) -> str:
    return f"min={min(values):.2f} median={statistics.median(values):.2f} max={max(values):.2f}"


async def main(size_mb: int, rounds: int) -> None:
    if not shutil.which("curl") or not shutil.which("md5sum"):
        raise SystemExit("needs curl and md5sum (Debian: apt-get install curl coreutils)")
    token = secrets.token_urlsafe(16)
    scratch = Path(tempfile.mkdtemp(prefix="client-bench-"))
    try:
        source = scratch / "payload.bin"
        with source.open("wb") as out:  # incompressible, in the page cache
            for _ in range(size_mb):
                out.write(os.urandom(MiB))
        headers = scratch / "headers"  # curl reads the token from a file: never in argv
        headers.write_text(f"Authorization: Bearer {token}\n")
        headers.chmod(0o600)
        names = ("up_limit", "up_ours", "down_limit", "down_ours")
        times: dict[str, list[tuple[float, float]]] = {k: [] for k in names}
        async with (
            local_zenodo(token, scratch / "zenodo") as (api_url, _server),
            ZenodoClient(api_url, token, rate_limit_per_minute=100_000) as client,
        ):
            meta = DepositMetadata(title="bench", creators=[Creator(name="Bench, B")], description="bench")
            for r in range(rounds):
                draft = await client.create_deposition(meta)
                url, out = f"{draft.bucket_url}/ours-{r}.bin", scratch / "ours.out"
                curl = f"curl -sS -f -H @{headers}"
                up_limit = partial(shell_pair, f"md5sum {source} > /dev/null",
                                   f"{curl} -o /dev/null -T {source} {draft.bucket_url}/curl-{r}.bin")
                up_ours = partial(client.upload, draft.bucket_url, f"ours-{r}.bin", FileSource(source))
                down_limit = partial(shell, f"{curl} {url} | tee {scratch / 'curl.out'} | md5sum > /dev/null")
                down_ours = partial(client.download, url, out, size=source.stat().st_size)
                times["up_limit"].append(await measured(up_limit, resource.RUSAGE_CHILDREN))
                times["up_ours"].append(await measured(up_ours, resource.RUSAGE_SELF))
                times["down_limit"].append(await measured(down_limit, resource.RUSAGE_CHILDREN))
                out.unlink(missing_ok=True)
                times["down_ours"].append(await measured(down_ours, resource.RUSAGE_SELF))
                out.unlink(missing_ok=True)
                await client.delete_deposition(draft.id)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    gib = size_mb / 1024
    print(f"{size_mb} MiB, {rounds} alternated rounds; limit = curl + md5sum, ours = ZenodoClient")
    for name, pairs in times.items():
        walls, cpus = [w for w, _ in pairs], [c / gib for _, c in pairs]
        print(f"{name}: wall_s {spread(walls)}  cpu_s_per_GiB {spread(cpus)}")
    for way in ("up", "down"):
        ours, limit = times[f"{way}_ours"], times[f"{way}_limit"]
        wall = statistics.median(w for w, _ in ours) / statistics.median(w for w, _ in limit)
        cpu_ratio = statistics.median(c for _, c in ours) / statistics.median(c for _, c in limit)
        print(f"{way}load_wall_ratio={wall:.2f} (target <= 1.3)  {way}load_cpu_ratio={cpu_ratio:.2f} (target <= 1.5)")
    print(f"client_peak_rss_mb={peak_rss_mb():.0f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024, help="file size in MiB")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    os.environ.pop("ZENODO_TOKEN", None)
    asyncio.run(main(args.size_mb, max(1, args.rounds)))
