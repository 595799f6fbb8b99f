"""Task that turns a session folder into its version plans (CPU and disk, no HTTP), off the event loop."""

from __future__ import annotations

import asyncio

from prefect import task
from prefect.cache_policies import NO_CACHE

from zenodo_atlas.sessions.session import Session
from zenodo_atlas.sessions.versions import VersionPlan, load_metadata_inputs, plan_versions


@task(name="plan-session", cache_policy=NO_CACHE)
async def plan_session(
    session_path: str,
    *,
    raw: bool,
    processed: list[str] | None,
    custom: list[str] | None,
    template_path: str | None,
    dcim_part_bytes: int,
    record_bytes: int,
    all_frames: bool = False,
    iso19115: bool = False,
) -> tuple[Session, list[VersionPlan]]:
    """Read the session and plan every version; stat-ing thousands of files runs off the loop."""

    def work() -> tuple[Session, list[VersionPlan]]:
        session = Session.open(session_path)
        template, people = load_metadata_inputs(template_path)
        return session, plan_versions(
            session, raw=raw, processed=processed, custom=custom, template=template, people=people,
            dcim_part_bytes=dcim_part_bytes, record_bytes=record_bytes, all_frames=all_frames, iso19115=iso19115,
        )

    return await asyncio.to_thread(work)
