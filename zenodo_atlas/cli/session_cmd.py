"""`zenodo-atlas session ...` commands: make a sample session, check sessions, show archive plans."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from zenodo_atlas.atlas.reference import reference_class_columns
from zenodo_atlas.cli import validate
from zenodo_atlas.cli.errors import fail, one_line_errors
from zenodo_atlas.cli.output import JsonOption, emit_json, print_table
from zenodo_atlas.sessions.errors import SessionError
from zenodo_atlas.sessions.layout import LayoutReport, check_sessions
from zenodo_atlas.sessions.links import LINK_RULE
from zenodo_atlas.sessions.plan import (
    DCIM_PART_BYTES,
    RECORD_BYTES,
    PlannedArchive,
    folders_from_letters,
    human_size,
    plan_processed,
    plan_raw,
)
from zenodo_atlas.sessions.session import Session
from zenodo_atlas.sessions.zenodo_record import PROCESSED_LABEL, RAW_LABEL

app = typer.Typer(help="Sample, check and plan sessions on disk.", no_args_is_help=True)
stdout = Console(highlight=False, soft_wrap=True)


@app.command()
@one_line_errors(SessionError)
def sample(
    out: Annotated[Path, typer.Argument(help="Folder to write the session folder into.")],
    name: Annotated[str | None, typer.Option(help="Session name (default: a valid name for the platform).")] = None,
    platform: Annotated[str, typer.Option(help="ASV, UAV, AUV, UVC, SCUBA, ...")] = "ASV",
    frames: Annotated[int, typer.Option(min=1, help="Number of frames.")] = 40,
    dcim_mb: Annotated[float, typer.Option(min=0, help="Approximate DCIM size in MB.")] = 2.0,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same files).")] = 0,
    as_json: JsonOption = False,
) -> None:
    """Write a small generated session under OUT and print its path.

    Example:
      zenodo-atlas session sample ./sessions --platform UAV --frames 100 --seed 3
    """
    from zenodo_atlas.sessions.sample import write_sample_session  # Pillow: only this command needs it

    path = write_sample_session(
        out, name=name, platform=platform, frames=frames, dcim_mb=dcim_mb, seed=seed
    )
    if as_json:
        emit_json({"path": path})
    else:
        typer.echo(str(path))


def _print_report(report: LayoutReport) -> None:
    status = "[green]ok[/]" if report.ok else "[bold red]errors[/]"
    stdout.print(f"[bold]{escape(report.name)}[/] ({report.platform or '?'}) — {status}")
    if report.platform:
        table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
        table.add_column("operation")
        table.add_column("status")
        for operation, missing in report.missing_for.items():
            table.add_row(operation, "ready" if not missing else "missing: " + ", ".join(missing))
        table.add_row("present", ", ".join(report.present_folders) or "-")
        stdout.print(table)
    for problem in report.problems:
        colour = "red" if problem.severity == "error" else "yellow"
        stdout.print(f"  [{colour}]{problem.severity}[/] {escape(problem.path)}: {escape(problem.message)}")


@app.command()
@one_line_errors(SessionError)
def check(
    paths: Annotated[list[Path], typer.Argument(help="Sessions, or folders of sessions.")],
    as_json: JsonOption = False,
) -> None:
    """Report what each session holds, what each operation lacks, and every problem found.

    Example:
      zenodo-atlas session check ./sessions/20231021_REU-ST-LEU_ASV-1_01
    """
    reports = check_sessions(paths, reference_class_columns())
    failed = [r for r in reports if not r.ok]
    if as_json:
        emit_json({"sessions": reports, "links": LINK_RULE})
        if failed:
            raise typer.Exit(1)
        return
    for report in reports:
        _print_report(report)
    stdout.print(f"note: {LINK_RULE}.")
    if failed:
        first = failed[0].errors[0]
        raise fail(
            f"{len(failed)} of {len(reports)} session(s) have errors; first: "
            f"{failed[0].name}: {first.path}: {first.message}"
        )
    stdout.print(f"{len(reports)} session(s) checked, no errors.")


def _archive_table(title: str, archives: list[PlannedArchive]) -> Table:
    table = Table(title=title, title_justify="left", header_style="bold")
    table.add_column("file", overflow="fold")
    table.add_column("from", overflow="fold")
    table.add_column("members", justify="right")
    table.add_column("size", justify="right")
    for archive in archives:
        table.add_row(
            archive.name, archive.folder or "(session root)",
            str(len(archive.members)) if archive.zipped else "-", human_size(archive.size),
        )
    table.add_row("total", "", "", human_size(sum(a.size for a in archives)), style="bold")
    return table


@app.command()
@one_line_errors(SessionError)
def plan(
    path: Annotated[Path, typer.Argument(help="The session folder.")],
    raw: Annotated[bool, typer.Option("--raw", help="Plan the RAW_DATA version(s).")] = False,
    processed: Annotated[
        str | None, typer.Option(help="Plan PROCESSED_DATA from folder letters, e.g. fmgi.")
    ] = None,
    all_frames: Annotated[bool, typer.Option(help="Frames archive with every frame, not only useful ones.")]
    = False,
    dcim_part_gb: Annotated[float, typer.Option(min=1e-6, help="Largest DCIM part, in GB.")]
    = DCIM_PART_BYTES / 1e9,
    record_gb: Annotated[float, typer.Option(min=1e-6, help="Largest Zenodo record, in GB.")]
    = RECORD_BYTES / 1e9,
    as_json: JsonOption = False,
) -> None:
    """Print the archives a session would be published as, with their exact sizes.

    Example:
      zenodo-atlas session plan ./sessions/20231021_REU-ST-LEU_ASV-1_01 --raw --processed fmgbi
    """
    if not raw and processed is None:
        raise fail("nothing to plan: give --raw and/or --processed LETTERS (e.g. --processed fmgi)", code=2)
    validate.letters(processed, "processed")
    session = Session.open(path)
    versions = plan_raw(session, dcim_part_bytes=dcim_part_gb * 1e9, record_bytes=record_gb * 1e9) if raw else []
    processed_plan = plan_processed(
        session, folders_from_letters(processed, "processed"), all_frames=all_frames, record_bytes=record_gb * 1e9,
    ) if processed is not None else None
    if as_json:
        def listed(archives: list[PlannedArchive]) -> list[dict]:
            return [{"file": a.name, "from": a.folder, "members": len(a.members), "zipped": a.zipped,
                     "size": a.size} for a in archives]

        emit_json({"raw_versions": [listed(v) for v in versions],
                   "processed": listed(processed_plan) if processed_plan is not None else None})
        return
    for index, archives in enumerate(versions, start=1):
        print_table(_archive_table(f"{RAW_LABEL} version {index} of {len(versions)}", archives), stdout)
    if processed_plan is not None:
        print_table(_archive_table(PROCESSED_LABEL, processed_plan), stdout)
