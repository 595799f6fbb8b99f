"""Tasks that find a session on Zenodo and prepare the draft a version is uploaded into.

Identity is the `urn:<session name>` alternate identifier. Drafts carry the same identifier from
their first request on (metadata is written before any byte is uploaded), so a re-run after a crash
finds the draft it left and resumes it instead of opening a second one.

zenodo.org's search lags writes by seconds (InvenioRDM indexes without refresh), so a search hit is
re-read by id before it is trusted, the concept's latest version is read by id (the client adds it
to a search that missed it), an empty answer is only believed once the client's `search_lag` has
passed, and a flow carries the state it just wrote forward (`SessionOnZenodo.after_publish`).
"""

from __future__ import annotations

import asyncio

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel, ConfigDict

from zenodo_atlas.errors import ZenodoAtlasError
from zenodo_atlas.sessions.archive import archive_md5
from zenodo_atlas.sessions.plan import PlannedArchive
from zenodo_atlas.sessions.zenodo_record import declares_urn, label_of, session_urn, stacks_processed
from zenodo_atlas.zenodo.client import ZenodoClient
from zenodo_atlas.zenodo.errors import AuthenticationError, DraftExistsError, NotFoundError
from zenodo_atlas.zenodo.models import Deposition, DepositionFile, DepositMetadata, Record


class DuplicateSessionError(ZenodoAtlasError, RuntimeError):
    """Several Zenodo concepts claim the same session identifier."""


class PublicationConflictError(ZenodoAtlasError, RuntimeError):
    """The requested version would contradict what is already on Zenodo."""


class PublishedByAnotherRunError(PublicationConflictError):
    """The draft this run was filling was published meanwhile by another run (a double-click race)."""


async def published_meanwhile(client: ZenodoClient, deposition_id: int) -> Deposition | None:
    """The deposition, if it was published since this run opened it; None if it is still a draft or gone.

    A refused write to a draft (403: its files or metadata are frozen, 404: already published) is
    otherwise reported as a token problem, while the cause is a concurrent run that finished first.
    """
    try:
        current = await client.get_deposition(deposition_id)
    except NotFoundError:
        return None
    return None if current.is_draft else current


class SessionOnZenodo(BaseModel):
    """What Zenodo holds for one session: its published versions (oldest first) and any open draft."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    session_name: str
    concept_recid: str | None
    published: list[Record]
    draft: Deposition | None
    search_settled: bool = True
    """False when the search found nothing and its lag was not waited out: the draft of the first
    version must pass `confirm_first_claim` before it is published."""

    @property
    def urn(self) -> str:
        return session_urn(self.session_name)

    @property
    def latest(self) -> Record | None:
        return self.published[-1] if self.published else None

    def labels(self) -> list[str]:
        return [label_of(r) for r in self.published]

    def after_publish(self, record: Record) -> SessionOnZenodo:
        """The state once `record` (read by id) was published from this state's draft or latest."""
        return self.model_copy(update={
            "concept_recid": record.conceptrecid, "draft": None, "search_settled": True,
            "published": sorted([*(r for r in self.published if r.id != record.id), record], key=lambda r: r.id),
        })


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


async def _open_drafts(client: ZenodoClient, urn: str) -> tuple[list[Deposition], list[Record]]:
    """The open drafts declaring `urn`, re-read one by one (for their bucket, and because the list
    is a lagging search): a listed draft already published comes back as a record instead."""
    drafts: list[Deposition] = []
    published: list[Record] = []
    for hit in [d for d in await list_open_drafts(client) if declares_urn(d.metadata, urn)]:
        try:
            current = await client.get_deposition(hit.id)
        except NotFoundError:  # discarded since it was indexed
            continue
        if current.is_draft:
            drafts.append(current)
        elif current.state == "done":
            published.append(await client.get_record(current.id))
    return drafts, published


def _versions_before(record: Record) -> int:
    """How many versions of its concept precede `record`: Zenodo-JSON `metadata.relations.version[0].index`,
    0-based (shared/reference/zenodo-api.md; zenodo-rdm legacy serializer)."""
    relations = record.metadata.get("relations", {}).get("version") or [{}]
    index = relations[0].get("index")
    return index if isinstance(index, int) else 0


async def _search(client: ZenodoClient, urn: str, with_drafts: bool) -> tuple[list[Record], list[Deposition], bool]:
    """What Zenodo holds for `urn`, and whether the search has visibly caught up with it.

    The concept's latest version is read by id even when only the (lagging) draft list named the
    concept, and a latest version whose index says more versions precede it than were found means
    the search has not caught up yet: planning on it would re-publish a version that exists.
    """
    searched = await client.records_by_identifier(urn, all_versions=True)
    drafts, late = await _open_drafts(client, urn) if with_drafts else ([], [])
    records = searched + [r for r in late if r.id not in {s.id for s in searched}]
    concepts = {r.conceptrecid for r in records} | {d.conceptrecid for d in drafts if d.conceptrecid}
    if not searched and len(concepts) == 1:
        try:
            latest = await client.latest_version(records[-1].id if records else concepts.pop())
        except NotFoundError:  # a first draft: its concept has no published version yet
            latest = None
        if latest is not None and urn in latest.alternate_identifiers and latest.id not in {r.id for r in records}:
            records.append(latest)
    newest = max(records, key=lambda r: r.id, default=None)
    missing = newest is not None and len(records) <= _versions_before(newest)
    caught_up = bool(records or drafts) and not missing
    return records, drafts, caught_up


@task(name="find-session-on-zenodo", cache_policy=NO_CACHE)
async def find_session(
    client: ZenodoClient, session_name: str, *, with_drafts: bool, settle_empty: bool = True
) -> SessionOnZenodo:
    """What Zenodo holds for the session. Fewer versions than the latest's index are waited out (a plan
    needs them all); so is an empty answer, unless `settle_empty` is False: an upload then overlaps
    that wait with its transfer and confirms before publishing (`confirm_first_claim`)."""
    urn = session_urn(session_name)
    last: list[tuple[list[Record], list[Deposition], bool]] = []

    async def look() -> tuple[list[Record], list[Deposition], bool] | None:
        last[:] = [await _search(client, urn, with_drafts)]
        return last[0] if last[0][2] else None

    if settle_empty or (await look() is None and (last[0][0] or last[0][1])):
        await client.until_indexed(look)
    records, drafts, _ = last[0]
    concepts = sorted({r.conceptrecid for r in records})
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
        search_settled=settle_empty or bool(records or drafts),
    )


class ClaimedMeanwhileError(DuplicateSessionError):
    """Another concept or an older draft declares the session that the search showed as new."""


@task(name="confirm-first-claim", task_run_name="confirm-first-claim-{draft.id}", cache_policy=NO_CACHE)
async def confirm_first_claim(client: ZenodoClient, state: SessionOnZenodo, draft: Deposition, created: float) -> None:
    """Publish the first version of a session the search showed as new only if it is the session's first claim.

    Once the search lag has passed since this draft was created (`created`, event-loop time), any concept
    or older draft declaring the session is visible. The oldest claim wins: two runs racing on a new
    session make one concept. When this draft is not the first, it is deleted and the run fails naming
    the winner; a re-run then adds its version there.
    """
    wait = created + client.search_lag - asyncio.get_running_loop().time()
    if wait > 0:
        get_run_logger().info("%s is new to Zenodo's search: confirming in %.1f s that no other run claimed it",
                              state.session_name, wait)
        await asyncio.sleep(wait)
    records, drafts, _ = await _search(client, state.urn, with_drafts=True)
    others = sorted({r.conceptrecid for r in records if r.conceptrecid != draft.conceptrecid})
    older = [d.id for d in drafts if d.id < draft.id]
    if not others and not older:
        return
    await client.delete_deposition(draft.id)
    winner = f"concept {others[0]}" if others else f"draft {older[0]}"
    raise ClaimedMeanwhileError(
        f"{state.session_name} was claimed meanwhile by {winner} (another run or upload); this run deleted its "
        "own draft and published nothing. Once that upload has finished, run this one again: it adds its version there."
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
        try:
            draft = await client.new_version(state.latest.id)
        except AuthenticationError as exc:
            if exc.status != 403:
                raise
            # The concept is public; only its owner may version it. (Another account's never-published
            # draft cannot be caught this way: Zenodo shows drafts to their owner only; see README Limits.)
            raise PublicationConflictError(
                f"{state.session_name} is published on Zenodo as {state.latest.conceptdoi or state.concept_recid} "
                "by another Zenodo account, which alone can add versions to it: upload with that account's "
                "token, or ask its owner to."
            ) from None
        except DraftExistsError:
            # A draft with files is open though the (lagging) search did not list it: the RDM
            # get-or-create returns it without searching; resume it like a listed one.
            draft = await client.version_draft(state.latest.id)
            if (draft.version_label or "") not in ("", label):
                raise PublicationConflictError(
                    f"an open draft ({draft.id}) of {state.session_name} is labelled {draft.version_label!r}, "
                    f"not {label!r}: finish it by re-running that upload, or discard it on Zenodo, then retry."
                ) from None
            logger.warning("Resuming draft %s of %s left open by an earlier run", draft.id, state.session_name)
    return await client.update_deposition(draft.id, metadata)


async def unchanged_version(state: SessionOnZenodo, label: str, archives: list[PlannedArchive]) -> Record | None:
    """The newest published `label` version when it already holds exactly `archives` (same md5s).

    Sizes are compared first, so only a likely match costs streaming the archives (off the loop).
    """
    record = next((r for r in reversed(state.published) if label_of(r) == label), None)
    if record is None or not archives:
        return None
    published = [(a, record.file(a.name)) for a in archives]
    if any(f is None or f.size != a.size for a, f in published):
        return None
    for archive, f in published:
        if f is None or await asyncio.to_thread(archive_md5, archive) != f.md5:
            return None
    return record


@task(name="prune-draft", cache_policy=NO_CACHE)
async def delete_draft_files(client: ZenodoClient, draft: Deposition, files: list[DepositionFile]) -> None:
    for f in files:
        await client.delete_file(draft.id, f.id)


@task(name="publish-draft", task_run_name="publish-{draft_id}", cache_policy=NO_CACHE)
async def publish_draft(client: ZenodoClient, draft_id: int) -> Deposition:
    """Irreversible (Zenodo mints the DOI), so it has a task run of its own in the run's history."""
    return await client.publish(draft_id)


@task(name="discard-draft", task_run_name="discard-draft-{draft.id}", cache_policy=NO_CACHE)
async def discard_draft(client: ZenodoClient, draft: Deposition) -> None:
    """A draft of an already published record is discarded; a never-published one is deleted."""
    if draft.submitted:
        await client.discard(draft.id)
    else:
        await client.delete_deposition(draft.id)
