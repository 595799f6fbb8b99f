import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from tests.fixtures.atlas import PopulatedAtlas
from zenodo_atlas.atlas.migrate import latest_version
from zenodo_atlas.cli import app

runner = CliRunner()


def test_migrate_creates_and_reports(tmp_path: Path) -> None:
    path = tmp_path / "new" / "atlas.duckdb"
    result = runner.invoke(app, ["atlas", "migrate", "--atlas", str(path)])
    assert result.exit_code == 0, result.output
    assert f"schema 0 -> {latest_version()}" in result.output and path.is_file()
    again = runner.invoke(app, ["atlas", "migrate", "--atlas", str(path)])
    assert again.exit_code == 0 and f"already at schema {latest_version()}" in again.output


def test_query_with_filters_writes_the_output(populated_atlas: PopulatedAtlas, tmp_path: Path) -> None:
    area = tmp_path / "area.geojson"
    area.write_text(json.dumps({"type": "Polygon", "coordinates": [[[55, -22], [56, -22], [56, -21], [55, -21],
                                                                     [55, -22]]]}))
    out = tmp_path / "frames.csv"
    result = runner.invoke(app, [
        "atlas", "query", "--atlas", str(populated_atlas.path), "--geojson", str(area), "--from", "2024-01-01",
        "--platform", "UAV", "--class", "Sand", "--class", "Fish", "--presence", "--out", str(out),
    ])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert set(table["platform"]) == {"UAV"} and list(table.columns[-2:]) == ["Sand", "Fish"]
    assert f"{len(table)} frame(s) written" in result.output


def test_query_errors_are_one_line(populated_atlas: PopulatedAtlas, tmp_path: Path) -> None:
    base = ["atlas", "query", "--atlas", str(populated_atlas.path), "--out", str(tmp_path / "q.csv")]
    for extra, message in (
        (["--from", "yesterday"], "is not a date"),
        (["--class", "Unicorn"], "Unknown class"),
        (["--polygon", "POLYGON((0 0, 1 1))"], "not a readable geometry"),
        (["--from", "2024-02-01", "--to", "2024-01-01"], "after --to"),
    ):
        result = runner.invoke(app, base + extra)
        assert result.exit_code == 1 and message in result.output, (extra, result.output)
        assert "Traceback" not in result.output
    missing = runner.invoke(app, ["atlas", "query", "--atlas", str(tmp_path / "none.duckdb"), "--out", "x.csv"])
    assert missing.exit_code == 1 and "atlas migrate" in missing.output


def test_export_and_annotations_commands(populated_atlas: PopulatedAtlas, tmp_path: Path, prefect_harness) -> None:
    result = runner.invoke(app, ["atlas", "export", "--atlas", str(populated_atlas.path), "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "seatizen_atlas.gpkg").is_file() and "15 file(s) written" in result.output
    copy = tmp_path / "copy.duckdb"
    copy.write_bytes(populated_atlas.path.read_bytes())
    again = runner.invoke(app, ["atlas", "annotations", str(populated_atlas.annotations[0]), "--atlas", str(copy)])
    assert again.exit_code == 0 and "0 file(s) imported" in again.output and "1 already present" in again.output
    bad = tmp_path / "notes.csv"
    bad.write_text("FileName,Fish\n")
    failed = runner.invoke(app, ["atlas", "annotations", str(bad), "--atlas", str(copy)])
    assert failed.exit_code == 1 and "Nothing imported" in failed.output


def test_map_command_writes_html_and_png_and_refuses_to_overwrite(
    populated_atlas: PopulatedAtlas, tmp_path: Path
) -> None:
    html, png = tmp_path / "atlas.html", tmp_path / "atlas.png"
    args = ["atlas", "map", "--atlas", str(populated_atlas.path), "--out", str(html), "--png", str(png)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert html.read_text().startswith("<!DOCTYPE html>") and png.read_bytes()[:4] == b"\x89PNG"
    again = runner.invoke(app, args)
    assert again.exit_code != 0 and "--force" in again.output and "Traceback" not in again.output
    wrong = runner.invoke(app, ["atlas", "map", "--atlas", str(populated_atlas.path), "--out", str(tmp_path / "a.txt")])
    assert wrong.exit_code != 0 and "must end in .html" in wrong.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["atlas.html", "atlas.png"]  # nothing half-written


def test_paths_with_quotes_spaces_and_accents_work(populated_atlas: PopulatedAtlas, tmp_path: Path) -> None:
    odd = tmp_path / "Jane's \"atlas\" été"
    odd.mkdir()
    atlas = odd / "l'atlas ü.duckdb"
    atlas.write_bytes(populated_atlas.path.read_bytes())
    out = tmp_path / "Jane's exports; DROP TABLE frame; --"
    result = runner.invoke(app, ["atlas", "export", "--atlas", str(atlas), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "seatizen_atlas.gpkg").is_file()
    query = runner.invoke(app, ["atlas", "query", "--atlas", str(atlas), "--out", str(odd / "frames 'q'.csv")])
    assert query.exit_code == 0 and (odd / "frames 'q'.csv").is_file(), query.output


def test_an_atlas_folder_is_refused_with_the_file_to_give(tmp_path: Path) -> None:
    result = runner.invoke(app, ["atlas", "export", "--atlas", str(tmp_path), "--out", str(tmp_path / "x")])
    assert result.exit_code == 1 and "is a folder" in result.output and "seatizen_atlas.duckdb" in result.output
    assert "migrate" not in result.output and not (tmp_path / "x").exists()
