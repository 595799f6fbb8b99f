"""What every handler shares: the server state object and the helpers to read a request."""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import dataclass, field
from typing import NamedTuple

from aiohttp import web

from zenodo_atlas.zenodo.server import search
from zenodo_atlas.zenodo.server.faults import FaultInjector
from zenodo_atlas.zenodo.server.limits import RateLimiter
from zenodo_atlas.zenodo.server.realistic import Realism
from zenodo_atlas.zenodo.server.responses import ApiError
from zenodo_atlas.zenodo.server.serializers import Context
from zenodo_atlas.zenodo.server.state import Store
from zenodo_atlas.zenodo.server.transfer import Received

FORBIDDEN = "You don't have the permission to access the requested resource."


class ServedRequest(NamedTuple):
    """One answered request; `path` never includes the query string (it may hold a token).

    `kind` names the route (see LocalZenodo.count); status 0 means the connection was cut.
    """

    method: str
    path: str
    status: int
    kind: str = "unknown"
    range: str | None = None
    """The request's Range header (a resumed download)."""


@dataclass
class ServerState:
    store: Store
    tokens: dict[str, int]
    doi_prefix: str
    limiter: RateLimiter
    faults: FaultInjector = field(default_factory=FaultInjector)
    realism: Realism | None = None
    guest_limiter: RateLimiter | None = None
    search_limiter: RateLimiter | None = None
    request_log: list[ServedRequest] = field(default_factory=list)
    logged: threading.Condition = field(default_factory=threading.Condition)
    held_uploads: int = 0
    # RDM 3-step uploads between init and commit: (record id, key) -> received bytes (None until PUT).
    pending_files: dict[tuple[int, str], Received | None] = field(default_factory=dict)
    _release: asyncio.Event | None = None

    async def hold(self) -> None:
        """Park an upload until `release_held` (runs in the server's loop)."""
        if self._release is None:
            self._release = asyncio.Event()
        release = self._release
        with self.logged:
            self.held_uploads += 1
            self.logged.notify_all()
        await release.wait()

    def release_held(self) -> None:
        """Let every parked upload go on (runs in the server's loop)."""
        if self._release is not None:
            self._release.set()
            self._release = None

    def log(self, entry: ServedRequest) -> None:
        """Append an answered request, waking anyone waiting in `wait_for`."""
        with self.logged:
            self.request_log.append(entry)
            self.logged.notify_all()


SERVER = web.AppKey("server", ServerState)
USER_KEY = web.RequestKey("zenodo_user", int)
CUT_KEY = web.RequestKey("zenodo_connection_cut", bool)
RATE_HEADERS = web.RequestKey("zenodo_rate_headers", dict)


def server(request: web.Request) -> ServerState:
    return request.app[SERVER]


def context(request: web.Request) -> Context:
    srv = server(request)
    return Context(base=f"{request.scheme}://{request.host}", doi_prefix=srv.doi_prefix,
                   thumbnails=bool(srv.realism and srv.realism.thumbnails))


def page_params(request: web.Request) -> tuple[int, int]:
    """`page`/`size` of a search; realistic mode applies zenodo.org's caps (25 guest, 100 token, 10,000 hits)."""
    realism = server(request).realism
    if realism is None:
        return search.page_params(request.query)
    cap = realism.token_page_size if user_of(request) is not None else realism.guest_page_size
    return search.page_params(request.query, max_size=min(cap, search.MAX_PAGE_SIZE),
                              max_results=realism.max_results)


def user_of(request: web.Request) -> int | None:
    return request.get(USER_KEY)


def require_user(request: web.Request) -> int:
    user = user_of(request)
    if user is None:
        raise ApiError(403, FORBIDDEN)
    return user


def int_param(request: web.Request, name: str) -> int:
    return int(request.match_info[name])


async def json_body(request: web.Request) -> object | None:
    """The parsed JSON body, None when there is none; 415 for a declared non-JSON content type.

    A body without `Content-Type` is read as JSON, as zenodo.org does: flask-resources falls back
    to the resource's default content type (inveniosoftware/flask-resources
    flask_resources/parsers/decorators.py request_body_parser; zenodo-rdm legacy/resources.py).
    zenodopy's create_project and change_metadata send no Content-Type and rely on it.
    """
    raw = await request.read()
    if "Content-Type" in request.headers and request.content_type != "application/json":
        raise ApiError(415, "Invalid 'Content-Type' header. Expected one of: application/json.")
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiError(400, f"The request body is not valid JSON: {exc}.") from None
