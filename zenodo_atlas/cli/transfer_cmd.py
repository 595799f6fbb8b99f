"""`zenodo-atlas upload` and `zenodo-atlas download`: run the transfer flows with live progress."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from zenodo_atlas.cli import validate
from zenodo_atlas.cli.errors import fail, run_flow
from zenodo_atlas.cli.output import JsonOption, emit_json, print_table, result_table
from zenodo_atlas.cli.progress import transfer_bars
from zenodo_atlas.settings import Settings
from zenodo_atlas.zenodo.errors import MissingTokenError

console = Console(highlight=False, soft_wrap=True)


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
    as_json: JsonOption = False,
) -> None:
    """Publish sessions on Zenodo: archives stream and upload in parallel; a re-run resumes a failed one.

    Everything is checked before the first request: session names, folder letters, flags, the
    template and people files, --csv columns and settings. A re-run of a finished upload sends nothing.

    Examples:
      zenodo-atlas upload /data/20231021_REU-ST-LEU_ASV-1_01 --raw --processed fmgbi
      zenodo-atlas upload /data/sessions --processed i --dry-run
      zenodo-atlas upload /data/20231021_REU-ST-LEU_ASV-1_01 --update-metadata --last-only
    """
    config = validate.settings()
    if clean_drafts:
        _require_token(config)
        from zenodo_atlas.flows.maintenance import clean_drafts as clean_drafts_flow

        discarded = run_flow(clean_drafts_flow())
        if as_json:
            emit_json({"discarded": discarded})
        else:
            console.print(f"Discarded {len(discarded)} empty draft(s): {', '.join(map(str, discarded)) or '-'}")
        return
    if not sessions and not csv_file:
        raise fail("give at least one session folder (or --csv FILE)", code=validate.USAGE)
    if not (raw or processed or custom or update_metadata):
        raise fail("nothing to upload: give --raw, --processed LETTERS (e.g. fmgbi) or --custom LETTERS",
                   code=validate.USAGE)
    if last_only and not update_metadata:
        raise fail("--last-only only applies with --update-metadata", code=validate.USAGE)
    validate.letters(processed, "processed")
    validate.letters(custom, "custom")
    validate.template(metadata, config)
    found = validate.upload_sessions(
        sessions or [], csv_file, raw=raw, processed=processed, needs_ready=not update_metadata
    )
    if not dry_run:
        _require_token(config)
    template = str(metadata) if metadata else None
    if update_metadata:
        from zenodo_atlas.flows.maintenance import update_metadata as update_metadata_flow

        rewritten = {
            s.name.raw: run_flow(update_metadata_flow(str(s.path), metadata_template=template, last_only=last_only))
            for s in found
        }
        if as_json:
            emit_json({"updated": rewritten})
        for name, updated in rewritten.items() if not as_json else ():
            console.print(f"{name}: metadata rewritten on record(s) {', '.join(map(str, updated))}")
        return
    from zenodo_atlas.flows.upload import BatchSummary, upload_session, upload_sessions

    paths = [str(s.path) for s in found]
    with transfer_bars(not dry_run and not as_json):
        if len(paths) == 1:  # its own flow run, without a batch run around it (~0.15 s of a small upload)
            batch = BatchSummary(succeeded=[run_flow(upload_session(
                paths[0], raw=raw, processed=processed, custom=custom, metadata_template=template,
                dry_run=dry_run, allow_second_processed=allow_second_processed, iso19115=iso19115,
            ))])
        else:
            batch = run_flow(upload_sessions(
                paths, raw=raw, processed=processed, custom=custom, metadata_template=template,
                dry_run=dry_run, allow_second_processed=allow_second_processed, iso19115=iso19115,
            ))
    if as_json:
        emit_json(batch)
        return
    table = result_table("session", "version", "DOI", "record", "archives")
    for summary in batch.succeeded:
        if summary.dry_run:
            for row in summary.planned:
                table.add_row(summary.session, row["version"], "(dry run)", "", f"{row['archive']} {row['size']:,} B")
        for version in summary.versions:
            table.add_row(summary.session, version.label, version.doi or "", version.url or "",
                          str(len(version.archives)))
    if table.rows:
        print_table(table, console)
    for summary in batch.succeeded:
        if summary.unchanged and not summary.versions and not summary.dry_run:
            console.print(f"{summary.session}: nothing to do, already on Zenodo with the same content "
                          f"({', '.join(summary.unchanged)})")


def _require_token(config: Settings) -> None:
    try:
        config.require_token()
    except MissingTokenError as exc:
        raise fail(str(exc)) from None


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
    overwrite: Annotated[bool, typer.Option(
        "--overwrite", help="Replace local files that differ from the record (default: keep them and say so)."
    )] = False,
    as_json: JsonOption = False,
) -> None:
    """Download sessions and unpack them into their folder layout (md5-verified, resumable).

    Without --raw/--processed both are fetched. Open records need no token; restricted files need the
    owner's ZENODO_TOKEN. Local files that differ from the record (your edits) are kept unless --overwrite.

    Examples:
      zenodo-atlas download --name 20231021_REU-ST-LEU_ASV-1_01 --out ./sessions --processed
      zenodo-atlas download --doi 10.5281/zenodo.1234567 --out ./sessions
    """
    if sum(x is not None for x in (name, doi, csv_file, frames)) != 1:
        raise fail("give exactly one of --name, --doi, --csv or --frames", code=validate.USAGE)
    validate.settings()
    validate.out_folder(out)
    if name is not None:
        validate.session_name(name)
    if doi is not None:
        validate.doi(doi)
    validate.listing(csv_file, frames)
    from zenodo_atlas.flows.download import download_frames, download_sessions

    if frames:
        with transfer_bars(not as_json):
            extracted = run_flow(download_frames(str(frames), str(out)))
        if as_json:
            emit_json({"out": out, "archives": extracted})
        else:
            console.print(f"Fetched {len(extracted)} archive(s) of frames into {out}")
        return
    both = not (raw or processed)
    with transfer_bars(not as_json):
        summaries = run_flow(download_sessions(
            str(out), names=[name] if name else None, dois=[doi] if doi else None,
            csv_file=str(csv_file) if csv_file else None, raw=raw or both, processed=processed or both,
            overwrite=overwrite,
        ))
    if as_json:
        emit_json(summaries)
    for summary in summaries if not as_json else []:
        console.print(f"{summary.session}: {len(summary.files)} file(s) into {summary.folder}")
        if summary.kept:
            console.print(
                f"  kept {len(summary.kept)} local file(s) that differ from the record: {', '.join(summary.kept)} "
                "(--overwrite replaces them)"
            )
    skipped = [m for m in (s.skipped_message() for s in summaries) if m]
    if skipped:  # an incomplete session is not a success: scripts must see it
        raise fail("; ".join(skipped))

