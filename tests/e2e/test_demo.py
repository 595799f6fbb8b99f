"""The README's first command: `zenodo-atlas demo` end to end, with no Prefect server configured (the CLI
starts its background server, stopped at the end)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb


def test_demo_command_runs_everything_and_exits_zero(tmp_path):
    out = tmp_path / "demo"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_API", "ZENODO_", "ATLAS_"))}
    env["PREFECT_HOME"] = str(tmp_path / "prefect-home")
    started = time.monotonic()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "zenodo_atlas", "demo", "--out", str(out)],
            env=env, capture_output=True, text=True, timeout=600, check=False,
        )
    finally:
        subprocess.run([sys.executable, "-m", "zenodo_atlas", "server", "stop"], env=env, timeout=60, check=False)
    elapsed = time.monotonic() - started
    print(f"demo took {elapsed:.1f} s")

    assert done.returncode == 0, done.stderr[-3000:]
    assert "Atlas record: v1.0.0" in done.stdout
    assert "0 added, 0 updated" in done.stdout and "atlas unchanged" in done.stdout
    assert "files identical" in done.stdout
    atlas = next((out / "atlas").glob("*.duckdb"))
    con = duckdb.connect(str(atlas), read_only=True)
    try:
        assert con.execute("SELECT count(*) FROM deposit").fetchone()[0] == 2
        assert con.execute("SELECT count(*) FROM annotation").fetchone()[0] > 0
    finally:
        con.close()
    assert any((out / "exports").glob("*.gpkg"))
    for picture in ("seatizen_atlas_map.html", "seatizen_atlas_overview.png"):
        assert (out / "exports" / picture).is_file() and f"Map: {out / 'exports' / picture}" in done.stdout
    assert not any(Path(out / "downloaded").rglob("*.part"))
