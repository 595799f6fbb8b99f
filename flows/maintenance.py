"""Maintenance flows: rewrite published metadata, discard empty leftover drafts."""

from __future__ import annotations

from prefect import flow, get_run_logger

from zenodo_atlas.sessions.session import Session
from zenodo_atlas.sessions.versions import load_metadata_inputs
from zenodo_atlas.sessions.zenodo_record import PROCESSED_LABEL, RAW_LABEL, label_of
from zenodo_atlas.settings import current_settings
from zenodo_atlas.tasks.connections import open_client
from zenodo_atlas.tasks.deposit import discard_draft, find_session, list_open_drafts
from zenodo_atlas.tasks.metadata import rewrite_metadata


@flow(name="update-metadata", flow_run_name="update metadata of {session_path}")
async def update_metadata(
    session_path: str, metadata_template: str | None = None, last_only: bool = False
) -> list[int]:
    """Rebuild each published version's metadata from the template (edit -> PUT -> publish).

    RAW_DATA versions get raw metadata, PROCESSED_DATA versions processed metadata; with `last_only`
    only the newest version is touched.
    """
    from zenodo_atlas.sessions.metadata import build_processed_metadata, build_raw_metadata

    settings = current_settings()
    session = Session.open(session_path)
    template, people = load_metadata_inputs(metadata_template or settings.template_path())
    async with await open_client(settings, token_required=True) as client:
        state = await find_session(client, session.name.raw, with_drafts=True)
        if state.draft is not None:
            raise RuntimeError(
                f"{session.name.raw} has an open draft ({state.draft.id}); finish or discard it before "
                "rewriting published metadata"
            )
        if not state.published:
            raise LookupError(f"{session.name.raw} has no published version to update")
        targets = state.published[-1:] if last_only else state.published
        updated: list[int] = []
        for record in targets:
            label = label_of(record)
            builder = {RAW_LABEL: build_raw_metadata, PROCESSED_LABEL: build_processed_metadata}.get(label)
            if builder is None:
                get_run_logger().warning("record %s has version %r: left as it is", record.id, label)
                continue
            await rewrite_metadata(client, record.id, builder(session, template, people))
            updated.append(record.id)
    return updated


@flow(name="clean-drafts")
async def clean_drafts() -> list[int]:
    """Discard the caller's drafts that hold no file (left by interrupted runs); report what went."""
    settings = current_settings()
    logger = get_run_logger()
    discarded: list[int] = []
    async with await open_client(settings, token_required=True) as client:
        for draft in await list_open_drafts(client):
            if not await client.list_files(draft.id):
                await discard_draft(client, draft)
                logger.info("Discarded empty draft %s (%s)", draft.id, draft.title or "untitled")
                discarded.append(draft.id)
    return discarded
