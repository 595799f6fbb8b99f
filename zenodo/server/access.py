"""Who may fetch the bytes of a published record: everyone when open, only the owner otherwise."""

from __future__ import annotations

from datetime import date

from aiohttp import web

from zenodo_atlas.zenodo.server.context import user_of
from zenodo_atlas.zenodo.server.state import StoredRecord


def files_are_public(record: StoredRecord, today: date | None = None) -> bool:
    """Open records, and embargoed ones whose embargo date has passed."""
    if record.published is None:
        return False
    meta = record.published.metadata
    right = meta.get("access_right", "open")
    if right == "open":
        return True
    if right == "embargoed" and meta.get("embargo_date"):
        return date.fromisoformat(meta["embargo_date"]) <= (today or date.today())
    return False


def can_download(record: StoredRecord, request: web.Request) -> bool:
    return files_are_public(record) or user_of(request) == record.owner
