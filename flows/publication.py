"""Publishing one version, shared by the session upload and the Atlas publication flows."""

from __future__ import annotations

from pydantic import BaseModel

from zenodo_atlas.flows.batch import all_or_none
from zenodo_atlas.sessions.drafts import plan_draft_files
from zenodo_atlas.sessions.platforms import PlatformRules
from zenodo_atlas.sessions.versions import VersionPlan
from zenodo_atlas.tasks.deposit import (
    PublishedByAnotherRunError,
    SessionOnZenodo,
    delete_draft_files,
    open_draft,
    publish_draft,
    published_meanwhile,
)
from zenodo_atlas.tasks.progress import TransferProgress, artifact_key
from zenodo_atlas.tasks.transfer import UPLOAD_LIMIT, ArchiveResult, transfer_slots, upload_archive, verify_draft
from zenodo_atlas.zenodo.client import ZenodoClient
from zenodo_atlas.zenodo.errors import AuthenticationError, NotFoundError


class PublishedVersion(BaseModel):
    label: str
    record_id: int
    doi: str | None
    url: str | None
    archives: list[ArchiveResult]


async def publish_version(
    client: ZenodoClient, name: str, rules: PlatformRules | None, plan: VersionPlan, state: SessionOnZenodo,
    *, concurrency: int, global_limit: int, allow_stacking: bool = False,
) -> PublishedVersion:
    """Open (or resume) the draft, prune it, stream the archives in parallel, verify md5s, publish."""
    draft_id = state.draft.id if state.draft else None
    try:
        draft = await open_draft(client, state, plan.metadata, allow_stacking=allow_stacking)
        draft_id = draft.id
        decisions = plan_draft_files(
            draft.files, {a.name: a.size for a in plan.archives}, rules, drop_all_carried=plan.drop_all_carried,
        )
        await delete_draft_files(client, draft, decisions.delete)
        key = artifact_key("upload", name, plan.label)
        async with (
            transfer_slots(UPLOAD_LIMIT, min(concurrency, len(plan.archives)), global_limit) as slots,
            TransferProgress(key, plan.total_bytes, f"{plan.label} of {name}") as progress,
        ):
            results = await all_or_none([
                upload_archive(client, draft, a, decisions.keep_if_md5_matches.get(a.name), progress, slots)
                for a in plan.archives
            ])
        await verify_draft(client, draft, {r.name: r.md5 for r in results})
        published = await publish_draft(client, draft.id)
    except (AuthenticationError, NotFoundError):
        other = await published_meanwhile(client, draft_id) if draft_id is not None else None
        if other is None:
            raise
        raise PublishedByAnotherRunError(
            f"{name}: the {plan.label} draft {draft_id} was published meanwhile by another run, as "
            f"https://doi.org/{other.doi}; this run published nothing. Check that version, and re-run only if "
            "it lacks something."
        ) from None
    return PublishedVersion(
        label=plan.label, record_id=published.id, doi=published.doi,
        url=published.links.get("record_html") or published.links.get("html"), archives=list(results),
    )
