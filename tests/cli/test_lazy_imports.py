"""Commands that never run a flow must not pay for importing Prefect (1.5-2 s of a command's wall)."""

import subprocess
import sys
from pathlib import Path

import pytest

PROBE = """
import sys
import zenodo_atlas.cli as cli
sys.argv = ["zenodo-atlas", *sys.argv[1:]]
try:
    cli.main()
except SystemExit:
    pass
print("heavy:", sorted({m.split(".")[0] for m in sys.modules} & {"prefect", "geopandas", "aiohttp"}), file=sys.stderr)
"""


def heavy_modules(*args: str, cwd: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )
    return done.stderr.strip().splitlines()[-1]


@pytest.mark.parametrize(
    "args",
    [
        ("--help",),
        ("atlas", "--help"),
        ("session", "check", "."),
        ("atlas", "query", "--atlas", "atlas.duckdb", "--polygon", "POLYGON((0 0, 1 0, 1 1, 0 0))", "--out", "q.csv"),
    ],
)
def test_commands_that_run_no_flow_import_no_prefect(tmp_path: Path, args: tuple[str, ...]) -> None:
    from zenodo_atlas.atlas.connection import open_atlas

    open_atlas(tmp_path / "atlas.duckdb").close()
    assert heavy_modules(*args, cwd=tmp_path) == "heavy: []"
