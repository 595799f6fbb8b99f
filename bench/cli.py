"""Bench: the `zenodo-atlas` command end to end (fixed cost + transfer), as a user runs it.

Every command runs as a fresh process against a local Zenodo (its own process) with no Prefect server
configured, as a user runs it: the first flow command starts the background Prefect server and the
warm process beside it (their start-up is printed apart), and every later command is handed to the
warm process (`zenodo_atlas.launch`). `--ephemeral-rounds` also times a flow command with Prefect's
per-command temporary server and no warm process, for comparison. Only wall time is printed: a
command's work runs in a child of the warm process, not in the process this script starts, so its
CPU is not the caller's to count (`client_transfer.py` measures the client's CPU per byte).

- fixed cost: `--help`, `atlas query` on a small Atlas, `session check` on a sample session, and
  `upload --clean-drafts` (the smallest flow command), wall seconds.
- upload: `upload SESSION --raw` of a session with `--upload-mb` of DCIM, against `md5sum` and `curl -T`
  side by side on one file of the same total bytes. `ATLAS_SEARCH_LAG=0`: this server's search does not lag.
- download: `download --name SESSION --raw` of a record with `--download-mb` of DCIM (unpacked into the
  session layout), against `curl | tee | md5sum` of one file of the same bytes.
Rounds alternate tool and limit; min/median/max print, ratios compare medians.

    python bench/cli.py [--upload-mb 256] [--download-mb 1024] [--rounds 3] [--ephemeral-rounds 1]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from local_zenodo import CLI, local_zenodo

from zenodo_atlas.launch import socket_path
from zenodo_atlas.sessions.sample import write_sample_session
from zenodo_atlas.zenodo.client import ZenodoClient
from zenodo_atlas.zenodo.models import Creator, DepositMetadata

MiB = 1 << 20


def spread(values: list[float]) -> str:
    return f"min={min(values):.2f} median={statistics.median(values):.2f} max={max(values):.2f}"


def timed(command: list[str] | str, env: dict[str, str], *, shell: bool = False) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, env=env, shell=shell, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"failed ({done.returncode}): {command}\n{done.stderr[-2000:]}")
    return time.perf_counter() - started


def wait_warm(env: dict[str, str], timeout: float = 120.0) -> None:
    """Until the warm process listens (it imports for a few seconds after the server starts)."""
    started = time.perf_counter()
    socket = socket_path(Path(env["PREFECT_HOME"]))
    while not socket.exists():
        if time.perf_counter() - started > timeout:
            raise SystemExit(f"the warm process did not listen at {socket} within {timeout:g} s")
        time.sleep(0.1)
    print(f"warm process ready {time.perf_counter() - started:.1f} s after the server")


def tree_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def zenodo_atlas(*args: str) -> list[str]:
    return [str(CLI), *args] if CLI.exists() else [sys.executable, "-m", "zenodo_atlas", *args]


def session_name(index: int) -> str:
    return f"20231021_REU-ST-LEU_ASV-1_{index:02d}"


async def limit_file(client: ZenodoClient, path: Path, size: int) -> str:
    """A file of `size` incompressible bytes on disk and on a draft of the local Zenodo; its URL."""
    with path.open("wb") as out:
        left = size
        while left > 0:
            out.write(os.urandom(min(left, MiB)))
            left -= min(left, MiB)
    meta = DepositMetadata(title="limit", creators=[Creator(name="Bench, B")], description="bench")
    draft = await client.create_deposition(meta)
    await client.upload(draft.bucket_url, path.name, path)
    return f"{draft.bucket_url}/{path.name}"


async def main(args: argparse.Namespace) -> None:
    if not shutil.which("curl") or not shutil.which("md5sum"):
        raise SystemExit("needs curl and md5sum (Debian: apt-get install curl coreutils)")
    token = secrets.token_urlsafe(16)
    scratch = Path(tempfile.mkdtemp(prefix="cli-bench-"))
    headers = scratch / "headers"  # curl reads the token from a file: never in argv
    headers.write_text(f"Authorization: Bearer {token}\n")
    headers.chmod(0o600)
    curl = f"curl -sS -f -H @{headers}"
    results: dict[str, list[float]] = {}
    try:
        async with (
            local_zenodo(token, scratch / "zenodo") as (api_url, _server),
            ZenodoClient(api_url, token, rate_limit_per_minute=100_000) as client,
        ):
            env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_API", "ZENODO_", "ATLAS_"))}
            env |= {
                "PREFECT_HOME": str(scratch / "prefect-home"), "ZENODO_URL": api_url, "ZENODO_TOKEN": token,
                "ATLAS_ATLAS_PATH": str(scratch / "atlas.duckdb"), "ATLAS_WORK_DIR": str(scratch / "work"),
                "ATLAS_TOKEN_FILE": str(scratch / "none"),
                # This local Zenodo's search shows a write at once (no realistic mode), so nothing is
                # waited for; against zenodo.org a new session's upload ends no sooner than
                # ATLAS_SEARCH_LAG (5 s) after its first draft was created (`confirm_first_claim`).
                "ATLAS_SEARCH_LAG": "0",
            }
            sessions = scratch / "sessions"
            uploads = [write_sample_session(sessions, name=session_name(10 + r), dcim_mb=args.upload_mb * MiB / 1e6)
                       for r in range(args.rounds)]
            big = write_sample_session(sessions, name=session_name(1), dcim_mb=args.download_mb * MiB / 1e6)
            await asyncio.to_thread(timed, [*zenodo_atlas("atlas", "migrate")], env)
            up_file, down_file = scratch / "up-limit.bin", scratch / "down-limit.bin"
            up_url = await limit_file(client, up_file, tree_bytes(uploads[0]))
            down_url = await limit_file(client, down_file, tree_bytes(big))
            seconds = await asyncio.to_thread(timed, zenodo_atlas("server", "start"), env)
            print(f"background Prefect server first start (cold database): {seconds:.1f} s")
            await asyncio.to_thread(wait_warm, env)
            try:
                await asyncio.to_thread(timed, [*zenodo_atlas("upload"), str(big), "--raw"], env)  # downloaded below
                polygon = "POLYGON((55 -21.5, 56 -21.5, 56 -20.5, 55 -20.5, 55 -21.5))"
                fixed = {
                    "help": zenodo_atlas("--help"),
                    "atlas query": [*zenodo_atlas("atlas", "query"), "--polygon", polygon, "--out",
                                    str(scratch / "q.csv")],
                    "session check": [*zenodo_atlas("session", "check"), str(big)],
                    "upload --clean-drafts": [*zenodo_atlas("upload"), "--clean-drafts"],
                }
                for r in range(args.rounds):
                    for name, command in fixed.items():
                        results.setdefault(name, []).append(timed(command, env))
                    results.setdefault("upload CLI", []).append(timed([*zenodo_atlas("upload"), str(uploads[r]),
                                                                       "--raw"], env))
                    results.setdefault("upload limit", []).append(timed(
                        f"md5sum {up_file} > /dev/null & {curl} -o /dev/null -T {up_file} {up_url}.{r}; wait",
                        env, shell=True))
                    out = scratch / f"down-{r}"
                    results.setdefault("download CLI", []).append(timed(
                        [*zenodo_atlas("download"), "--name", big.name, "--raw", "--out", str(out)], env))
                    shutil.rmtree(out, ignore_errors=True)
                    results.setdefault("download limit", []).append(timed(
                        f"{curl} {down_url} | tee {scratch / 'curl.out'} | md5sum > /dev/null", env, shell=True))
                ephemeral = env | {"ATLAS_PREFECT_SERVER": "ephemeral"}
                for _ in range(args.ephemeral_rounds):
                    results.setdefault("upload --clean-drafts (ephemeral)", []).append(
                        timed(fixed["upload --clean-drafts"], ephemeral))
            finally:
                await asyncio.to_thread(timed, zenodo_atlas("server", "stop"), env)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"{args.rounds} alternated rounds; upload {args.upload_mb} MiB DCIM, download {args.download_mb} MiB DCIM")
    for name, values in results.items():
        print(f"{name}: wall_s {spread(values)}")
    median = {name: statistics.median(values) for name, values in results.items()}
    print(f"upload_cli_ratio={median['upload CLI'] / median['upload limit']:.2f} (target <= 3, vs curl + md5sum)")
    print(f"download_cli_ratio={median['download CLI'] / median['download limit']:.2f} (target <= 2, vs curl + md5sum)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--upload-mb", type=int, default=256, help="DCIM MiB of each uploaded session")
    parser.add_argument("--download-mb", type=int, default=1024, help="DCIM MiB of the downloaded record")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--ephemeral-rounds", type=int, default=1, help="flow command with Prefect's temporary server")
    args = parser.parse_args()
    os.environ.pop("ZENODO_TOKEN", None)
    asyncio.run(main(args))
