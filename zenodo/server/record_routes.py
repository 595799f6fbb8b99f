"""Records API (`/api/records/...`, `/api/communities/...`): published records in Zenodo-JSON."""

from __future__ import annotations

from html import escape

from aiohttp import web

from zenodo_atlas.zenodo.server import search
from zenodo_atlas.zenodo.server.access import can_download
from zenodo_atlas.zenodo.server.context import CUT_KEY, FORBIDDEN, context, int_param, page_params, require_user, server
from zenodo_atlas.zenodo.server.rdm import rdm_record, wants_rdm
from zenodo_atlas.zenodo.server.responses import ApiError
from zenodo_atlas.zenodo.server.serializers import entry_for, file_entry, files_list, record_json, search_page
from zenodo_atlas.zenodo.server.state import StoredRecord
from zenodo_atlas.zenodo.server.transfer import send_file

NOT_FOUND = "The persistent identifier does not exist."


def resolve(request: web.Request, some_id: int | None = None) -> StoredRecord:
    """A published record by its id, or the latest version when given a concept id."""
    store = server(request).store
    some_id = int_param(request, "id") if some_id is None else some_id
    record = store.get(some_id)
    if record is not None and record.published is not None:
        return record
    if record is None and store.is_concept(some_id):
        latest = store.latest(some_id)
        if latest is not None:
            return latest
    if record is not None or store.is_concept(some_id):
        raise ApiError(404, "The persistent identifier is not registered.")
    raise ApiError(404, NOT_FOUND)


def _hit(request: web.Request, record: StoredRecord) -> dict:
    ctx = context(request)
    entry = entry_for(record, server(request).store, ctx)
    return record_json(entry, ctx, show_files=can_download(record, request))


async def get_record(request: web.Request) -> web.Response:
    record = resolve(request)
    if wants_rdm(request.headers.get("Accept")):
        return web.json_response(rdm_record(record, server(request).store, context(request), draft=False))
    return web.json_response(_hit(request, record))


async def landing_page(request: web.Request) -> web.Response:
    """`/records/<id>`: a small HTML page, so record links in demo and local mode are not dead.

    zenodo.org answers the same URL with the record's landing page (HTML); this one shows the facts
    a person follows the link for: title, DOI, version, date, files and where the data were taken."""
    try:
        hit = _hit(request, resolve(request))
    except ApiError as exc:
        return web.Response(status=404, text=f"<!DOCTYPE html><title>Not found</title><p>{escape(str(exc))}</p>",
                            content_type="text/html")
    meta = hit.get("metadata", {})
    doi = hit.get("doi") or ""
    files = "".join(
        f'<li><a href="{escape(f["links"]["self"])}">{escape(f["key"])}</a> {f["size"]} bytes, {f["checksum"]}</li>'
        for f in hit.get("files", [])
    )
    places = "".join(
        f"<li>{escape(str(loc.get('place', '')))}: {loc.get('lat')}, {loc.get('lon')}</li>"
        for loc in meta.get("locations", []) or []
    )
    body = (
        f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{escape(meta.get('title', ''))}"
        f"</title></head><body><h1>{escape(meta.get('title', ''))}</h1>"
        f"<p>DOI: <a href=\"https://doi.org/{escape(doi)}\">{escape(doi)}</a> · version "
        f"{escape(str(meta.get('version', '')))} · published {escape(str(meta.get('publication_date', '')))}</p>"
        f"<p>{escape(meta.get('description', ''))}</p>"
        f"<h2>Files</h2><ul>{files or '<li>files are restricted</li>'}</ul>"
        + (f"<h2>Locations</h2><ul>{places}</ul>" if places else "")
        + f"<p><a href=\"{escape(hit['links']['self'])}\">JSON</a></p></body></html>"
    )
    return web.Response(text=body, content_type="text/html")


async def latest_version(request: web.Request) -> web.Response:
    record = resolve(request)
    latest = server(request).store.latest(record.conceptrecid)
    assert latest is not None
    raise web.HTTPFound(f"{context(request).api}/records/{latest.id}")


def _search(request: web.Request, records: list[StoredRecord], *, all_versions: bool,
            default_sort: str | None = None) -> web.Response:
    query = request.query
    store, ctx = server(request).store, context(request)
    entries = [entry_for(r, store, ctx) for r in records if r.published is not None]
    if not all_versions:
        entries = search.latest_only(entries)
    communities = query.getall("communities", [])
    if communities:
        wanted = set(communities)
        entries = [e for e in entries
                   if wanted & {c.get("identifier") for c in e.metadata.get("communities", [])}]
    kind = query.get("type")
    if kind:
        entries = [e for e in entries if e.metadata.get("upload_type") == kind]
    page, size = page_params(request)
    found = search.run(entries, q=query.get("q"), sort=query.get("sort") or default_sort, page=page, size=size)
    hits = [record_json(e, ctx, show_files=can_download(e.record, request)) for e in found.hits]
    params = {k: v for k, v in query.items() if k not in ("page", "size", "access_token")}
    return web.json_response(search_page(found, hits, f"{ctx.base}{request.path}", params))


async def search_records(request: web.Request) -> web.Response:
    all_versions = search.truthy(request.query.get("all_versions") or request.query.get("allversions"))
    return _search(request, server(request).store.indexed_records(), all_versions=all_versions)


async def record_versions(request: web.Request) -> web.Response:
    record = resolve(request)
    versions = server(request).store.indexed_versions(record.conceptrecid)
    return _search(request, versions, all_versions=True, default_sort="version")


async def community_records(request: web.Request) -> web.Response:
    community = request.match_info["community"]
    store = server(request).store
    records = [r for r in store.indexed_records() if r.published and community in store.included(r.conceptrecid)]
    all_versions = search.truthy(request.query.get("all_versions") or request.query.get("allversions"))
    return _search(request, records, all_versions=all_versions)


async def record_files(request: web.Request) -> web.Response:
    record = resolve(request)
    if not can_download(record, request):
        raise ApiError(403, FORBIDDEN)
    assert record.published is not None
    return web.json_response(files_list(record.id, record.published.files, context(request)))


def _published_file(request: web.Request, record: StoredRecord):
    if not can_download(record, request):
        raise ApiError(403, FORBIDDEN)
    assert record.published is not None
    wanted = request.match_info["key"]
    for stored in record.published.files:
        if wanted in (stored.key, stored.id):
            return stored
    raise ApiError(404, "The file does not exist.")


async def record_file(request: web.Request) -> web.Response:
    record = resolve(request)
    stored = _published_file(request, record)
    return web.json_response(file_entry(record.id, stored, context(request)))


async def download(request: web.Request) -> web.StreamResponse:
    record = resolve(request)
    stored = _published_file(request, record)
    srv = server(request)
    if "Range" in request.headers or not srv.faults.cut_download(stored.blob):
        return await send_file(request, srv.store.blob_path(stored.blob), stored)
    request[CUT_KEY] = True
    return await send_file(request, srv.store.blob_path(stored.blob), stored, cut_at=stored.size // 2)


async def draft_download(request: web.Request) -> web.StreamResponse:
    """Bytes of a draft's file (owner only); falls back to the published files like Zenodo's link does."""
    user = require_user(request)
    store = server(request).store
    record = store.owned(user, int_param(request, "id"))
    key = request.match_info["key"]
    stored = next((f for f in record.current_files if f.key == key), None)
    if stored is None:
        raise ApiError(404, "The file does not exist.")
    return await send_file(request, store.blob_path(stored.blob), stored)


def add_routes(app: web.Application) -> None:
    r = app.router
    one = r"/api/records/{id:\d+}"
    r.add_get("/api/records", search_records, name="records_search")
    r.add_get(one, get_record, name="record_get")
    r.add_get(one + "/versions", record_versions, name="record_versions")
    r.add_get(one + "/versions/latest", latest_version, name="record_latest")
    r.add_get(one + "/files", record_files, name="record_files")
    r.add_get(one + "/draft/files/{key:.+}/content", draft_download, name="draft_file_download")
    r.add_get(one + "/files/{key:.+}/content", download, name="file_download")
    r.add_get(one + "/files/{key:.+}", record_file, name="record_file")
    r.add_get("/api/communities/{community}/records", community_records, name="community_records")
    r.add_get(r"/records/{id:\d+}", landing_page, name="record_landing_page")
