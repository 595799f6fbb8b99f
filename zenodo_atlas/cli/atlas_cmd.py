"""`zenodo-atlas atlas ...` commands: local work on the Atlas file (migrate, query, export, annotations).

`atlas register` and `atlas publish`, which talk to Zenodo, live here too (added by the flows work).
Each command imports the Atlas modules it uses (DuckDB, pandas, geopandas) so `--help` stays fast.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError
from rich.console import Console

from zenodo_atlas.atlas.errors import AtlasError
from zenodo_atlas.cli import validate
from zenodo_atlas.cli.errors import fail, one_line_errors, run_flow
from zenodo_atlas.cli.output import JsonOption, emit_json

if TYPE_CHECKING:
    import duckdb

app = typer.Typer(
    help="The Atlas: register, publish, migrate, query, export, import annotations.", no_args_is_help=True
)
stdout = Console(highlight=False, soft_wrap=True)
stderr = Console(stderr=True, highlight=False, soft_wrap=True)

AtlasOption = Annotated[
    Path | None, typer.Option("--atlas", help="Atlas DuckDB file (default: ATLAS_ATLAS_PATH or settings).")
]


def _atlas_path(atlas: Path | None) -> Path:
    return validate.atlas_file(atlas, validate.settings())


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise fail(f"{option} {value!r} is not a date; use YYYY-MM-DD.") from None


@app.command("migrate")
@one_line_errors(AtlasError)
def migrate_cmd(atlas: AtlasOption = None, as_json: JsonOption = False) -> None:
    """Create the Atlas if needed and apply pending schema migrations.

    Example:
      zenodo-atlas atlas migrate --atlas ./atlas.duckdb
    """
    from zenodo_atlas.atlas.connection import connect_atlas
    from zenodo_atlas.atlas.migrate import latest_version, migrate, schema_version
    from zenodo_atlas.atlas.snapshot import atlas_lock, checkpoint_and_close

    path = _atlas_path(atlas)
    with atlas_lock(path):
        con = connect_atlas(path)
        try:
            before = schema_version(con)
            applied = migrate(con)
        except BaseException:
            con.close()
            raise
        checkpoint_and_close(con)
    if as_json:
        emit_json({"atlas": path, "schema_before": before, "applied": applied, "schema": latest_version()})
    elif applied:
        stdout.print(f"{path}: schema {before} -> {applied[-1]} (applied {', '.join(map(str, applied))}).")
    else:
        stdout.print(f"{path}: already at schema {latest_version()}.")


@app.command("check")
@one_line_errors(AtlasError)
def check_cmd(atlas: AtlasOption = None) -> None:
    """Verify the spatial index (each version's extent) against the frames; write it again if they disagree.

    Opening the Atlas for writing already repairs an interrupted write; this also catches an extent
    damaged earlier. The nightly auto-update runs the same check.

    Example:
      zenodo-atlas atlas check --atlas ./atlas.duckdb
    """
    from zenodo_atlas.atlas import spatial_index
    from zenodo_atlas.atlas.snapshot import write_committed

    path = _atlas_path(atlas)

    def check(con: duckdb.DuckDBPyConnection) -> tuple[spatial_index.ExtentCheck, spatial_index.ExtentCheck]:
        report = spatial_index.check(con)
        return report, spatial_index.check(con, repair=False) if report.rebuilt else report

    with stderr.status("Checking the spatial index..."):
        report, after = write_committed(path, check)
    for record_id, (stored, actual) in report.mismatches.items():
        stdout.print(f"  version {record_id}: extent {stored or 'missing'}, its frames span {actual or 'nothing'}")
    if not after.healthy:
        raise fail(f"{path}: the spatial index still disagrees with the frames after a rebuild; restore a backup.")
    if report.rebuilt:
        stdout.print(f"{path}: rebuilt the version extents; the spatial index now agrees with the frames.")
    else:
        stdout.print(f"{path}: the spatial index agrees with the frames of {report.versions_checked} version(s).")


@app.command("query")
@one_line_errors(AtlasError)
def query_cmd(
    out: Annotated[Path, typer.Option("--out", help="Output file: .csv, .parquet or .geojson.")],
    polygon: Annotated[str | None, typer.Option("--polygon", help="Area as WKT (lon lat).")] = None,
    geojson: Annotated[Path | None, typer.Option("--geojson", help="Area as a GeoJSON file.")] = None,
    date_from: Annotated[str | None, typer.Option("--from", help="First day, YYYY-MM-DD.")] = None,
    date_to: Annotated[str | None, typer.Option("--to", help="Last day, YYYY-MM-DD.")] = None,
    platform: Annotated[list[str] | None, typer.Option("--platform", help="Platform (repeatable).")] = None,
    model: Annotated[str | None, typer.Option("--model", help="Model name (default: the latest).")] = None,
    class_: Annotated[list[str] | None, typer.Option("--class", help="Class name (repeatable; default all).")] = None,
    presence: Annotated[bool, typer.Option("--presence", help="Score >= threshold as true/false.")] = False,
    atlas: AtlasOption = None,
    as_json: JsonOption = False,
) -> None:
    """Frames in an area, date range and platforms, with their class scores (or presence).

    Example:
      zenodo-atlas atlas query --geojson lagoon.geojson --from 2023-01-01 --platform ASV --presence --out frames.csv
    """
    from zenodo_atlas.atlas.query import FrameQuery, empty_result_hints, output_suffix, run_query, write_table
    from zenodo_atlas.atlas.snapshot import open_snapshot

    output_suffix(out)
    path = _atlas_path(atlas)
    area = None
    if geojson is not None:
        try:
            area = json.loads(geojson.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise fail(f"{geojson} is not JSON ({exc.msg} at line {exc.lineno}); give a GeoJSON file.") from None
    try:
        query = FrameQuery(
            polygon=polygon, geojson=area, date_from=_day(date_from, "--from"), date_to=_day(date_to, "--to"),
            platforms=platform or [], model=model, classes=class_ or [], mode="presence" if presence else "score",
        )
    except ValidationError as exc:
        raise fail(exc.errors()[0]["msg"].removeprefix("Value error, ")) from None
    con, snapshot = open_snapshot(path)
    try:
        with stderr.status("Querying the Atlas..."):
            table = run_query(con, query)
            hints = [] if table.num_rows else empty_result_hints(con, query)
    finally:
        con.close()
    stderr.print(snapshot.describe())
    write_table(table, out)
    if as_json:
        emit_json({"out": out, "frames": table.num_rows, "hints": hints})
        return
    stdout.print(f"{table.num_rows} frame(s) written to {out}.")
    for hint in hints:
        stdout.print(f"hint: {hint}")


@app.command("export")
@one_line_errors(AtlasError)
def export_cmd(
    out: Annotated[Path, typer.Option("--out", help="Folder to write the exports into.")],
    atlas: AtlasOption = None,
    as_json: JsonOption = False,
) -> None:
    """Write CSV/Parquet tables, GeoParquet, the styled GeoPackage, the Darwin Core archive and the map.

    Example:
      zenodo-atlas atlas export --atlas ./atlas.duckdb --out ./exports
    """
    validate.out_folder(out)
    path = _atlas_path(atlas)
    from zenodo_atlas.atlas.exports import export_all
    from zenodo_atlas.atlas.snapshot import open_snapshot

    con, snapshot = open_snapshot(path)
    try:
        with stderr.status("Exporting the Atlas..."):
            started = datetime.now()
            paths = export_all(con, out)
    finally:
        con.close()
    stderr.print(snapshot.describe())
    if as_json:
        emit_json({"out": out, "files": paths})
        return
    for path in paths:
        stdout.print(f"  {path}")
    stdout.print(f"{len(paths)} file(s) written in {(datetime.now() - started).total_seconds():.1f} s.")


@app.command("map")
@one_line_errors(AtlasError)
def map_cmd(
    out: Annotated[Path, typer.Option("--out", help="HTML file to write (opens offline, no CDN).")],
    png: Annotated[Path | None, typer.Option("--png", help="Also write a static PNG overview here.")] = None,
    force: Annotated[bool, typer.Option("--force", help="Replace existing output files.")] = False,
    atlas: AtlasOption = None,
    as_json: JsonOption = False,
) -> None:
    """Draw the Atlas: an interactive HTML map (footprints, tracks, frames, filters) and a PNG overview.

    Example:
      zenodo-atlas atlas map --atlas ./atlas.duckdb --out atlas.html --png atlas.png
    """
    atlas_file = _atlas_path(atlas)
    from zenodo_atlas.atlas.maps import write_map_html, write_overview_png
    from zenodo_atlas.atlas.snapshot import open_snapshot

    targets = [(out, ".html"), *([(png, ".png")] if png else [])]
    for path, suffix in targets:
        if path.suffix.lower() != suffix:
            raise fail(f"{path} must end in {suffix}; choose a name like atlas{suffix}.")
        if path.exists() and not force:
            raise fail(f"{path} exists; choose another name or add --force to replace it.")
    con, snapshot = open_snapshot(atlas_file)
    try:
        with stderr.status("Drawing the Atlas..."):
            for target, suffix in targets:
                partial = target.with_name(f".{target.name}.partial")
                (write_map_html if suffix == ".html" else write_overview_png)(con, partial)
                partial.replace(target)
    finally:
        con.close()
    stderr.print(snapshot.describe())
    if as_json:
        emit_json({"map": out, "png": png})
        return
    stdout.print(f"Map written to {out}" + (f", overview to {png}." if png else "."))


@app.command("annotations")
@one_line_errors(AtlasError)
def annotations_cmd(
    path: Annotated[Path, typer.Argument(help="Annotation CSV, or a folder of them.")],
    atlas: AtlasOption = None,
    as_json: JsonOption = False,
) -> None:
    """Import annotation files (YYYYMMDD_HHMMSS__author__dataset[_labels].csv); all or nothing.

    Example:
      zenodo-atlas atlas annotations ./annotations/20240501_101500__jdoe__lagoon_labels.csv
    """
    from zenodo_atlas.flows.annotations import import_annotations

    with stderr.status(f"Importing annotations from {path}..."):
        report = run_flow(import_annotations(str(path), atlas_path=str(atlas) if atlas else None))
    if as_json:
        emit_json(report)
        return
    stdout.print(
        f"{len(report.files_imported)} file(s) imported ({report.annotations_added} annotation(s)), "
        f"{len(report.files_skipped)} already present."
    )
