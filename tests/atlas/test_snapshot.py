"""The read snapshot: readers open a committed copy while another process writes the Atlas."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.fixtures.atlas import PopulatedAtlas
from zenodo_atlas.atlas.connection import open_atlas
from zenodo_atlas.atlas.errors import AtlasLockedError
from zenodo_atlas.atlas.etl import last_run, record_run
from zenodo_atlas.atlas.inventory import counts
from zenodo_atlas.atlas.snapshot import checkpoint_and_close, open_snapshot, refresh_snapshot, snapshot_path
from zenodo_atlas.cli import app

HOLD_OPEN = """
import sys
from zenodo_atlas.atlas.connection import open_atlas
con = open_atlas(sys.argv[1])
con.execute("BEGIN")
con.execute("DELETE FROM multilabel_prediction")
print("writing", flush=True)
sys.stdin.readline()
"""


@pytest.fixture
def committed(populated_atlas: PopulatedAtlas, tmp_path: Path) -> Path:
    path = tmp_path / "atlas.duckdb"
    path.write_bytes(populated_atlas.path.read_bytes())
    refresh_snapshot(path)
    return path


def test_refresh_replaces_the_snapshot_with_the_last_commit(committed: Path) -> None:
    con = open_atlas(committed)
    record_run(con, started_at=datetime.now(UTC), notes="after the snapshot")
    checkpoint_and_close(con)
    before, info_before = open_snapshot(committed)
    try:
        assert last_run(before) is None or last_run(before).notes != "after the snapshot"
    finally:
        before.close()

    refresh_snapshot(committed)

    after, info = open_snapshot(committed)
    try:
        assert last_run(after).notes == "after the snapshot"
    finally:
        after.close()
    assert info.path == snapshot_path(committed) and info.committed_at >= info_before.committed_at
    assert not list(committed.parent.glob("*.tmp"))


def test_readers_see_the_last_commit_while_another_process_writes(committed: Path, tmp_path: Path) -> None:
    expected, _ = open_snapshot(committed)
    frames = counts(expected)["frames"]
    expected.close()
    writer = subprocess.Popen([sys.executable, "-c", HOLD_OPEN, str(committed)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "writing"
        with pytest.raises(AtlasLockedError):
            open_atlas(committed, read_only=True)

        con, info = open_snapshot(committed)
        try:
            assert counts(con)["frames"] == frames > 0
        finally:
            con.close()
        out = tmp_path / "frames.csv"
        result = CliRunner().invoke(app, ["atlas", "query", "--atlas", str(committed), "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert f"{frames} frame(s) written" in result.output and "Atlas as committed at" in result.output
        assert "s ago" in info.describe()
    finally:
        writer.communicate("\n", timeout=30)
