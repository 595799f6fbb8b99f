"""JSON shapes of today's zenodo.org: legacy depositions, Files-REST objects and Zenodo-JSON records."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlencode

from zenodo_atlas.zenodo.server.realistic import thumbnails
from zenodo_atlas.zenodo.server.search import Entry, Page
from zenodo_atlas.zenodo.server.state import Draft, Published, Store, StoredFile, StoredRecord

RESOURCE_TITLES = {
    "publication": "Publication", "poster": "Poster", "presentation": "Presentation",
    "dataset": "Dataset", "image": "Image", "video": "Video/Audio", "software": "Software",
    "lesson": "Lesson", "physicalobject": "Physical object", "other": "Other",
}
ALT_RELATIONS = frozenset({"isalternateidentifier", "isidenticalto"})


@dataclass(frozen=True)
class Context:
    """Where the server is reachable (taken from the request) and which DOI prefix it mints."""

    base: str
    doi_prefix: str
    thumbnails: bool = False

    @property
    def api(self) -> str:
        return f"{self.base}/api"

    def doi(self, some_id: int) -> str:
        return f"{self.doi_prefix}/zenodo.{some_id}"


def _badge(ctx: Context, doi: str) -> str:
    return f"{ctx.base}/badge/doi/{quote(doi, safe='')}.svg"


def _key(key: str) -> str:
    return quote(key, safe="/")


# -- legacy deposit API ---------------------------------------------------------------------------


def deposition(record: StoredRecord, store: Store, ctx: Context, *, in_list: bool = False) -> dict:
    """A deposition as `/api/deposit/depositions` shows it; list items carry no bucket link."""
    rid, state = record.id, record.state
    published = record.published is not None
    concept_published = store.latest(record.conceptrecid) is not None
    dep = f"{ctx.api}/deposit/depositions/{rid}"
    doi = ctx.doi(rid) if published else None
    metadata = _deposit_metadata(record, ctx, doi)
    side: Draft | Published = record.draft or record.published  # type: ignore[assignment]
    # zenodo.org's `latest_draft` is the deposition itself, even while a new-version draft is open
    # (zenodo-rdm site/zenodo_rdm/legacy/services.py links_item; recorded zenodraft_131.json).
    latest_draft = rid
    links = {
        "self": dep,
        "html": f"{ctx.base}/deposit/{rid}",
        "badge": _badge(ctx, doi or ""),
        "files": f"{dep}/files",
        "bucket": f"{ctx.api}/files/{side.bucket_id}",
        "latest_draft": f"{ctx.api}/deposit/depositions/{latest_draft}",
        "latest_draft_html": f"{ctx.base}/deposit/{latest_draft}",
        "publish": f"{dep}/actions/publish",
        "edit": f"{dep}/actions/edit",
        "discard": f"{dep}/actions/discard",
        "newversion": f"{dep}/actions/newversion",
    }
    if published:
        links |= {
            "doi": f"https://doi.org/{doi}",
            "record": f"{ctx.api}/records/{rid}",
            "record_html": f"{ctx.base}/record/{rid}",
            "latest": f"{ctx.api}/records/{rid}/versions/latest",
            "latest_html": f"{ctx.base}/record/{rid}/versions/latest",
        }
    if state == "done":
        conceptdoi = ctx.doi(record.conceptrecid)
        links |= {"self": f"{ctx.api}/records/{rid}", "files": f"{ctx.api}/records/{rid}/files",
                  "html": f"{ctx.base}/records/{rid}", "parent_doi": f"{ctx.base}/doi/{conceptdoi}",
                  "conceptbadge": _badge(ctx, conceptdoi)}
    if in_list:
        del links["bucket"]
    body: dict = {
        "created": record.published.created if record.published else record.created,
        "modified": record.modified,
        "id": rid,
        "conceptrecid": str(record.conceptrecid),
    }
    if concept_published:
        body["conceptdoi"] = ctx.doi(record.conceptrecid)
    if doi:
        body |= {"doi": doi, "doi_url": f"https://doi.org/{doi}"}
    body |= {
        "metadata": metadata,
        "title": metadata.get("title", ""),
        "links": links,
        "record_id": rid,
        "owner": record.owner,
        "files": [legacy_file(record, f, ctx) for f in side.files],
        "state": state,
        "submitted": published,
    }
    return body


def _deposit_metadata(record: StoredRecord, ctx: Context, doi: str | None) -> dict:
    stored = record.current_metadata
    out = dict(stored)
    edited = record.draft.edited if record.draft else True
    if edited:
        out["imprint_publisher"] = "Zenodo"
    if doi and "doi" not in out:
        out["doi"] = doi
    out["prereserve_doi"] = {"doi": ctx.doi(record.id), "recid": record.id}
    return out


def legacy_file(record: StoredRecord, stored: StoredFile, ctx: Context) -> dict:
    """Legacy file object: bare-hex md5; `self` switches to the records form once published."""
    if record.state == "done":
        self_link = f"{ctx.api}/records/{record.id}/files/{stored.id}"
    else:
        self_link = f"{ctx.api}/deposit/depositions/{record.id}/files/{stored.id}"
    return {
        "id": stored.id,
        "filename": stored.key,
        "filesize": stored.size,
        "checksum": stored.md5,
        "links": {
            "self": self_link,
            "download": f"{ctx.api}/records/{record.id}/draft/files/{_key(stored.key)}/content",
        },
    }


# -- Files-REST buckets ---------------------------------------------------------------------------


def bucket_object(bucket_id: str, stored: StoredFile, ctx: Context) -> dict:
    url = f"{ctx.api}/files/{bucket_id}/{_key(stored.key)}"
    return {
        "created": stored.created,
        "updated": stored.updated,
        "version_id": stored.version_id,
        "key": stored.key,
        "size": stored.size,
        "mimetype": stored.mimetype,
        "checksum": f"md5:{stored.md5}",
        "is_head": True,
        "delete_marker": False,
        "links": {
            "self": url,
            "version": f"{url}?{urlencode({'versionId': stored.version_id})}",
            "uploads": f"{url}?uploads",
        },
    }


def bucket(bucket_id: str, side: Draft | Published, store: Store, ctx: Context) -> dict:
    url = f"{ctx.api}/files/{bucket_id}"
    return {
        "id": bucket_id,
        "created": side.created,
        "updated": side.modified if isinstance(side, Draft) else side.updated,
        "locked": isinstance(side, Published),
        "size": sum(f.size for f in side.files),
        "quota_size": store.quota.max_record_bytes,
        "max_file_size": store.quota.max_record_bytes,
        "links": {"self": url, "versions": f"{url}?versions", "uploads": f"{url}?uploads"},
        "contents": [bucket_object(bucket_id, f, ctx) for f in side.files],
    }


# -- records (Zenodo-JSON) ------------------------------------------------------------------------


def entry_for(record: StoredRecord, store: Store, ctx: Context) -> Entry:
    """A published record as search and serialisation see it (its version position included)."""
    assert record.published is not None
    versions = store.versions(record.conceptrecid)
    index = next(i for i, v in enumerate(versions) if v.id == record.id)
    # A record shows (and is found in) only the communities that accepted it, not those it asked for.
    communities = [{"identifier": c} for c in store.included(record.conceptrecid)]
    metadata = {k: v for k, v in record.published.metadata.items() if k != "communities"}
    return Entry(
        record=record, metadata=metadata | ({"communities": communities} if communities else {}),
        created=record.published.created,
        updated=record.published.updated, version_index=index, is_latest=index == len(versions) - 1,
        doi=ctx.doi(record.id), conceptdoi=ctx.doi(record.conceptrecid),
    )


def deposit_entry(record: StoredRecord) -> Entry:
    """A deposition for the user's own search (drafts included)."""
    return Entry(
        record=record, metadata=record.current_metadata,
        created=record.published.created if record.published else record.created,
        updated=record.modified, version_index=0, is_latest=True, doi=None, conceptdoi=None,
    )


def _with_scheme(related: dict) -> dict:
    """`scheme` as Zenodo reports it: RDM stores every identifier with the scheme idutils detects, and
    the legacy serializer dumps it (zenodo-rdm legacy/serializers/schemas.py); the predecessor reads
    the session urn by it (SeatizenDOI/zenodo-tools, src/zenodo_api/za_tokenless.py)."""
    if related.get("scheme"):
        return {"scheme": related["scheme"]}
    identifier = str(related.get("identifier", ""))
    lowered = identifier.lower()
    if lowered.startswith("urn:"):
        return {"scheme": "urn"}
    if lowered.startswith("10.") or "doi.org/10." in lowered:
        return {"scheme": "doi"}
    if lowered.startswith(("http://", "https://")):
        return {"scheme": "url"}
    return {}


def record_json(entry: Entry, ctx: Context, *, show_files: bool) -> dict:
    """Zenodo-JSON: what `GET /api/records/:id` answers with the default Accept header."""
    record, meta = entry.record, entry.metadata
    assert record.published is not None
    rid, concept = record.id, record.conceptrecid
    doi, conceptdoi = ctx.doi(rid), ctx.doi(concept)
    rec = f"{ctx.api}/records/{rid}"
    related = [r for r in meta.get("related_identifiers", []) if isinstance(r, dict)]
    out_meta: dict = {
        k: v for k, v in meta.items()
        if k not in ("license", "upload_type", "related_identifiers", "communities", "doi",
                     "publication_type", "image_type")
    }
    out_meta |= {"doi": doi, "resource_type": _resource_type(meta)}
    if meta.get("license"):
        out_meta["license"] = {"id": meta["license"]}
    alternates = [{"identifier": r.get("identifier"), **_with_scheme(r)}
                  for r in related if str(r.get("relation", "")).lower() in ALT_RELATIONS]
    others = [{**r, **_with_scheme(r)} for r in related if str(r.get("relation", "")).lower() not in ALT_RELATIONS]
    if alternates:
        out_meta["alternate_identifiers"] = alternates
    if others:
        out_meta["related_identifiers"] = others
    if meta.get("communities"):
        out_meta["communities"] = [{"id": c.get("identifier")} for c in meta["communities"]]
    out_meta["relations"] = {
        "version": [{"index": entry.version_index, "is_last": entry.is_latest,
                     "parent": {"pid_type": "recid", "pid_value": str(concept)}}]
    }
    files = record.published.files if show_files else []
    return {
        "created": record.published.created,
        "modified": record.published.updated,
        "updated": record.published.updated,
        "id": rid,
        "conceptrecid": str(concept),
        "doi": doi,
        "conceptdoi": conceptdoi,
        "doi_url": f"https://doi.org/{doi}",
        "metadata": out_meta,
        "title": meta.get("title", ""),
        "links": {
            "self": rec,
            "self_html": f"{ctx.base}/records/{rid}",
            "doi": f"https://doi.org/{doi}",
            "self_doi": f"{ctx.base}/doi/{doi}",
            "self_doi_html": f"{ctx.base}/doi/{doi}",
            "parent": f"{ctx.api}/records/{concept}",
            "parent_html": f"{ctx.base}/records/{concept}",
            "parent_doi": f"{ctx.base}/doi/{conceptdoi}",
            "parent_doi_html": f"{ctx.base}/doi/{conceptdoi}",
            "files": f"{rec}/files",
            "latest": f"{rec}/versions/latest",
            "latest_html": f"{ctx.base}/records/{rid}/latest",
            "versions": f"{rec}/versions",
            "draft": f"{rec}/draft",
            **_thumbnails(ctx, rec, files),
        },
        "updated_by_owner": True,
        "recid": str(rid),
        "revision": record.published.revision,
        "files": [
            {"id": f.id, "key": f.key, "size": f.size, "checksum": f"md5:{f.md5}",
             "links": {"self": f"{rec}/files/{_key(f.key)}/content"}}
            for f in files
        ],
        "swh": {},
        "owners": [{"id": str(record.owner)}],
        "status": "published",
        "stats": {"downloads": 0, "unique_downloads": 0, "views": 0, "unique_views": 0,
                  "version_downloads": 0, "version_unique_downloads": 0, "version_unique_views": 0,
                  "version_views": 0},
        "state": "done",
        "submitted": True,
    }


def _thumbnails(ctx: Context, rec: str, files: list[StoredFile]) -> dict:
    found = thumbnails(rec, [(f.key, f.mimetype) for f in files]) if ctx.thumbnails else None
    return {"thumbnails": found} if found else {}


def _resource_type(meta: dict) -> dict:
    kind = meta.get("upload_type", "other")
    out = {"title": RESOURCE_TITLES.get(kind, kind.title()), "type": kind}
    subtype = meta.get("publication_type") or meta.get("image_type")
    if subtype:
        out["subtype"] = subtype
    return out


def file_entry(record_id: int, stored: StoredFile, ctx: Context) -> dict:
    """An RDM file entry (`/api/records/:id/files`)."""
    url = f"{ctx.api}/records/{record_id}/files/{_key(stored.key)}"
    return {
        "key": stored.key, "id": stored.id, "file_id": stored.id, "size": stored.size,
        "checksum": f"md5:{stored.md5}", "mimetype": stored.mimetype, "status": "completed",
        "created": stored.created, "updated": stored.updated, "storage_class": "L", "metadata": None,
        "links": {"self": url, "content": f"{url}/content"},
    }


def files_list(record_id: int, files: list[StoredFile], ctx: Context) -> dict:
    return {
        "enabled": True,
        "entries": [file_entry(record_id, f, ctx) for f in files],
        "default_preview": None,
        "order": [],
        "total_bytes": sum(f.size for f in files),
        "links": {"self": f"{ctx.api}/records/{record_id}/files"},
    }


def search_page(page: Page, hits: list[dict], url: str, params: dict[str, str]) -> dict:
    """The search envelope with self/next/prev links that keep every other parameter."""

    def link(number: int) -> str:
        return f"{url}?{urlencode({**params, 'page': number, 'size': page.size})}"

    links = {"self": link(page.page)}
    if page.page * page.size < page.total:
        links["next"] = link(page.page + 1)
    if page.page > 1:
        links["prev"] = link(page.page - 1)
    return {"hits": {"hits": hits, "total": page.total}, "aggregations": {}, "links": links}
