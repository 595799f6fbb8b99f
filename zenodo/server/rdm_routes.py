"""The InvenioRDM draft API zenodo.org offers beside the legacy one (`/api/records/...`, `/api/user/records`).

What a client needs for the full lifecycle: create a draft, edit a published record, the 3-step
file upload (init, PUT content, commit), get-or-create a new version, import the previous files,
publish. Answers are Zenodo-JSON unless `Accept: application/vnd.inveniordm.v1+json` asks for
RDM JSON (zenodo-rdm site/zenodo_rdm/legacy/resources.py record_serializers; inveniordm docs
reference/rest_api_drafts_records; pudl-archiver#231 for versions get-or-create).
"""

from __future__ import annotations

from aiohttp import web

from zenodo_atlas.zenodo.server import metadata as md
from zenodo_atlas.zenodo.server import search
from zenodo_atlas.zenodo.server.context import context, int_param, json_body, page_params, require_user, server
from zenodo_atlas.zenodo.server.rdm import file_entries, legacy_from_rdm, rdm_record, wants_rdm
from zenodo_atlas.zenodo.server.responses import ApiError
from zenodo_atlas.zenodo.server.serializers import deposit_entry, deposition, entry_for, record_json
from zenodo_atlas.zenodo.server.state import InclusionRequest, StoredRecord
from zenodo_atlas.zenodo.server.transfer import body_chunks, guess_mimetype, receive

ONE = r"/api/records/{id:\d+}"


def answer(request: web.Request, record: StoredRecord, status: int = 200, *, draft: bool | None = None) -> web.Response:
    """The record in the negotiated format; `draft` picks the side (default: the open draft if any)."""
    srv, ctx = server(request), context(request)
    draft = record.draft is not None if draft is None else draft
    if wants_rdm(request.headers.get("Accept")):
        body = rdm_record(record, srv.store, ctx, draft=draft)
    elif draft:
        body = deposition(record, srv.store, ctx)
    else:
        body = record_json(entry_for(record, srv.store, ctx), ctx, show_files=True)
    return web.json_response(body, status=status)


def _draft_of(request: web.Request) -> StoredRecord:
    record = server(request).store.owned(require_user(request), int_param(request, "id"))
    if record.draft is None:
        raise ApiError(404, "The draft does not exist.")
    return record


async def _metadata(request: web.Request) -> dict:
    body = await json_body(request)
    return md.normalise(legacy_from_rdm({} if body is None else body))


async def create(request: web.Request) -> web.Response:
    user = require_user(request)
    record = await server(request).store.create(user, await _metadata(request))
    return answer(request, record, 201)


async def get_draft(request: web.Request) -> web.Response:
    return answer(request, _draft_of(request))


async def update_draft(request: web.Request) -> web.Response:
    record = _draft_of(request)
    metadata = await _metadata(request)
    return answer(request, await server(request).store.update(record.owner, record.id, metadata))


async def edit(request: web.Request) -> web.Response:
    user = require_user(request)
    return answer(request, await server(request).store.edit(user, int_param(request, "id")), 201, draft=True)


async def delete_draft(request: web.Request) -> web.Response:
    record = _draft_of(request)
    await server(request).store.discard(record.owner, record.id)
    return web.Response(status=204)


async def new_version(request: web.Request) -> web.Response:
    """Get-or-create the concept's new-version draft, without files (files-import adds them)."""
    user = require_user(request)
    record = await server(request).store.new_version(user, int_param(request, "id"), import_files=False)
    return answer(request, record, 201, draft=True)


async def files_import(request: web.Request) -> web.Response:
    record = _draft_of(request)
    record = await server(request).store.import_files(record.owner, record.id)
    assert record.draft is not None
    return web.json_response(file_entries(record, record.draft.files, context(request), draft=True), status=201)


def _pending(request: web.Request, record: StoredRecord) -> list[str]:
    return [key for (rid, key) in server(request).pending_files if rid == record.id]


async def list_files(request: web.Request) -> web.Response:
    record = _draft_of(request)
    assert record.draft is not None
    return web.json_response(file_entries(record, record.draft.files, context(request), draft=True,
                                          pending=_pending(request, record)))


async def init_files(request: web.Request) -> web.Response:
    """Step 1: declare keys (`[{"key": ...}]`); they stay pending until their content is committed."""
    record = _draft_of(request)
    srv = server(request)
    srv.store.writable_draft(record.owner, record)
    body = await json_body(request)
    if not isinstance(body, list) or not all(isinstance(e, dict) and isinstance(e.get("key"), str) for e in body):
        raise ApiError(400, 'Send a JSON list of file entries, e.g. [{"key": "data.zip"}].')
    for entry in body:
        key = entry["key"]
        if not key or "/" in key:
            raise ApiError(400, f"Invalid file key {key!r}.")
        srv.pending_files[(record.id, key)] = None
    assert record.draft is not None
    return web.json_response(file_entries(record, record.draft.files, context(request), draft=True,
                                          pending=_pending(request, record)), status=201)


async def put_content(request: web.Request) -> web.Response:
    """Step 2: the bytes of one pending key, one streamed PUT (Zenodo enables no multipart transfer)."""
    record = _draft_of(request)
    srv, key = server(request), request.match_info["key"]
    if (record.id, key) not in srv.pending_files:
        raise ApiError(404, f"No pending file {key!r}: initialise it with POST .../draft/files first.")
    draft = srv.store.writable_draft(record.owner, record)
    received = await receive(body_chunks(request), srv.store.new_tmp_path(), limit=srv.store.room_for(draft, key))
    previous = srv.pending_files.get((record.id, key))
    if previous is not None:
        previous.path.unlink(missing_ok=True)
    srv.pending_files[(record.id, key)] = received
    return web.json_response({"key": key, "status": "pending", "size": received.size}, status=200)


async def commit(request: web.Request) -> web.Response:
    """Step 3: the received bytes become the draft's file `key` (replacing one with the same key)."""
    record = _draft_of(request)
    srv, key = server(request), request.match_info["key"]
    received = srv.pending_files.get((record.id, key))
    if received is None:
        raise ApiError(400, f"File {key!r} has no content yet: PUT its content before committing.")
    assert record.draft is not None
    stored = await srv.store.add_file(record.owner, record.draft.bucket_id, key, received.path, received.size,
                                      received.md5, guess_mimetype(key))
    del srv.pending_files[(record.id, key)]
    entry = file_entries(record, [stored], context(request), draft=True)["entries"][0]
    return web.json_response(entry | {"bucket_id": record.draft.bucket_id, "version_id": stored.version_id})


async def delete_file(request: web.Request) -> web.Response:
    record = _draft_of(request)
    srv, key = server(request), request.match_info["key"]
    if srv.pending_files.pop((record.id, key), "absent") != "absent":
        return web.Response(status=204)
    await srv.store.remove_file(record.owner, record_id=record.id, key=key)
    return web.Response(status=204)


async def publish(request: web.Request) -> web.Response:
    user = require_user(request)
    record = await server(request).store.publish(user, int_param(request, "id"))
    return answer(request, record, 202, draft=False)


async def user_records(request: web.Request) -> web.Response:
    """The token owner's drafts and records (RDM search envelope)."""
    user = require_user(request)
    srv, ctx = server(request), context(request)
    records = [r for r in srv.store.indexed_records() if r.owner == user]
    page, size = page_params(request)
    found = search.run([deposit_entry(r) for r in records], q=request.query.get("q"),
                       sort=request.query.get("sort") or "newest", page=page, size=size)
    hits = [rdm_record(e.record, srv.store, ctx, draft=e.record.draft is not None) for e in found.hits]
    return web.json_response({"hits": {"hits": hits, "total": found.total}, "aggregations": {},
                              "links": {"self": f"{ctx.api}/user/records"}})


def _request_json(request: web.Request, found: InclusionRequest) -> dict:
    url = f"{context(request).api}/requests/{found.id}"
    return {
        "id": found.id, "type": "community-submission", "status": found.status, "created": found.created,
        "receiver": {"community": found.community}, "topic": {"record": str(found.record_id)},
        "links": {"self": url, "actions": {"accept": f"{url}/actions/accept", "decline": f"{url}/actions/decline"}},
    }


async def list_requests(request: web.Request) -> web.Response:
    """The open inclusion requests of the communities the caller curates (InvenioRDM requests API)."""
    user = require_user(request)
    found = server(request).store.requests_for(user)
    return web.json_response({"hits": {"hits": [_request_json(request, r) for r in found], "total": len(found)}})


async def decide_request(request: web.Request) -> web.Response:
    """A curator accepts (the record joins the community listing) or declines an inclusion request."""
    user = require_user(request)
    action = request.match_info["action"]
    found = await server(request).store.decide(user, request.match_info["request_id"], accept=action == "accept")
    return web.json_response(_request_json(request, found))


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_post("/api/records", create, name="rdm_create")
    r.add_get(ONE + "/draft", get_draft, name="rdm_draft_get")
    r.add_put(ONE + "/draft", update_draft, name="rdm_draft_update")
    r.add_post(ONE + "/draft", edit, name="rdm_edit")
    r.add_delete(ONE + "/draft", delete_draft, name="rdm_draft_delete")
    r.add_post(ONE + "/versions", new_version, name="rdm_new_version")
    r.add_get(ONE + "/draft/files", list_files, name="rdm_draft_files")
    r.add_post(ONE + "/draft/files", init_files, name="rdm_files_init")
    r.add_put(ONE + "/draft/files/{key}/content", put_content, name="rdm_file_content")
    r.add_post(ONE + "/draft/files/{key}/commit", commit, name="rdm_file_commit")
    r.add_delete(ONE + "/draft/files/{key}", delete_file, name="rdm_file_delete")
    r.add_post(ONE + "/draft/actions/publish", publish, name="rdm_publish")
    r.add_post(ONE + "/draft/actions/files-import", files_import, name="rdm_files_import")
    r.add_get("/api/user/records", user_records, name="user_records")
    r.add_get("/api/requests", list_requests, name="requests_list")
    r.add_post("/api/requests/{request_id}/actions/{action:accept|decline}", decide_request, name="request_action")
