"""The aiohttp application: middlewares (log, rate limit, JSON errors, faults, auth) and routes."""

from __future__ import annotations

import re
from pathlib import Path

from aiohttp import web

from zenodo_atlas.zenodo.server import bucket_routes, deposit_routes, record_routes
from zenodo_atlas.zenodo.server.context import (
    CUT_KEY,
    RATE_HEADERS,
    SERVER,
    USER_KEY,
    ServedRequest,
    ServerState,
    server,
)
from zenodo_atlas.zenodo.server.faults import FaultConfig, FaultInjector
from zenodo_atlas.zenodo.server.limits import RateLimiter
from zenodo_atlas.zenodo.server.responses import ApiError, json_error
from zenodo_atlas.zenodo.server.state import Quota, Store

_BEARER = re.compile(r"^\s*Bearer\s+(\S+)\s*$", re.IGNORECASE)
_HTTP_MESSAGES = {
    404: "The requested URL was not found on the server. If you entered the URL manually please "
         "check your spelling and try again.",
    405: "The method is not allowed for the requested URL.",
    413: "Request Entity Too Large",
}


def _token(request: web.Request) -> str | None:
    """The token a request carries; raises 401 when the Authorization header is not `Bearer <token>`."""
    header = request.headers.get("Authorization")
    if header is not None:
        match = _BEARER.match(header)
        if match is None:
            raise ApiError(401, "The Authorization header must be 'Bearer <token>'.")
        return match.group(1)
    return request.query.get("access_token") or None


@web.middleware
async def record_requests(request: web.Request, handler) -> web.StreamResponse:
    status = 0
    try:
        response = await handler(request)
        status = 0 if request.get(CUT_KEY) else response.status
        return response
    finally:
        name = request.match_info.route.name if request.match_info.route else None
        server(request).log(ServedRequest(request.method, request.path, status, name or "unknown"))


@web.middleware
async def rate_limit(request: web.Request, handler) -> web.StreamResponse:
    srv = server(request)
    try:
        token = _token(request)
    except ApiError:
        token = None
    caller = f"token:{token}" if token in srv.tokens else f"addr:{request.remote}"
    allowed, headers = srv.limiter.hit(caller)
    request[RATE_HEADERS] = headers
    if not allowed:
        return json_error(429, srv.limiter.message)
    return await handler(request)


async def _add_rate_headers(request: web.Request, response: web.StreamResponse) -> None:
    for name, value in request.get(RATE_HEADERS, {}).items():
        response.headers.setdefault(name, value)


@web.middleware
async def json_errors(request: web.Request, handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        return json_error(exc.status, exc.message, exc.errors)
    except web.HTTPException as exc:
        if exc.status < 400:
            return web.Response(status=exc.status, headers=exc.headers)
        response = json_error(exc.status, _HTTP_MESSAGES.get(exc.status, exc.reason))
        if "Allow" in exc.headers:
            response.headers["Allow"] = exc.headers["Allow"]
        return response


@web.middleware
async def inject_faults(request: web.Request, handler) -> web.StreamResponse:
    fault = server(request).faults.before_request(request)
    return fault if fault is not None else await handler(request)


@web.middleware
async def authenticate(request: web.Request, handler) -> web.StreamResponse:
    srv = server(request)
    token = _token(request)
    if token is not None:
        if token not in srv.tokens:
            raise ApiError(403, "The access token is invalid or has expired; check the token you configured.")
        request[USER_KEY] = srv.tokens[token]
    return await handler(request)


def create_app(
    *,
    data_dir: Path,
    tokens: dict[str, int],
    doi_prefix: str = "10.5072",
    max_record_bytes: int = 50_000_000_000,
    max_record_files: int = 100,
    faults: FaultConfig | None = None,
    rate_limit_per_minute: int = 1000,
) -> web.Application:
    """An app serving the Zenodo API under /api with its state kept in `data_dir`."""
    store = Store(Path(data_dir), Quota(max_record_bytes=max_record_bytes, max_record_files=max_record_files))
    store.load()
    app = web.Application(middlewares=[record_requests, rate_limit, json_errors, inject_faults, authenticate])
    app[SERVER] = ServerState(
        store=store, tokens=dict(tokens), doi_prefix=doi_prefix,
        limiter=RateLimiter(rate_limit_per_minute), faults=FaultInjector(faults or FaultConfig()),
    )
    app.on_response_prepare.append(_add_rate_headers)
    deposit_routes.add_routes(app)
    bucket_routes.add_routes(app)
    record_routes.add_routes(app)
    return app
