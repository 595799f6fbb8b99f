"""Commands that run the Atlas flows against Zenodo: register, publish, auto-update, and the demo."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from zenodo_atlas.cli import validate
from zenodo_atlas.cli.errors import fail, run_flow
from zenodo_atlas.cli.output import JsonOption, emit_json, print_table, result_table
from zenodo_atlas.cli.progress import transfer_bars

console = Console(highlight=False, soft_wrap=True)

AtlasOption = Annotated[
    Path | None, typer.Option("--atlas", help="Atlas DuckDB file (default: ATLAS_ATLAS_PATH or settings).")
]


def register(
    sessions: Annotated[list[str], typer.Argument(help="Session folders, session names or record DOIs.")],
    atlas: AtlasOption = None,
    all_frames: Annotated[bool, typer.Option("--all-frames", help="Every frame, not only the useful ones.")]
    = False,
    as_json: JsonOption = False,
) -> None:
    """Register published sessions in the Atlas, each in one transaction (re-running updates them).

    A local folder is matched to its Zenodo versions by the md5 of its METADATA and IA archives; a
    name or DOI downloads only METADATA.zip and PROCESSED_DATA_IA.zip.

    Examples:
      zenodo-atlas atlas register /data/20231021_REU-ST-LEU_ASV-1_01
      zenodo-atlas atlas register 20231021_REU-ST-LEU_ASV-1_01 --atlas ./atlas.duckdb
    """
    validate.atlas_file(atlas, validate.settings())
    validate.register_items(sessions)
    from zenodo_atlas.flows.register import register_sessions

    with transfer_bars(not as_json):
        reports = run_flow(register_sessions(sessions, atlas_path=str(atlas) if atlas else None,
                                             all_frames=all_frames))
    if as_json:
        emit_json(reports)
        return
    table = result_table("session", "new versions", "new frames", "new predictions", "warnings")
    for r in reports:
        table.add_row(r.session, str(r.versions_added), str(r.frames_added), str(r.predictions_added),
                      str(len(r.warnings) + len(r.unknown_columns)))
    print_table(table, console)
    for r in reports:
        if r.unknown_columns:
            console.print(f"{r.session}: score column(s) matching no class of the model were ignored: "
                          f"{', '.join(r.unknown_columns)}")


def migrate_check(
    community: Annotated[list[str] | None, typer.Option(
        "--community", help="Community to check (repeatable; default: ATLAS_COMMUNITIES).")] = None,
    mine: Annotated[bool, typer.Option("--mine", help="Check the token's own published records instead.")]
    = False,
) -> None:
    """Check, before switching from zenodo-tools, that every published record can be downloaded and
    registered; one line per record and a summary. Writes nothing on Zenodo or in the Atlas.

    Examples:
      zenodo-atlas migrate-check --community seatizen-data
      zenodo-atlas migrate-check --mine
    """
    from zenodo_atlas.flows.migrate_check import migrate_check as check

    result = run_flow(check(communities=community or None, mine=mine))
    for record in result.records:
        console.print(record.line(), markup=False)
    console.print(result.summary(), markup=False)
    if not all(r.can_download and r.can_register for r in result.records):
        raise typer.Exit(1)


def publish(
    atlas: AtlasOption = None,
    force: Annotated[bool, typer.Option("--force", help="Publish even if the content did not change.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Publish the Atlas (database + exports) as a new Zenodo version, only if its content changed.

    Example:
      zenodo-atlas atlas publish --atlas ./atlas.duckdb
    """
    config = validate.settings()
    path = validate.atlas_file(atlas, config)
    if not path.is_file():
        raise fail(f"no Atlas at {path}; build one with `zenodo-atlas atlas register ... --atlas {path}`")
    from zenodo_atlas.flows.publish_atlas import publish_atlas

    with transfer_bars(not as_json):
        result = run_flow(publish_atlas(atlas_path=str(atlas) if atlas else None, force=force))
    if as_json:
        emit_json(result)
    elif result.published:
        console.print(f"Published Atlas {result.version}: https://doi.org/{result.doi}")
    else:
        console.print(f"Atlas unchanged since {result.version}: nothing published.")


def auto_update(
    atlas: AtlasOption = None,
    community: Annotated[list[str] | None, typer.Option(
        "--community", help="Community to harvest (repeatable; default ATLAS_COMMUNITIES)."
    )] = None,
    no_publish: Annotated[bool, typer.Option("--no-publish", help="Register only; do not republish.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Harvest sessions published or updated on Zenodo since the last run and register them.

    Example:
      zenodo-atlas auto-update --community seatizen-data
    """
    validate.atlas_file(atlas, validate.settings())
    from zenodo_atlas.flows.auto_update import auto_update as auto_update_flow

    summary = run_flow(auto_update_flow(
        communities=community, atlas_path=str(atlas) if atlas else None, publish=not no_publish
    ))
    if as_json:
        emit_json(summary)
        if summary.count("failed"):
            raise typer.Exit(1)
        return
    table = result_table("session", "status", "detail")
    for outcome in summary.outcomes:
        table.add_row(outcome.session, outcome.status, outcome.detail)
    print_table(table, console)
    publication = summary.publication
    republished = "not republished"
    if publication and publication.published:
        republished = f"republished as {publication.version}"
    console.print(f"Watermark {summary.watermark_before or '-'} -> {summary.watermark_after}; Atlas {republished}.")
    if summary.count("failed"):
        raise fail(f"{summary.count('failed')} session(s) failed; they will be retried on the next run")


def demo(
    out: Annotated[Path, typer.Option("--out", help="Fresh folder for everything the demo writes.")]
    = Path("demo-output"),
    frames: Annotated[int, typer.Option("--frames", min=1, help="Frames per sample session.")] = 40,
    as_json: JsonOption = False,
) -> None:
    """Run the whole product end to end against an embedded local Zenodo (no network, no token needed).

    Writes two sample sessions, uploads them raw + processed, registers them in a fresh Atlas, imports
    annotations, exports, publishes the Atlas, runs auto-update, downloads a session back and checks it.

    Example:
      zenodo-atlas demo --out ./demo-output
    """
    from zenodo_atlas.flows.demo import demo as demo_flow

    with transfer_bars(not as_json):
        summary = run_flow(demo_flow(str(out), frames=frames))
    if as_json:
        emit_json(summary)
        return
    table = result_table("session", "version", "DOI", "files", "MB", title="Published on the local Zenodo")
    for row in summary.sessions:
        table.add_row(row["session"], row["version"], row["doi"] or "", str(row["files"]), str(row["mb"]))
    print_table(table, console)
    console.print(f"Atlas: {summary.atlas_path} ({', '.join(f'{v} {k}' for k, v in summary.atlas.items())})")
    console.print(f"Atlas record: {summary.atlas_record or 'not published'}")
    console.print(f"Auto-update: {summary.auto_update}")
    console.print(f"Exports: {Path(summary.exports[0]).parent if summary.exports else '-'}")
    for picture in (p for p in summary.exports if p.endswith((".html", ".png"))):
        console.print(f"Map: {picture}")
    console.print(f"Downloaded back: {summary.downloaded} ({summary.verified_files} files identical)")
    console.print(f"Done in {summary.seconds} s; everything is under {summary.out_dir}")
