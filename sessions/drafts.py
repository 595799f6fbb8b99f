"""What to do with the files already on a draft before a version's archives are uploaded into it.

A new version starts with its predecessor's files. Those the plan re-uploads are kept when their
bytes match (a resumed run), the others are carried over or deleted; the archives of a platform's
restricted folders are never carried into a new version, where they would become open.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel

from zenodo_atlas.sessions.extract import archive_destination
from zenodo_atlas.sessions.platforms import PlatformRules
from zenodo_atlas.zenodo.models import DepositionFile


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
