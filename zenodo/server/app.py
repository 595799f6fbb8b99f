"""The aiohttp application: middlewares (log, rate limit, JSON errors, faults, auth) and routes."""

from __future__ import annotations

import re
from pathlib import Path

from aiohttp import web

from zenodo_atlas.zenodo.server import bucket_routes, deposit_routes, rdm_routes, record_routes
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
from zenodo_atlas.zenodo.server.realistic import SEARCH_KINDS, Realism
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
        log = ServedRequest(request.method, request.path, status, name or "unknown", request.headers.get("Range"))
        server(request).log(log)


@web.middleware
async def rate_limit(request: web.Request, handler) -> web.StreamResponse:
    srv = server(request)
    try:
        token = _token(request)
    except ApiError:
        token = None
    known = token in srv.tokens
    caller = f"token:{token}" if known else f"addr:{request.remote}"
    limiter = srv.limiter if known or srv.guest_limiter is None else srv.guest_limiter
    allowed, headers = limiter.hit(caller)
    request[RATE_HEADERS] = headers
    if not allowed:
        return json_error(429, limiter.message)
    if srv.search_limiter is not None and _kind(request) in SEARCH_KINDS:
        allowed, search_headers = srv.search_limiter.hit(caller)
        if not allowed:
            request[RATE_HEADERS] = search_headers
            return json_error(429, srv.search_limiter.message)
    return await handler(request)


def _kind(request: web.Request) -> str | None:
    route = request.match_info.route
    return route.name if route is not None else None


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
    faults = server(request).faults
    fault = faults.before_request(request)
    if fault is not None:
        return fault
    response = await handler(request)
    if 200 <= response.status < 300:
        return faults.timeout_after_commit(_kind(request)) or response
    return response


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
    realism: Realism | None = None,
) -> web.Application:
    """An app serving the Zenodo API under /api with its state kept in `data_dir`.

    With `realism`, the timing- and load-dependent zenodo.org behaviours are on (see realistic.py);
    its request budgets replace `rate_limit_per_minute`, and unless `faults` is given its
    504-after-commit rate becomes the fault configuration.
    """
    store = Store(Path(data_dir), Quota(max_record_bytes=max_record_bytes, max_record_files=max_record_files),
                  index_lag=realism.index_lag if realism else 0.0)
    store.load()
    if realism is not None and faults is None:
        faults = FaultConfig(timeout_after_commit_rate=realism.timeout_after_commit_rate, seed=realism.seed)
    app = web.Application(middlewares=[record_requests, rate_limit, json_errors, inject_faults, authenticate])
    app[SERVER] = ServerState(
        store=store, tokens=dict(tokens), doi_prefix=doi_prefix,
        limiter=RateLimiter(realism.token_per_minute if realism else rate_limit_per_minute),
        faults=FaultInjector(faults or FaultConfig()), realism=realism,
        guest_limiter=RateLimiter(realism.guest_per_minute) if realism else None,
        search_limiter=RateLimiter(realism.search_per_minute) if realism else None,
    )
    app.on_response_prepare.append(_add_rate_headers)
    deposit_routes.add_routes(app)
    bucket_routes.add_routes(app)
    record_routes.add_routes(app)
    rdm_routes.add_routes(app)
    return app
