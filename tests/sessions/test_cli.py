"""`zenodo-atlas session ...` through typer's CliRunner (the real app, as mounted)."""

from __future__ import annotations

import csv
from pathlib import Path

from typer.testing import CliRunner

from zenodo_atlas.cli.app import app

runner = CliRunner()


def _drop_column(path: Path, column: str) -> None:
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        fields, rows = [c for c in reader.fieldnames or [] if c != column], list(reader)
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


def test_sample_then_check_then_break_a_column(tmp_path: Path):
    result = runner.invoke(app, ["session", "sample", str(tmp_path), "--frames", "8", "--dcim-mb", "0.1"])
    assert result.exit_code == 0, result.output
    session = tmp_path / "20231021_REU-ST-LEU_ASV-1_01"
    assert result.stdout.strip() == str(session)
    assert (session / "METADATA" / "metadata.csv").is_file()

    ok = runner.invoke(app, ["session", "check", str(session)])
    assert ok.exit_code == 0, ok.output
    assert "no errors" in ok.stdout

    _drop_column(session / "METADATA" / "metadata.csv", "GPSLongitude")
    broken = runner.invoke(app, ["session", "check", str(session)])
    assert broken.exit_code == 1
    assert "missing column GPSLongitude" in broken.stderr
    assert "1 of 1 session(s) have errors" in broken.stderr


def test_sample_options_and_bad_name(tmp_path: Path):
    result = runner.invoke(app, ["session", "sample", str(tmp_path), "--platform", "UAV", "--frames", "3",
                                 "--dcim-mb", "0", "--seed", "7", "--name", "20240301_MUS-Le-Morne_UAV-1_01"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "20240301_MUS-Le-Morne_UAV-1_01" / "DCIM" / "DJI_0001.JPG").is_file()
    bad = runner.invoke(app, ["session", "sample", str(tmp_path), "--name", "holiday"])
    assert bad.exit_code == 1
    assert "invalid session name 'holiday'" in bad.stderr
    again = runner.invoke(app, ["session", "sample", str(tmp_path), "--platform", "UAV",
                                "--name", "20240301_MUS-Le-Morne_UAV-1_01"])
    assert again.exit_code == 1 and "already exists" in again.stderr


def test_check_a_folder_of_sessions(sample_sessions, tmp_path: Path):
    root = tmp_path / "disk"
    root.mkdir()
    for platform in ("ASV", "UVC"):
        session = sample_sessions(platform=platform, frames=2, dcim_mb=0)
        session.rename(root / session.name)
    result = runner.invoke(app, ["session", "check", str(root)])
    assert result.exit_code == 0, result.output
    assert "2 session(s) checked" in result.stdout
    assert "20231021_REU-ST-LEU_UVC-1_01" in result.stdout


def test_plan_prints_archives_and_reports_bad_requests(sample_session: Path):
    result = runner.invoke(app, ["session", "plan", str(sample_session), "--raw", "--processed", "fmi",
                                 "--dcim-part-gb", "0.0005"])
    assert result.exit_code == 0, result.output
    for name in ("RAW_DATA version 1 of 1", "GPS.zip", "DCIM.zip", "DCIM_p02.zip", "SENSORS.zip",
                 "PROCESSED_DATA", "PROCESSED_DATA_FRAMES.zip", "METADATA.zip", "PROCESSED_DATA_IA.zip"):
        assert name in result.stdout
    nothing = runner.invoke(app, ["session", "plan", str(sample_session)])
    assert nothing.exit_code == 2 and "nothing to plan" in nothing.stderr
    letter = runner.invoke(app, ["session", "plan", str(sample_session), "--processed", "fz"])
    assert letter.exit_code == 1 and "unknown processed folder letter 'z'" in letter.stderr
    big = runner.invoke(app, ["session", "plan", str(sample_session), "--raw", "--record-gb", "0.001"])
    assert big.exit_code == 1 and "more than a Zenodo record holds" in big.stderr
