"""`zenodo-atlas upload` and `zenodo-atlas download`: run the transfer flows with live progress."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from zenodo_atlas.cli.errors import fail, run_flow
from zenodo_atlas.cli.progress import transfer_bars

console = Console()


def upload(
    sessions: Annotated[list[Path] | None, typer.Argument(help="Session folders, or folders of sessions.")] = None,
    raw: Annotated[bool, typer.Option("--raw", help="Publish the RAW_DATA version(s).")] = False,
    processed: Annotated[str | None, typer.Option(
        "--processed", help="Publish PROCESSED_DATA with these folders: letters f,m,g,b,i,p,c (e.g. 'fmgbi')."
    )] = None,
    custom: Annotated[str | None, typer.Option("--custom", help="Publish a custom version of these folders.")] = None,
    metadata: Annotated[Path | None, typer.Option("--metadata", help="Metadata template (YAML or JSON).")] = None,
    csv_file: Annotated[Path | None, typer.Option("--csv", help="CSV of root_folder,session_name.")] = None,
    update_metadata: Annotated[bool, typer.Option(
        "--update-metadata", help="Rewrite the metadata of published versions instead of uploading."
    )] = False,
    last_only: Annotated[bool, typer.Option("--last-only", help="With --update-metadata: only the last.")] = False,
    clean_drafts: Annotated[bool, typer.Option(
        "--clean-drafts", help="Discard your empty leftover drafts on Zenodo, then exit."
    )] = False,
    allow_second_processed: Annotated[bool, typer.Option(
        "--allow-second-processed", help="Stack a PROCESSED_DATA version on top of an existing one."
    )] = False,
    iso19115: Annotated[bool, typer.Option(
        "--iso19115", help="Write METADATA/<session>_iso_19115.xml (ISO 19139) before archiving processed data."
    )] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Plan archives and metadata; send nothing.")] = False,
) -> None:
    """Publish sessions on Zenodo: archives stream and upload in parallel; a re-run resumes a failed one.

    Examples:
      zenodo-atlas upload /data/20231021_REU-ST-LEU_ASV-1_01 --raw --processed fmgbi
      zenodo-atlas upload /data/sessions --processed i --dry-run
      zenodo-atlas upload /data/20231021_REU-ST-LEU_ASV-1_01 --update-metadata --last-only
    """
    from zenodo_atlas.flows.maintenance import clean_drafts as clean_drafts_flow
    from zenodo_atlas.flows.maintenance import update_metadata as update_metadata_flow
    from zenodo_atlas.flows.upload import upload_sessions

    paths = [str(p) for p in sessions or []]
    if clean_drafts:
        discarded = run_flow(clean_drafts_flow())
        console.print(f"Discarded {len(discarded)} empty draft(s): {', '.join(map(str, discarded)) or '-'}")
        return
    if not paths and not csv_file:
        raise fail("give at least one session folder (or --csv FILE)", code=2)
    template = str(metadata) if metadata else None
    if update_metadata:
        for path in paths:
            updated = run_flow(update_metadata_flow(path, metadata_template=template, last_only=last_only))
            console.print(f"{Path(path).name}: metadata rewritten on record(s) {', '.join(map(str, updated))}")
        return
    with transfer_bars(not dry_run):
        batch = run_flow(upload_sessions(
            paths, csv_file=str(csv_file) if csv_file else None, raw=raw, processed=processed, custom=custom,
            metadata_template=template, dry_run=dry_run, allow_second_processed=allow_second_processed,
            iso19115=iso19115,
        ))
    table = Table("session", "version", "DOI", "record", "archives")
    for summary in batch.succeeded:
        if summary.dry_run:
            for row in summary.planned:
                table.add_row(summary.session, row["version"], "(dry run)", "", f"{row['archive']} {row['size']:,} B")
        for version in summary.versions:
            table.add_row(summary.session, version.label, version.doi or "", version.url or "",
                          str(len(version.archives)))
    console.print(table)


def download(
    out: Annotated[Path, typer.Option("--out", help="Folder the sessions are rebuilt in.")],
    name: Annotated[str | None, typer.Option("--name", help="Session name, e.g. 20231021_REU-ST-LEU_ASV-1_01.")] = None,
    doi: Annotated[str | None, typer.Option("--doi", help="Concept DOI (all versions) or version DOI (exactly it).")]
    = None,
    csv_file: Annotated[Path | None, typer.Option("--csv", help="CSV with session_name and/or doi columns.")] = None,
    frames: Annotated[Path | None, typer.Option(
        "--frames", help="CSV of version_doi,relative_file_path: fetch only these frames."
    )] = None,
    raw: Annotated[bool, typer.Option("--raw", help="Raw data versions.")] = False,
    processed: Annotated[bool, typer.Option("--processed", help="The latest processed version.")] = False,
) -> None:
    """Download sessions and unpack them into their folder layout (md5-verified, resumable).

    Without --raw/--processed both are fetched. Open records need no token; restricted files need the
    owner's ZENODO_TOKEN.

    Examples:
      zenodo-atlas download --name 20231021_REU-ST-LEU_ASV-1_01 --out ./sessions --processed
      zenodo-atlas download --doi 10.5281/zenodo.1234567 --out ./sessions
    """
    from zenodo_atlas.flows.download import download_frames, download_sessions

    if sum(x is not None for x in (name, doi, csv_file, frames)) != 1:
        raise fail("give exactly one of --name, --doi, --csv or --frames", code=2)
    if frames:
        with transfer_bars():
            extracted = run_flow(download_frames(str(frames), str(out)))
        console.print(f"Fetched {len(extracted)} archive(s) of frames into {out}")
        return
    both = not (raw or processed)
    with transfer_bars():
        summaries = run_flow(download_sessions(
            str(out), names=[name] if name else None, dois=[doi] if doi else None,
            csv_file=str(csv_file) if csv_file else None, raw=raw or both, processed=processed or both,
        ))
    for summary in summaries:
        console.print(f"{summary.session}: {len(summary.files)} file(s) into {summary.folder}")
    skipped = [m for m in (s.skipped_message() for s in summaries) if m]
    if skipped:  # an incomplete session is not a success: scripts must see it
        raise fail("; ".join(skipped))

