"""Legacy deposit API (`/api/deposit/depositions/...`) as zenodo-rdm's translation layer answers it."""

from __future__ import annotations

from aiohttp import BodyPartReader, web

from zenodo_atlas.zenodo.server import metadata as md
from zenodo_atlas.zenodo.server import search
from zenodo_atlas.zenodo.server.context import context, int_param, json_body, page_params, require_user, server
from zenodo_atlas.zenodo.server.responses import ApiError
from zenodo_atlas.zenodo.server.serializers import deposit_entry, deposition, legacy_file
from zenodo_atlas.zenodo.server.transfer import CHUNK, guess_mimetype, receive

PREFIX = "/api/deposit/depositions"
_STATUSES = {"draft", "published"}


def _one(request: web.Request, record, status: int = 200) -> web.Response:
    return web.json_response(deposition(record, server(request).store, context(request)), status=status)


async def list_depositions(request: web.Request) -> web.Response:
    user = require_user(request)
    store = server(request).store
    query = request.query
    status = query.get("status")
    if status and status not in _STATUSES:
        raise ApiError(400, f"Invalid status {status!r}; use 'draft' or 'published'.")
    records = [r for r in store.indexed_records() if r.owner == user]
    if status == "draft":
        records = [r for r in records if r.draft is not None]
    elif status == "published":
        records = [r for r in records if r.published is not None]
    entries = [deposit_entry(r) for r in records]
    if not search.truthy(query.get("all_versions")):
        entries = search.latest_only(entries)
    page, size = page_params(request)
    q = query.get("q")
    found = search.run(entries, q=q, sort=query.get("sort") or ("bestmatch" if q else "mostrecent"),
                       page=page, size=size)
    ctx = context(request)
    return web.json_response([deposition(e.record, store, ctx, in_list=True) for e in found.hits])


async def create_deposition(request: web.Request) -> web.Response:
    user = require_user(request)
    body = await json_body(request)
    metadata = md.parse_body({} if body is None else body, allow_empty=True)
    record = await server(request).store.create(user, metadata)
    return _one(request, record, 201)


async def get_deposition(request: web.Request) -> web.Response:
    user = require_user(request)
    return _one(request, server(request).store.owned(user, int_param(request, "id")))


async def update_deposition(request: web.Request) -> web.Response:
    user = require_user(request)
    store = server(request).store
    store.owned(user, int_param(request, "id"))
    body = await json_body(request)
    metadata = md.parse_body({} if body is None else body, allow_empty=False)
    record = await store.update(user, int_param(request, "id"), metadata)
    return _one(request, record)


async def delete_deposition(request: web.Request) -> web.Response:
    user = require_user(request)
    await server(request).store.delete(user, int_param(request, "id"))
    return web.Response(status=204)


async def publish(request: web.Request) -> web.Response:
    user = require_user(request)
    srv = server(request)
    record = await srv.store.publish(user, int_param(request, "id"))
    if srv.faults.config.hold_after_publish:
        await srv.hold()
    timeout = srv.faults.publish_timeout(record.id)
    return timeout if timeout is not None else _one(request, record, 202)


async def edit(request: web.Request) -> web.Response:
    user = require_user(request)
    return _one(request, await server(request).store.edit(user, int_param(request, "id")), 201)


async def discard(request: web.Request) -> web.Response:
    user = require_user(request)
    await server(request).store.discard(user, int_param(request, "id"))
    return web.Response(status=204)


async def new_version(request: web.Request) -> web.Response:
    user = require_user(request)
    return _one(request, await server(request).store.new_version(user, int_param(request, "id")), 201)


async def list_files(request: web.Request) -> web.Response:
    user = require_user(request)
    record = server(request).store.owned(user, int_param(request, "id"))
    ctx = context(request)
    return web.json_response([legacy_file(record, f, ctx) for f in record.current_files])


async def get_file(request: web.Request) -> web.Response:
    user = require_user(request)
    record = server(request).store.owned(user, int_param(request, "id"))
    stored = _find(record, request.match_info["file_id"])
    return web.json_response(legacy_file(record, stored, context(request)))


async def delete_file(request: web.Request) -> web.Response:
    user = require_user(request)
    store = server(request).store
    record = store.owned(user, int_param(request, "id"))
    stored = _find(record, request.match_info["file_id"])
    await store.remove_file(user, record_id=record.id, file_id=stored.id)
    return web.Response(status=204)


async def upload_multipart(request: web.Request) -> web.Response:
    """Legacy `POST .../files`: multipart `file` (+ optional `name`), key made safe like werkzeug's."""
    user = require_user(request)
    srv = server(request)
    store = srv.store
    record = store.owned(user, int_param(request, "id"))
    draft = store.writable_draft(user, record)
    if not request.content_type.startswith("multipart/"):
        raise ApiError(400, "Send the file as multipart/form-data with a 'file' part (and optional 'name').")
    reader = await request.multipart()
    name: str | None = None
    received = None
    filename = None
    try:
        async for part in reader:
            if not isinstance(part, BodyPartReader):
                continue
            if part.name == "name":
                name = (await part.text()).strip()
            elif part.name == "file":
                filename = part.filename or "file"
                limit = store.room_for(draft, md.secure_filename(name or filename) or filename)
                received = await receive(_part_chunks(part), store.new_tmp_path(), limit=limit)
            else:
                await part.release()
    except BaseException:
        if received is not None:
            received.path.unlink(missing_ok=True)
        raise
    if received is None or filename is None:
        raise ApiError(400, "The multipart body has no 'file' part.")
    key = md.secure_filename(name or filename)
    if not key:
        received.path.unlink(missing_ok=True)
        raise ApiError(400, f"The file name {name or filename!r} has no usable characters; send a 'name'.")
    stored = await store.add_file(user, draft.bucket_id, key, received.path, received.size, received.md5,
                                  guess_mimetype(key))
    fresh = store.owned(user, record.id)
    return web.json_response(legacy_file(fresh, stored, context(request)), status=201)


async def not_implemented(request: web.Request) -> web.Response:
    require_user(request)
    raise ApiError(405, "Sorting and renaming deposition files is not implemented; re-upload under the new key.")


async def _part_chunks(part: BodyPartReader):
    while chunk := await part.read_chunk(CHUNK):
        yield chunk


def _find(record, file_id: str):
    for stored in record.current_files:
        if stored.id == file_id:
            return stored
    raise ApiError(404, "The file does not exist.")


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get(PREFIX, list_depositions, name="deposit_list")
    r.add_post(PREFIX, create_deposition, name="deposit_create")
    one = PREFIX + r"/{id:\d+}"
    r.add_get(one, get_deposition, name="deposit_get")
    r.add_put(one, update_deposition, name="deposit_update")
    r.add_delete(one, delete_deposition, name="deposit_delete")
    r.add_get(one + "/files", list_files, name="deposit_files_list")
    r.add_post(one + "/files", upload_multipart, name="deposit_file_upload")
    r.add_put(one + "/files", not_implemented, name="deposit_files_sort")
    r.add_get(one + "/files/{file_id}", get_file, name="deposit_file_get")
    r.add_delete(one + "/files/{file_id}", delete_file, name="deposit_file_delete")
    r.add_put(one + "/files/{file_id}", not_implemented, name="deposit_file_rename")
    r.add_post(one + "/actions/publish", publish, name="publish")
    r.add_post(one + "/actions/edit", edit, name="edit")
    r.add_post(one + "/actions/discard", discard, name="discard")
    r.add_post(one + "/actions/newversion", new_version, name="newversion")
