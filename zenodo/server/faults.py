"""Deterministic fault injection: the failures real zenodo.org produces, on demand and seeded."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from aiohttp import web

from zenodo_atlas.zenodo.server.responses import html_error, json_error

_ERROR_STATUSES = (500, 502, 503)
_ERROR_MESSAGES = {
    500: "The server encountered an internal error and was unable to complete your request. "
         "Either the server is overloaded or there is an error in the application.",
    502: "Bad gateway.",
    503: "Service temporarily unavailable.",
}


# Actions zenodo.org may apply and still answer 504 (zenodo/zenodo#2131, #2442).
COMMITTING_KINDS = frozenset({
    "deposit_create", "rdm_create", "newversion", "rdm_new_version", "publish", "rdm_publish",
    "bucket_put", "rdm_file_content",
})


@dataclass(frozen=True)
class FaultConfig:
    """Which faults to inject.

    error_rate: share of requests answered 500/502/503 before they do anything; of those,
        html_error_share come as an nginx HTML page, the rest as JSON.
    reset_rate: share of bucket PUT uploads whose connection is cut mid-body (nothing is stored).
    burst_429_every: every N-th request (0 = never) starts a burst of burst_429_length
        429 answers with `Retry-After: 1`; requests served between bursts are not counted twice.
    publish_504_after_commit: the first publish of each deposition really publishes, then
        answers an HTML 504, as zenodo.org does when publishing is slow (zenodo#2131).
    timeout_after_commit_rate: share of successful requests of the route kinds in
        timeout_after_commit_kinds (creates, newversions, publishes, file PUTs) whose answer is
        replaced by an nginx 504 after the action was applied (zenodo#2131, #2442).
    hold_uploads_after: after this many stored bucket PUTs, further PUTs are held open without
        reading their body until the faults change or the server stops: the moment to kill a
        client in the middle of an upload, found without timing guesses (see LocalZenodo.wait_held).
    hold_after_publish: a publish really publishes, then its answer is held like an upload (see
        LocalZenodo.wait_held): the moment to kill a client that published but never heard back.
    empty_searches: records searches (/api/records, a record's versions, a community's records)
        answer 200 with an empty body, as a misbehaving gateway does: the client must read that as
        an error, never as "no records" (issue 12: an auto-update took it for "nothing new").
    wrong_shapes: maps route names (e.g. "record_get", "records_search") to the JSON value a GET
        of that route answers with status 200 in place of its object, as a misrouted proxy or a
        non-Zenodo service does: the client must say so, not fail on `'int' object has no attribute`.
    cut_downloads: the first whole-file GET of each published file's content closes its connection
        after half the bytes, as zenodo.org's long downloads do ("Connection closed at byte N",
        zenodo/zenodo#2014); GETs with a Range (a resume, a zip's directory) are served in full.
    seed: seeds the random draws so a test sees the same faults on every run.
    """

    error_rate: float = 0.0
    html_error_share: float = 0.5
    reset_rate: float = 0.0
    burst_429_every: int = 0
    burst_429_length: int = 3
    publish_504_after_commit: bool = False
    timeout_after_commit_rate: float = 0.0
    timeout_after_commit_kinds: frozenset[str] = COMMITTING_KINDS
    hold_uploads_after: int | None = None
    hold_after_publish: bool = False
    empty_searches: bool = False
    wrong_shapes: dict[str, object] = field(default_factory=dict)
    cut_downloads: bool = False
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("error_rate", "html_error_share", "reset_rate", "timeout_after_commit_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"FaultConfig.{name} must be between 0 and 1, got {value}.")
        if self.burst_429_every < 0 or self.burst_429_length < 1:
            raise ValueError("FaultConfig.burst_429_every must be >= 0 and burst_429_length >= 1.")


@dataclass
class FaultInjector:
    """The running state of one FaultConfig: its RNG, the request counter and open bursts."""

    config: FaultConfig = field(default_factory=FaultConfig)
    _rng: random.Random = field(init=False)
    _served: int = field(default=0, init=False)
    _burst_left: int = field(default=0, init=False)
    _published_504: set[int] = field(default_factory=set, init=False)
    _stored_uploads: int = field(default=0, init=False)
    _cut_blobs: set[str] = field(default_factory=set, init=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.config.seed)

    def before_request(self, request: web.Request) -> web.Response | None:
        """A fault answer for this request, or None to let it through."""
        cfg = self.config
        if cfg.empty_searches and request.method == "GET" and _route(request) in _SEARCH_ROUTES:
            return web.Response(status=200, content_type="application/json")
        route = _route(request)
        if request.method == "GET" and route is not None and route in cfg.wrong_shapes:
            return web.json_response(cfg.wrong_shapes[route])
        if self._burst_left > 0:
            self._burst_left -= 1
            return _too_many()
        if cfg.burst_429_every:
            self._served += 1
            if self._served % cfg.burst_429_every == 0:
                self._burst_left = cfg.burst_429_length - 1
                return _too_many()
        if cfg.error_rate and self._rng.random() < cfg.error_rate:
            status = self._rng.choice(_ERROR_STATUSES)
            if self._rng.random() < cfg.html_error_share:
                return html_error(status)
            return json_error(status, _ERROR_MESSAGES[status])
        return None

    def hold_upload(self) -> bool:
        after = self.config.hold_uploads_after
        return after is not None and self._stored_uploads >= after

    def upload_stored(self) -> None:
        self._stored_uploads += 1

    def cut_upload(self) -> bool:
        return bool(self.config.reset_rate) and self._rng.random() < self.config.reset_rate

    def cut_download(self, blob: str) -> bool:
        """Whether this GET of `blob` is the one to cut (the first, when `cut_downloads`)."""
        if not self.config.cut_downloads or blob in self._cut_blobs:
            return False
        self._cut_blobs.add(blob)
        return True

    def timeout_after_commit(self, kind: str | None) -> web.Response | None:
        """An HTML 504 in place of an applied action's answer, drawn at `timeout_after_commit_rate`."""
        cfg = self.config
        if not cfg.timeout_after_commit_rate or kind not in cfg.timeout_after_commit_kinds:
            return None
        return html_error(504) if self._rng.random() < cfg.timeout_after_commit_rate else None

    def publish_timeout(self, record_id: int) -> web.Response | None:
        """The 504 for the first publish of `record_id` (already committed), once per deposition."""
        if not self.config.publish_504_after_commit or record_id in self._published_504:
            return None
        self._published_504.add(record_id)
        return html_error(504)


_SEARCH_ROUTES = {"records_search", "record_versions", "community_records"}


def _route(request: web.Request) -> str | None:
    return request.match_info.route.name


def _too_many() -> web.Response:
    response = json_error(429, "Too many requests: burst limit reached, retry after 1 second.")
    response.headers["Retry-After"] = "1"
    return response
