"""Tasks that find a session on Zenodo and prepare the draft a version is uploaded into.

Identity is the `urn:<session name>` alternate identifier. Drafts carry the same identifier from
their first request on (metadata is written before any byte is uploaded), so a re-run after a crash
finds the draft it left and resumes it instead of opening a second one.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel, ConfigDict

from zenodo_atlas.errors import ZenodoAtlasError
from zenodo_atlas.sessions.archive import archive_md5
from zenodo_atlas.sessions.extract import archive_destination
from zenodo_atlas.sessions.plan import PlannedArchive
from zenodo_atlas.sessions.platforms import PlatformRules
from zenodo_atlas.sessions.zenodo_record import declares_urn, label_of, session_urn, stacks_processed
from zenodo_atlas.zenodo.client import ZenodoClient
from zenodo_atlas.zenodo.models import Deposition, DepositionFile, DepositMetadata, Record


class DuplicateSessionError(ZenodoAtlasError, RuntimeError):
    """Several Zenodo concepts claim the same session identifier."""


class PublicationConflictError(ZenodoAtlasError, RuntimeError):
    """The requested version would contradict what is already on Zenodo."""


class SessionOnZenodo(BaseModel):
    """What Zenodo holds for one session: its published versions (oldest first) and any open draft."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    session_name: str
    concept_recid: str | None
    published: list[Record]
    draft: Deposition | None

    @property
    def urn(self) -> str:
        return session_urn(self.session_name)

    @property
    def latest(self) -> Record | None:
        return self.published[-1] if self.published else None

    def labels(self) -> list[str]:
        return [label_of(r) for r in self.published]


async def list_open_drafts(client: ZenodoClient) -> list[Deposition]:
    """Every open draft of the token's owner, all pages (list items carry no bucket link)."""
    found: list[Deposition] = []
    page = 1
    while True:
        batch = await client.list_depositions(status="draft", all_versions=True, size=100, page=page)
        found += [d for d in batch if d.is_draft]
        if len(batch) < 100:
            return found
        page += 1


async def _open_drafts(client: ZenodoClient, urn: str) -> list[Deposition]:
    """The open drafts declaring `urn`, re-read one by one to get their bucket."""
    hits = [d for d in await list_open_drafts(client) if declares_urn(d.metadata, urn)]
    return [await client.get_deposition(d.id) for d in hits]


@task(name="find-session-on-zenodo", cache_policy=NO_CACHE)
async def find_session(client: ZenodoClient, session_name: str, *, with_drafts: bool) -> SessionOnZenodo:
    urn = session_urn(session_name)
    records = await client.records_by_identifier(urn, all_versions=True)
    concepts = sorted({r.conceptrecid for r in records})
    drafts = await _open_drafts(client, urn) if with_drafts else []
    concepts_with_drafts = sorted(set(concepts) | {d.conceptrecid for d in drafts if d.conceptrecid})
    if len(concepts_with_drafts) > 1:
        raise DuplicateSessionError(
            f"{len(concepts_with_drafts)} Zenodo concepts ({', '.join(concepts_with_drafts)}) declare {urn}; "
            "a session must have exactly one. Merge or delete the extra records on Zenodo, then retry."
        )
    if len(drafts) > 1:
        ids = ", ".join(str(d.id) for d in drafts)
        raise DuplicateSessionError(
            f"several open drafts ({ids}) declare {urn}; discard all but one "
            "(zenodo-atlas upload --clean-drafts removes empty ones), then retry."
        )
    return SessionOnZenodo(
        session_name=session_name,
        concept_recid=concepts_with_drafts[0] if concepts_with_drafts else None,
        published=sorted(records, key=lambda r: r.id),
        draft=drafts[0] if drafts else None,
    )


@task(name="open-draft", cache_policy=NO_CACHE)
async def open_draft(
    client: ZenodoClient, state: SessionOnZenodo, metadata: DepositMetadata, *, allow_stacking: bool = False
) -> Deposition:
    """The draft to upload `metadata.version` into: resumed, created, or a new version of the latest."""
    logger = get_run_logger()
    label = metadata.version or ""
    if state.draft is not None:
        draft_label = state.draft.version_label or ""
        if draft_label not in ("", label):
            raise PublicationConflictError(
                f"an open draft ({state.draft.id}) of {state.session_name} is labelled {draft_label!r}, "
                f"not {label!r}: finish it by re-running that upload, or discard it on Zenodo, then retry."
            )
        logger.warning(
            "Resuming draft %s of %s left open by an earlier run", state.draft.id, state.session_name
        )
        draft = state.draft
    elif state.latest is None:
        draft = await client.create_deposition(metadata)
    else:
        if stacks_processed(label, state.labels()) and not allow_stacking:
            raise PublicationConflictError(
                f"{state.session_name} already has a PROCESSED_DATA version with other content; pass "
                "--allow-second-processed to stack another one."
            )
        draft = await client.new_version(state.latest.id)
    return await client.update_deposition(draft.id, metadata)


async def unchanged_version(state: SessionOnZenodo, label: str, archives: list[PlannedArchive]) -> Record | None:
    """The newest published `label` version when it already holds exactly `archives` (same md5s).

    Sizes are compared first, so only a likely match costs streaming the archives (off the loop).
    """
    record = next((r for r in reversed(state.published) if label_of(r) == label), None)
    if record is None or not archives:
        return None
    published = {a.name: record.file(a.name) for a in archives}
    if any(f is None or f.size != a.size for a, f in zip(archives, published.values(), strict=True)):
        return None
    for archive in archives:
        if await asyncio.to_thread(archive_md5, archive) != published[archive.name].md5:
            return None
    return record


def _top_folder(key: str) -> str:
    """The session folder an archive unpacks into (DCIM_p02.zip -> DCIM)."""
    return archive_destination(key, Path("/")).relative_to("/").parts[0] if key.endswith(".zip") else ""


class DraftPlan(BaseModel):
    """What to do with each file already on a draft before uploading."""

    keep_if_md5_matches: dict[str, DepositionFile]
    carried_over: list[str]
    delete: list[DepositionFile]


def plan_draft_files(
    files: list[DepositionFile],
    planned_sizes: dict[str, int],
    rules: PlatformRules | None,
    *,
    drop_all_carried: bool,
) -> DraftPlan:
    """Decide per file: candidate to keep (same key and size as planned), carried over, or delete.

    Restricted folders' archives are never carried into a new version: they would become open.
    """
    keep: dict[str, DepositionFile] = {}
    carried: list[str] = []
    delete: list[DepositionFile] = []
    for f in files:
        if f.filename in planned_sizes and f.filesize == planned_sizes[f.filename]:
            keep[f.filename] = f
        elif (
            f.filename in planned_sizes
            or drop_all_carried
            or (rules is not None and rules.is_restricted(_top_folder(f.filename)))
        ):
            delete.append(f)
        else:
            carried.append(f.filename)
    return DraftPlan(keep_if_md5_matches=keep, carried_over=carried, delete=delete)


@task(name="prune-draft", cache_policy=NO_CACHE)
async def delete_draft_files(client: ZenodoClient, draft: Deposition, files: list[DepositionFile]) -> None:
    for f in files:
        await client.delete_file(draft.id, f.id)
