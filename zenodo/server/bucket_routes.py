"""Files-REST buckets (`/api/files/<bucket>/<key>`): the one streamed PUT per file Zenodo offers."""

from __future__ import annotations

import contextlib

from aiohttp import web

from zenodo_atlas.zenodo.server.access import can_download
from zenodo_atlas.zenodo.server.context import CUT_KEY, FORBIDDEN, context, require_user, server
from zenodo_atlas.zenodo.server.responses import ApiError
from zenodo_atlas.zenodo.server.serializers import bucket, bucket_object
from zenodo_atlas.zenodo.server.state import QUOTA_MESSAGE, Draft
from zenodo_atlas.zenodo.server.transfer import UploadCut, body_chunks, guess_mimetype, receive, send_file

_CUT_AT = 64 * 1024


async def put_object(request: web.Request) -> web.StreamResponse:
    user = require_user(request)
    srv = server(request)
    store = srv.store
    bucket_id, key = request.match_info["bucket"], request.match_info["key"]
    record, side = store.by_bucket(bucket_id)
    draft = store.writable_draft(user, record, side)
    limit = store.room_for(draft, key)
    length = request.content_length
    if length is not None and length > limit:
        raise ApiError(400, QUOTA_MESSAGE)
    if srv.faults.hold_upload():
        await srv.hold()
    cut_after = None
    if srv.faults.cut_upload():
        cut_after = min(_CUT_AT, max((length or _CUT_AT) // 2, 1))
    try:
        received = await receive(body_chunks(request), store.new_tmp_path(), limit=limit, cut_after=cut_after)
    except UploadCut:
        _drop_connection(request)
        request[CUT_KEY] = True
        return web.Response(status=500)
    stored = await store.add_file(user, bucket_id, key, received.path, received.size, received.md5,
                                  guess_mimetype(key))
    srv.faults.upload_stored()
    return web.json_response(bucket_object(bucket_id, stored, context(request)), status=201)


def _drop_connection(request: web.Request) -> None:
    transport = request.transport
    if transport is not None:
        with contextlib.suppress(Exception):
            transport.abort()


async def list_bucket(request: web.Request) -> web.Response:
    user = require_user(request)
    store = server(request).store
    record, side = store.by_bucket(request.match_info["bucket"])
    if record.owner != user:
        raise ApiError(403, FORBIDDEN)
    return web.json_response(bucket(request.match_info["bucket"], side, store, context(request)))


async def get_object(request: web.Request) -> web.StreamResponse:
    store = server(request).store
    record, side = store.by_bucket(request.match_info["bucket"])
    user = require_user(request) if isinstance(side, Draft) else None
    if isinstance(side, Draft) and record.owner != user:
        raise ApiError(403, FORBIDDEN)
    if not isinstance(side, Draft) and not can_download(record, request):
        raise ApiError(403, FORBIDDEN)
    key = request.match_info["key"]
    stored = next((f for f in side.files if f.key == key), None)
    if stored is None:
        raise ApiError(404, "The object does not exist.")
    return await send_file(request, store.blob_path(stored.blob), stored)


async def delete_object(request: web.Request) -> web.Response:
    user = require_user(request)
    await server(request).store.remove_file(user, bucket_id=request.match_info["bucket"],
                                            key=request.match_info["key"])
    return web.Response(status=204)


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/api/files/{bucket}", list_bucket, name="bucket_list")
    # '/<bucket_id>/<key>' without a path converter: a key holding '/' is a 404 on zenodo.org
    # (zenodo-rdm site/zenodo_rdm/legacy/resources.py LegacyFilesRESTResourceConfig.routes).
    r.add_put("/api/files/{bucket}/{key}", put_object, name="bucket_put")
    r.add_get("/api/files/{bucket}/{key}", get_object, name="bucket_get")
    r.add_delete("/api/files/{bucket}/{key}", delete_object, name="bucket_delete")

