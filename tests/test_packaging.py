"""The installed distribution adds one importable name, `zenodo_atlas`, and nothing generic.

Generic top-level modules (`flows`, `atlas`, `tasks`, `zenodo`...) would collide with other
distributions and with a user's own `flows/` folder; pip would not even notice.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    # Build from a copy: setuptools writes build/ and *.egg-info next to the sources it builds.
    source = tmp_path_factory.mktemp("source") / "zenodo-atlas"
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True, capture_output=True).stdout
    for name in filter(None, tracked.decode().split("\0")):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(source)],
        check=True,
        capture_output=True,
    )
    [built] = out.glob("zenodo_atlas-*.whl")
    return built


def test_wheel_ships_only_the_zenodo_atlas_package(wheel: Path) -> None:
    tops = {name.split("/", 1)[0] for name in zipfile.ZipFile(wheel).namelist()}
    assert {top for top in tops if not top.endswith(".dist-info")} == {"zenodo_atlas"}
    names = set(zipfile.ZipFile(wheel).namelist())
    for packaged in (
        "zenodo_atlas/flows/upload.py",
        "zenodo_atlas/atlas/migrations/001_base_tables.sql",
        "zenodo_atlas/deployments/prefect.yaml",
        "zenodo_atlas/sessions/data/metadata_template.yaml",
    ):
        assert packaged in names


def test_installed_wheel_adds_no_generic_module(wheel: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run([python, "-m", "pip", "install", "-q", "--no-deps", str(wheel)], check=True, capture_output=True)
    probe = (
        "import importlib.util as u, json;"
        "print(json.dumps({n: u.find_spec(n) is not None for n in "
        "['zenodo_atlas', 'zenodo_atlas.flows', 'flows', 'tasks', 'atlas', 'sessions', 'zenodo', 'deployments']}))"
    )
    # Run outside the checkout so the repository's folders are not on sys.path.
    found = subprocess.run([python, "-c", probe], check=True, capture_output=True, text=True, cwd=tmp_path)
    assert found.stdout.strip() == (
        '{"zenodo_atlas": true, "zenodo_atlas.flows": true, "flows": false, "tasks": false, '
        '"atlas": false, "sessions": false, "zenodo": false, "deployments": false}'
    )
