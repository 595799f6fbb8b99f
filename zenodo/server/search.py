"""Search over records: the documents a query sees, the sort orders and the page maths."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from zenodo_atlas.zenodo.server.query import TEXT_FIELDS, parse
from zenodo_atlas.zenodo.server.responses import ApiError
from zenodo_atlas.zenodo.server.state import StoredRecord

MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 10
ALT_RELATIONS = frozenset({"isalternateidentifier", "isidenticalto"})

ALIASES: dict[str, str] = {
    "id": "recid", "recid": "recid", "record_id": "recid",
    "conceptrecid": "conceptrecid", "parent.id": "conceptrecid",
    "doi": "doi", "pids.doi.identifier": "doi",
    "conceptdoi": "conceptdoi", "parent.pids.doi.identifier": "conceptdoi",
    "title": "title", "metadata.title": "title",
    "description": "description", "metadata.description": "description",
    "keywords": "keywords", "metadata.keywords": "keywords", "metadata.subjects.subject": "keywords",
    "creators.name": "creators.name", "metadata.creators.name": "creators.name",
    "metadata.creators.person_or_org.name": "creators.name",
    "notes": "notes", "metadata.notes": "notes",
    "identifiers.identifier": "identifiers", "metadata.identifiers.identifier": "identifiers",
    "alternate_identifiers.identifier": "identifiers",
    "metadata.alternate_identifiers.identifier": "identifiers",
    "related_identifiers.identifier": "related", "metadata.related_identifiers.identifier": "related",
    "communities": "communities", "metadata.communities.identifier": "communities",
    "communities.identifier": "communities", "parent.communities.ids": "communities",
    "publication_date": "publication_date", "metadata.publication_date": "publication_date",
    "created": "created", "updated": "updated", "modified": "updated",
    "version": "version", "metadata.version": "version",
    "access_right": "access_right", "metadata.access_right": "access_right",
    "upload_type": "resource_type", "resource_type.type": "resource_type",
    "metadata.resource_type.type": "resource_type", "type": "resource_type",
    "owners": "owners", "owner": "owners", "status": "status", "state": "status",
    "license": "license", "metadata.license.id": "license", "metadata.license": "license",
}
KNOWN_FIELDS = frozenset(ALIASES)


@dataclass(frozen=True)
class Entry:
    """One searchable item: a record seen either as a published version or as a deposition."""

    record: StoredRecord
    metadata: dict
    created: str
    updated: str
    version_index: int
    is_latest: bool
    doi: str | None
    conceptdoi: str | None


def document(entry: Entry) -> dict[str, list[str]]:
    meta = entry.metadata
    related = [r for r in meta.get("related_identifiers", []) if isinstance(r, dict)]
    doc: dict[str, list[str]] = {
        "recid": [str(entry.record.id)],
        "conceptrecid": [str(entry.record.conceptrecid)],
        "doi": [d for d in (entry.doi, meta.get("doi")) if d],
        "conceptdoi": [entry.conceptdoi] if entry.conceptdoi else [],
        "title": _strings(meta.get("title")),
        "description": _strings(meta.get("description")),
        "keywords": _strings(meta.get("keywords")),
        "creators.name": [c.get("name", "") for c in meta.get("creators", []) if isinstance(c, dict)],
        "notes": _strings(meta.get("notes")),
        "identifiers": [str(r.get("identifier", "")) for r in related
                        if str(r.get("relation", "")).lower() in ALT_RELATIONS],
        "related": [str(r.get("identifier", "")) for r in related],
        "communities": [str(c.get("identifier", "")) for c in meta.get("communities", [])
                        if isinstance(c, dict)],
        "publication_date": _strings(meta.get("publication_date")),
        "created": [entry.created],
        "updated": [entry.updated],
        "version": _strings(meta.get("version")),
        "access_right": _strings(meta.get("access_right")),
        "resource_type": _strings(meta.get("upload_type")),
        "owners": [str(entry.record.owner)],
        "status": [entry.record.state, "published" if entry.record.published else "draft"],
        "license": _strings(meta.get("license")),
    }
    doc["text"] = [v for name in (*TEXT_FIELDS - {"text"}, "identifiers", "related", "doi") for v in doc[name]]
    for path, value in _flatten(meta, "metadata"):
        doc.setdefault(path, []).append(value)
    return doc


SORTS: dict[str, Callable[[Entry], tuple]] = {
    "newest": lambda e: (e.created, e.record.id),
    "oldest": lambda e: (e.created, e.record.id),
    "version": lambda e: (e.record.conceptrecid, e.version_index, e.record.id),
    "updated-desc": lambda e: (e.updated, e.record.id),
    "updated-asc": lambda e: (e.updated, e.record.id),
    "publication-desc": lambda e: (e.metadata.get("publication_date", ""), e.record.id),
    "publication-asc": lambda e: (e.metadata.get("publication_date", ""), e.record.id),
}
_DESCENDING = {"newest", "version", "updated-desc", "publication-desc"}
_LEGACY_SORTS = {
    "mostrecent": "newest", "-mostrecent": "oldest", "-version": "-version",
    "publication_date": "publication-asc", "-publication_date": "publication-desc",
    "-bestmatch": "bestmatch", "mostviewed": "newest", "mostdownloaded": "newest",
}


@dataclass(frozen=True)
class Page:
    hits: list[Entry]
    total: int
    page: int
    size: int


def run(entries: list[Entry], *, q: str | None, sort: str | None, page: int, size: int) -> Page:
    """Filter by `q`, order by `sort` (bestmatch when a query is given, else newest), slice a page."""
    tree = parse(q, KNOWN_FIELDS)
    scored = [(tree.score(document(e), ALIASES), e) for e in entries]
    matched = [(score, e) for score, e in scored if score > 0]
    order = _LEGACY_SORTS.get(sort or "", sort) or ("bestmatch" if q else "newest")
    if order == "bestmatch":
        matched.sort(key=lambda se: (se[0], se[1].created, se[1].record.id), reverse=True)
    elif order == "-version":
        matched.sort(key=lambda se: SORTS["version"](se[1]))
    elif order in SORTS:
        matched.sort(key=lambda se: SORTS[order](se[1]), reverse=order in _DESCENDING)
    else:
        choices = ", ".join(sorted({*SORTS, "bestmatch", *_LEGACY_SORTS}))
        raise ApiError(400, f"Invalid sort option {sort!r}; use one of: {choices}.")
    start = (page - 1) * size
    return Page([e for _, e in matched[start:start + size]], len(matched), page, size)


def page_params(query: Mapping[str, str], default_size: int = DEFAULT_PAGE_SIZE, *, max_size: int = MAX_PAGE_SIZE,
                max_results: int | None = None) -> tuple[int, int]:
    """`page` and `size`; with `max_results`, pages reaching past that many hits are refused as on zenodo.org."""
    try:
        page = int(query.get("page", "1"))
        size = int(query.get("size", str(default_size)))
    except ValueError:
        raise ApiError(400, "'page' and 'size' must be integers.") from None
    if page < 1:
        raise ApiError(400, "'page' must be 1 or more.")
    if not 1 <= size <= max_size:
        raise ApiError(400, f"'size' must be between 1 and {max_size}.")
    if max_results is not None and page * size > max_results:
        raise ApiError(400, "Invalid querystring parameters.", [
            {"field": "page", "messages": [f"page * size must not exceed {max_results}: narrow the query."]}])
    return page, size


def truthy(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true", "yes", "on")


def latest_only(entries: list[Entry]) -> list[Entry]:
    """One entry per concept: the newest (highest id) among those given."""
    newest: dict[int, int] = {}
    for e in entries:
        newest[e.record.conceptrecid] = max(newest.get(e.record.conceptrecid, 0), e.record.id)
    return [e for e in entries if newest[e.record.conceptrecid] == e.record.id]


def _strings(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    return [str(value)]


def _flatten(value: object, prefix: str):
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _flatten(inner, f"{prefix}.{key}")
    elif isinstance(value, list):
        for inner in value:
            yield from _flatten(inner, prefix)
    elif value is not None:
        yield prefix, str(value)
