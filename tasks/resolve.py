"""Task that turns what a user names (session name, concept DOI, version DOI) into Zenodo records."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE
from pydantic import BaseModel, ConfigDict

from zenodo_atlas.errors import ZenodoAtlasError
from zenodo_atlas.sessions.zenodo_record import (
    deprecated_note,
    folder_name_of,
    is_concept_doi,
    select_versions,
    session_urn,
)
from zenodo_atlas.zenodo.client import ZenodoClient
from zenodo_atlas.zenodo.errors import NotFoundError
from zenodo_atlas.zenodo.models import Record


class SessionNotFoundOnZenodo(ZenodoAtlasError, LookupError):
    """No published record matches what the user asked for."""


class ResolvedSession(BaseModel):
    """The versions of one session selected for download."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    session_name: str
    concept_recid: str
    versions: list[Record]
    note: str | None = None


async def published_records(client: ZenodoClient, urn: str) -> list[Record]:
    """The published versions declaring `urn`, oldest first; empty only once the client's
    `search_lag` has passed (zenodo.org's search shows a publish seconds after it)."""

    async def look() -> list[Record] | None:
        return await client.records_by_identifier(urn, all_versions=True) or None

    return await client.until_indexed(look) or []


@task(name="resolve-session", cache_policy=NO_CACHE)
async def resolve_session(
    client: ZenodoClient, *, name: str | None = None, doi: str | None = None, raw: bool = True, processed: bool = True
) -> ResolvedSession:
    """By name or concept DOI: the raw and/or processed versions. By version DOI: exactly that version."""
    if name:
        records = await published_records(client, session_urn(name))
        if not records:
            raise SessionNotFoundOnZenodo(
                f"no published Zenodo record declares {session_urn(name)}; check the name (zenodo-atlas session check "
                "validates names) or search by DOI with --doi"
            )
        return ResolvedSession(
            session_name=name, concept_recid=records[0].conceptrecid,
            versions=select_versions(records, raw=raw, processed=processed),
            note=deprecated_note(records, processed=processed),
        )
    if not doi:
        raise ValueError("give a session name or a DOI")
    try:
        record = await client.get_record(doi)
    except NotFoundError:
        raise SessionNotFoundOnZenodo(f"no Zenodo record has the DOI {doi}") from None
    session = folder_name_of(record)
    if not is_concept_doi(doi, record):
        return ResolvedSession(session_name=session, concept_recid=record.conceptrecid, versions=[record])
    versions = await client.record_versions(record.id)
    return ResolvedSession(
        session_name=session, concept_recid=record.conceptrecid,
        versions=select_versions(versions, raw=raw, processed=processed),
        note=deprecated_note(versions, processed=processed),
    )
