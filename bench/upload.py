"""Zip + upload of a raw UAV session to a local Zenodo: ours vs. one plain PUT vs. the predecessor.

Why: uploads stream stored zips while they are built, several at once; this checks that this costs
little over sending the same bytes as one ready file, and beats the predecessor (deflate-zip every
folder to disk, then upload the zips one by one). JPEG/video barely compresses, so deflate only costs.

The session's DCIM is 8 incompressible video files of N/8 MB (sample padding + 7 more) cut into 4 parts
of ~N/4 MB, plus the small METADATA/GPS zips and the overview PNG. The local Zenodo runs in a subprocess
(`zenodo-atlas zenodo serve`) so its CPU is apart from the client's (both printed); it still shares the
machine's cores. Each measurement uses a fresh deposition (deleted afterwards).
- one_put: the client's own single streamed PUT of a ready file holding as many bytes as all planned
  archives. It is not the machine's limit (curl + md5sum is: see client_transfer.py and cli.py), so
  ratio_vs_one_put only says what zipping while streaming, 4 in flight, costs over one plain PUT.
- ours: plan_raw, then every planned archive streamed with iter_archive through IterableSource and
  ZenodoClient.upload, 4 in flight, md5 checked by the client; this is what tasks.transfer does,
  called as plain library functions (no Prefect tasks, slots or progress reporting).
- sequential: ZIP_DEFLATED zips of the same member sets written to disk, then uploaded one by one.
- ready (context): ours with the archives already written to disk, i.e. ours minus the zipping.
Limit and ours alternate for --rounds and the best of each counts (the server shares our CPUs);
the slow sequential baseline runs once. All files are in the page cache (just written).
Run: .venv/bin/python bench/upload.py [--size-mb 2048] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import resource
import secrets
import shutil
import tempfile
import time
import zipfile
from pathlib import Path

from local_zenodo import local_zenodo

from zenodo_atlas.sessions.archive import iter_archive, write_archive
from zenodo_atlas.sessions.plan import PlannedArchive, plan_raw
from zenodo_atlas.sessions.sample import PINNED_MTIME, write_sample_session
from zenodo_atlas.sessions.session import Session
from zenodo_atlas.zenodo.client import ZenodoClient
from zenodo_atlas.zenodo.models import Creator, DepositMetadata
from zenodo_atlas.zenodo.streams import ByteSource, FileSource, IterableSource

MB = 1_000_000
BLOCK = 1 << 20
VIDEOS = 8
IN_FLIGHT = 4


def _write_video(path: Path, size: int, rng: random.Random) -> None:
    """An incompressible video stand-in: a 1 MiB random block repeated (deflate's window is 32 KiB)."""
    block = rng.randbytes(BLOCK)
    with path.open("wb") as out:
        left = size
        while left > 0:
            out.write(block[:left])
            left -= min(left, BLOCK)
    os.utime(path, (PINNED_MTIME, PINNED_MTIME))


def _make_session(root: Path, size_mb: int) -> Path:
    """A UAV session whose DCIM holds ~size_mb MB in VIDEOS files, so it splits into ~4 parts."""
    each = size_mb * MB // VIDEOS
    session = write_sample_session(root, platform="UAV", frames=40, dcim_mb=each / MB)
    rng = random.Random(size_mb)
    for i in range(1, VIDEOS):
        _write_video(session / "DCIM" / f"DJI_{9000 + i:04d}.MP4", each, rng)
    return session


def _cpu_seconds(pid: int | None) -> tuple[float, float]:
    """CPU seconds (user + system, all threads) of this process and of the server process `pid`."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    server = 0.0
    if pid is not None:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            server = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return usage.ru_utime + usage.ru_stime, server


CPU: dict[str, tuple[float, float]] = {}
"""(client, server) CPU seconds of the last run of each measurement."""
SERVER_PID: list[int] = []


async def _timed_in_draft(client: ZenodoClient, label: str, work) -> float:
    meta = DepositMetadata(title=f"bench {label}", creators=[Creator(name="Bench, B")], description="bench")
    draft = await client.create_deposition(meta)
    try:
        pid = SERVER_PID[0] if SERVER_PID else None
        started, (client_cpu, server_cpu) = time.perf_counter(), _cpu_seconds(pid)
        await work(draft.bucket_url)
        client_end, server_end = _cpu_seconds(pid)
        CPU[label] = (client_end - client_cpu, server_end - server_cpu)
        return time.perf_counter() - started
    finally:
        await client.delete_deposition(draft.id)


async def _limit(client: ZenodoClient, path: Path) -> float:
    async def work(bucket: str) -> None:
        await client.upload(bucket, "limit.bin", FileSource(path))

    return await _timed_in_draft(client, "limit", work)


async def _parallel(client: ZenodoClient, label: str, sources: dict[str, ByteSource]) -> float:
    slots = asyncio.Semaphore(IN_FLIGHT)

    async def one(bucket: str, key: str, source: ByteSource) -> None:
        async with slots:
            await client.upload(bucket, key, source)

    async def work(bucket: str) -> None:
        await asyncio.gather(*(one(bucket, key, source) for key, source in sources.items()))

    return await _timed_in_draft(client, label, work)


def _streamed(archive: PlannedArchive) -> IterableSource:
    """What tasks.transfer.upload_archive sends: the archive zipped while it is read."""
    return IterableSource(archive.size, lambda: iter_archive(archive, None))


def _deflate(archive: PlannedArchive, out_dir: Path) -> Path:
    """The predecessor's way: a deflated zip written to disk (plain root files are sent as they are)."""
    if not archive.zipped:
        return archive.members[0].source
    target = out_dir / archive.name
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for member in archive.members:
            zf.write(member.source, member.arcname)
    return target


async def _sequential(client: ZenodoClient, archives: list[PlannedArchive], out_dir: Path) -> tuple[float, int]:
    sent = 0

    async def work(bucket: str) -> None:
        nonlocal sent
        zips = [await asyncio.to_thread(_deflate, a, out_dir) for a in archives]
        for path in zips:
            sent += path.stat().st_size
            await client.upload(bucket, path.name, FileSource(path))

    return await _timed_in_draft(client, "sequential", work), sent


async def main(size_mb: int, rounds: int) -> None:
    token = secrets.token_urlsafe(16)
    scratch = Path(tempfile.mkdtemp(prefix="upload-bench-"))
    try:
        session = Session.open(_make_session(scratch / "sessions", size_mb))
        started = time.perf_counter()
        versions = plan_raw(session, dcim_part_bytes=size_mb * MB / 4 * 1.02)
        plan_seconds = time.perf_counter() - started
        archives = [a for version in versions for a in version]
        total = sum(a.size for a in archives)
        limit_file = scratch / "limit.bin"
        _write_video(limit_file, total, random.Random(0))
        ready = {a.name: FileSource(write_archive(a, scratch / "ready")[0]) for a in archives}
        (zips := scratch / "zips").mkdir()
        async with (
            local_zenodo(token, scratch / "zenodo") as (api_url, server),
            ZenodoClient(api_url, token, rate_limit_per_minute=100_000) as client,
        ):
            SERVER_PID.append(server.pid)
            limit_times, ours_times, ready_times = [], [], []
            for _ in range(rounds):  # alternate, keep the best: the server shares our 2 CPUs
                limit_times.append(await _limit(client, limit_file))
                ours_times.append(await _parallel(client, "ours", {a.name: _streamed(a) for a in archives}))
                ready_times.append(await _parallel(client, "ready", ready))
            limit_seconds, ours_seconds, ready_seconds = min(limit_times), min(ours_times), min(ready_times)
            sequential_seconds, deflated = await _sequential(client, archives, zips)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"archives={len(archives)} ({', '.join(f'{a.name}:{a.size / MB:.0f}MB' for a in archives)})")
    print(f"plan_seconds={plan_seconds:.2f} (not in ours_seconds) deflated_bytes={deflated}")
    print("ours = plain library calls (iter_archive + IterableSource + ZenodoClient.upload), no Prefect")
    runs = " ".join(f"{a:.2f}/{b:.2f}/{c:.2f}" for a, b, c in zip(limit_times, ours_times, ready_times, strict=True))
    print(f"runs one_put/ours/ready={runs}")
    print("cpu_seconds client/server: " + " ".join(f"{k}={c:.2f}/{s:.2f}" for k, (c, s) in CPU.items()))
    print(f"ready_seconds={ready_seconds:.2f} (the same archives pre-written to disk, {IN_FLIGHT} in flight; "
          f"zip_cost={ours_seconds / ready_seconds:.2f}x)")
    print(f"one_put_seconds={limit_seconds:.2f}")
    print(f"ours_seconds={ours_seconds:.2f}")
    print(f"sequential_seconds={sequential_seconds:.2f}")
    print(f"bytes={total}")
    print(f"ratio_vs_one_put={limit_seconds / ours_seconds:.2f}")
    print(f"speedup_vs_sequential={sequential_seconds / ours_seconds:.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=2048, help="size of the session's DCIM in MB")
    parser.add_argument("--rounds", type=int, default=3, help="limit and ours runs, alternated (best counts)")
    args = parser.parse_args()
    os.environ.pop("ZENODO_TOKEN", None)
    asyncio.run(main(args.size_mb, max(1, args.rounds)))
