"""Bench: how fast each mistake of issue 14 item 6 is refused, as a user meets it (a fresh process).

Goal: every case answers in under 2 s, `--help` in under 1 s. The honest limit measured in the
same run is a bare interpreter start (`python -c pass`): no command can answer faster. Rounds
alternate limit and cases; wall min/median/max print, the ratio of medians to the limit, the CPU
seconds (what the machine's load does not inflate) and the verdict on the median against the goal.
No case may start Prefect or print a traceback: each must fail before any flow.

    python bench/bad_input.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from local_zenodo import CLI
from synthetic_atlas import fill

from zenodo_atlas.atlas.connection import connect_atlas
from zenodo_atlas.atlas.migrate import migrate
from zenodo_atlas.sessions.sample import write_sample_session

GOOD = "20231021_REU-ST-LEU_ASV-1_01"
GOAL_S, HELP_GOAL_S = 2.0, 1.0


def workspace(root: Path) -> dict[str, list[str]]:
    """The files the cases need, and each case's argv (after `zenodo-atlas`)."""
    session = write_sample_session(root / "sessions", name=GOOD, frames=6, dcim_mb=0.05)
    scores = next((session / "PROCESSED_DATA" / "IA").glob("*scores*.csv"))
    scores.write_text(scores.read_text().replace("Sand", "Sandy_bottom", 1))
    (root / "not_a_session").mkdir()
    (root / "a_folder").mkdir()
    (root / "incomplete.yaml").write_text(
        "license: CC-BY-4.0\npeople:\n  sessions_csv: a.csv\n  contributors_csv: b.csv\n"
    )
    (root / "semicolon.csv").write_text(f"root_folder;session_name\n{root / 'sessions'};{GOOD}\n")
    (root / "columns.csv").write_text("folder,name\n/data,x\n")
    atlas = root / "atlas.duckdb"
    con = connect_atlas(atlas)
    try:
        migrate(con)
        fill(con, sessions=20, frames_per_session=200, classes=5)
    finally:
        con.close()
    swapped = "POLYGON((-21.4 55.2, -19.4 55.2, -19.4 57.2, -21.4 57.2, -21.4 55.2))"
    query = ["atlas", "query", "--atlas", str(atlas), "--out", str(root / "q.csv")]
    return {
        "--help": ["--help"],
        "bad session name": ["upload", str(root / "not_a_session"), "--raw"],
        "bad folder letter": ["upload", str(session), "--processed", "fmx"],
        "missing version flag": ["upload", str(session)],
        "template + missing people files": [
            "upload", str(session), "--raw", "--metadata", str(root / "incomplete.yaml")
        ],
        "csv wrong columns": ["upload", "--csv", str(root / "columns.csv"), "--raw"],
        "csv ; delimiter": ["upload", "--csv", str(root / "semicolon.csv"), "--raw"],
        "bad ATLAS_ value": ["upload", str(session), "--raw", "ENV:ATLAS_UPLOAD_CONCURRENCY=abc"],
        "--atlas <directory>": ["atlas", "export", "--atlas", str(root / "a_folder"), "--out", str(root / "x")],
        "bad download name": ["download", "--out", str(root / "x"), "--name", "lagoon_2023"],
        "unknown label columns (check)": ["session", "check", str(session)],
        "lat/lon swapped (query hint)": [*query, "--polygon", swapped],
        "unknown platform (query hint)": [*query, "--platform", "KAYAK"],
    }


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """Wall and CPU (user + system) seconds of one process, and its exit code."""
    extra = dict(a.removeprefix("ENV:").split("=", 1) for a in argv if a.startswith("ENV:"))
    argv = [a for a in argv if not a.startswith("ENV:")]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(argv, env={**env, **extra}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    if "Traceback" in done.stderr or "prefect" in done.stderr.lower():
        raise SystemExit(f"{argv}: Prefect or a traceback on stderr:\n{done.stderr}")
    return seconds, cpu, done.returncode


def main(rounds: int) -> None:
    root = Path(tempfile.mkdtemp(prefix="bench-bad-input-"))
    env = {**os.environ, "ZENODO_URL": "http://127.0.0.1:9/api", "ZENODO_TOKEN": "bench-token",
           "ATLAS_TOKEN_FILE": str(root / "none"), "ATLAS_ATLAS_PATH": str(root / "atlas.duckdb")}
    env.pop("ATLAS_METADATA_TEMPLATE", None)
    try:
        cases = workspace(root)
        limit: list[float] = []
        times: dict[str, list[float]] = {name: [] for name in cases}
        cpu: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(rounds):
            limit.append(timed([sys.executable, "-c", "pass"], env)[0])
            for name, argv in cases.items():
                seconds, used, code = timed([str(CLI), *argv], env)
                expected_ok = name == "--help" or "hint" in name or "(check)" in name
                if (code == 0) != expected_ok:
                    raise SystemExit(f"{name}: exit code {code}")
                times[name].append(seconds)
                cpu[name].append(used)
        floor = statistics.median(limit)
        print(f"limit: python -c pass  min {min(limit):.3f}  median {floor:.3f}  max {max(limit):.3f} s (wall)")
        print(f"{'case':34} {'wall min':>8} {'median':>7} {'max':>6}  x limit  cpu median  goal (median wall)")
        for name, values in times.items():
            median = statistics.median(values)
            goal = HELP_GOAL_S if name == "--help" else GOAL_S
            print(f"{name:34} {min(values):8.3f} {median:7.3f} {max(values):6.3f}  {median / floor:6.1f}  "
                  f"{statistics.median(cpu[name]):10.3f}  {'ok' if median < goal else 'OVER'} (< {goal:.0f} s)")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    main(parser.parse_args().rounds)
