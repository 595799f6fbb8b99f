"""One HTTP session to one Zenodo: auth header, rate limit, retries with backoff, error mapping.

Retry rules: idempotent calls (GET, PUT, DELETE) are retried on 429, 500/502/503/504, timeouts and
broken connections; non-idempotent POSTs only on 429 and on connections that failed before the
request left (anything else could have been applied: the caller re-reads state instead).
Waits use exponential backoff with full jitter, and never less than the server's Retry-After.
"""

from __future__ import annotations

import asyncio
import enum
import json as jsonlib
import logging
import random
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from importlib import metadata
from typing import Any, TypeVar
from urllib.parse import urlsplit

import aiohttp
import pydantic
from multidict import CIMultiDictProxy
from pydantic import SecretStr

from zenodo_atlas.zenodo.errormap import error_for
from zenodo_atlas.zenodo.errors import InvalidInputError, RateLimitedError, ServerError, ZenodoError
from zenodo_atlas.zenodo.ratelimit import HostLimiter

log = logging.getLogger("zenodo")
M = TypeVar("M", bound=pydantic.BaseModel)

Params = dict[str, str] | list[tuple[str, str]]
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
TRANSPORT_ERRORS = (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, asyncio.TimeoutError)


def _version() -> str:
    try:
        return metadata.version("zenodo-atlas")
    except metadata.PackageNotFoundError:
        return "0"


DEFAULT_USER_AGENT = (
    f"zenodo-atlas/{_version()} (+https://github.com/zenodo-atlas/zenodo-atlas; "
    f"python aiohttp/{aiohttp.__version__})"
)


class Retry(enum.Enum):
    ALWAYS = "always"
    """Idempotent: safe to send again whatever happened."""
    UNSENT = "unsent"
    """Non-idempotent: only resend when the server certainly did not act (429, no connection)."""


@dataclass(frozen=True)
class Backoff:
    max_retries: int = 6
    base: float = 0.5
    cap: float = 30.0

    def delay(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(cap, base * 2**(attempt-1))]."""
        return random.uniform(0, min(self.cap, self.base * 2 ** max(0, attempt - 1)))


@dataclass(frozen=True)
class Response:
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes
    request: str
    """`METHOD /path` it answers, for messages."""
    origin: str = ""
    """`scheme://host` of the server that answered, for messages (never a query string or token)."""

    def json(self) -> Any:
        try:
            return jsonlib.loads(self.body) if self.body else None
        except ValueError:
            kind = "HTML" if self.body.lstrip()[:1] == b"<" else "non-JSON"
            raise ServerError(
                f"{self.request} answered HTTP {self.status} with a {kind} body where JSON was expected "
                "(a proxy or maintenance page?); try again later.",
                status=self.status,
            ) from None

    def wrong_shape(self, payload: Any, expected: str) -> ServerError:
        """The error for a body of the wrong JSON type: said plainly, not as `'int' object has no attribute`."""
        where = f"Zenodo at {self.origin}" if self.origin else "Zenodo"
        return ServerError(
            f"{where} answered {self.request} (HTTP {self.status}) with {_what(payload)} where {expected} was "
            "expected; check ZENODO_URL points at a Zenodo API, else try again later.",
            status=self.status,
        )

    def json_object(self, expected: str) -> dict[str, Any]:
        """The body, which must be a JSON object (`expected` says which, for the message)."""
        payload = self.json()
        if not isinstance(payload, dict):
            raise self.wrong_shape(payload, expected)
        return payload

    def parse(self, model: type[M]) -> M:
        """The body as `model`; a shape we cannot read is Zenodo's problem, reported as ServerError."""
        return self.shaped(model, self.json())

    def parse_list(self, model: type[M]) -> list[M]:
        payload = self.json()
        if not isinstance(payload, list):  # an empty body too: "no items" must be said, not implied
            raise self.wrong_shape(payload, f"a JSON list of {model.__name__}")
        return [self.shaped(model, item) for item in payload]

    def shaped(self, model: type[M], payload: Any) -> M:
        """`payload` (this response's body or a part of it) as `model`, or a ServerError naming the
        server, the request and the first problems."""
        if not isinstance(payload, dict):
            raise self.wrong_shape(payload, f"a {model.__name__} object")
        try:
            return model.model_validate(payload)
        except pydantic.ValidationError as exc:
            problem = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(body)'}: {e['msg']}" for e in exc.errors()[:3])
            raise ServerError(
                f"{self.request} answered HTTP {self.status} with a {model.__name__} Zenodo-JSON this client cannot "
                f"read ({problem}).",
                status=self.status,
            ) from None


def _what(payload: Any) -> str:
    """A JSON value described for a message: its type, and the value itself when it is short."""
    if payload is None:
        return "an empty body"
    if isinstance(payload, list):
        return f"a JSON list of {len(payload)} item(s)"
    kind = {bool: "boolean", int: "number", float: "number", str: "string", dict: "object"}.get(type(payload), "value")
    text = jsonlib.dumps(payload)
    return f"a JSON {kind}" + (f" ({text})" if len(text) <= 40 else "")


def retry_after(headers: CIMultiDictProxy[str] | dict) -> float | None:
    value = headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


class Transport:
    """Owns the one `aiohttp.ClientSession`; everything else in the client goes through it."""

    def __init__(
        self,
        base_url: str,
        token: SecretStr | None,
        *,
        limiter_factory: Callable[[], HostLimiter],
        backoff: Backoff,
        timeout: aiohttp.ClientTimeout,
        deadline: float | None,
        user_agent: str,
    ):
        self.base_url = base_url
        self._token = token
        self._origin = _origin(base_url)
        self._limiter_factory = limiter_factory
        self._limiter: HostLimiter | None = None
        self.backoff = backoff
        self._timeout = timeout
        self.deadline = deadline
        self._user_agent = user_agent
        self._session: aiohttp.ClientSession | None = None

    @property
    def has_token(self) -> bool:
        return self._token is not None

    async def open(self) -> None:
        if self._session is None:
            self._limiter = self._limiter_factory()
            self._session = aiohttp.ClientSession(
                timeout=self._timeout,
                headers={"User-Agent": self._user_agent, "Accept": "application/json"},
            )

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise _not_open()
        return self._session

    @property
    def limiter(self) -> HostLimiter:
        if self._limiter is None:
            raise _not_open()
        return self._limiter

    def url(self, path_or_url: str) -> str:
        if path_or_url.startswith(("http://", "https://")):
            return path_or_url
        return f"{self.base_url}/{path_or_url.lstrip('/')}"

    def headers_for(self, url: str, extra: dict[str, str] | None = None) -> dict[str, str]:
        """The token goes only to Zenodo's own origin, and only in the Authorization header."""
        headers = dict(extra or {})
        if self._token is not None and _origin(url) == self._origin:
            headers["Authorization"] = f"Bearer {self._token.get_secret_value()}"
        return headers

    def scrub(self, text: str) -> str:
        if self._token is not None:
            secret = self._token.get_secret_value()
            if secret:
                text = text.replace(secret, "***")
        return text

    async def request(
        self,
        method: str,
        path_or_url: str,
        *,
        params: Params | None = None,
        json: Any = None,
        body: Callable[[], AsyncIterable[bytes]] | None = None,
        headers: dict[str, str] | None = None,
        retry: Retry = Retry.ALWAYS,
        on_retry: Callable[[], None] | None = None,
        abort: Callable[[], Exception | None] | None = None,
        settled: Callable[[], Awaitable[Response | None]] | None = None,
    ) -> Response:
        """Send until a 2xx/3xx answer or a final error; `body()` is called afresh per attempt.

        `abort()` is asked after a broken connection whether the body itself failed (then that error
        is raised instead of retrying), because aiohttp reports body errors as connection errors.
        `settled()` is asked before resending after a 5xx or a broken connection whether the request
        was applied anyway (zenodo#2131, #2442); an answer it returns is used instead of resending.
        Without a body the whole call, retries included, must end within the deadline: a server that
        never answers, or trickles its answer, fails in bounded time. An upload body can take hours,
        so it is bounded by the stall timeout on each read instead.
        """
        url = self.url(path_or_url)
        path = urlsplit(url).path
        attempts = self._attempts(method, url, path, params, json, body, headers, retry, on_retry, abort, settled)
        if body is not None or self.deadline is None:
            return await attempts
        try:
            async with asyncio.timeout(self.deadline):
                return await attempts
        except TimeoutError:
            host = urlsplit(url).netloc
            raise ServerError(
                f"{host} did not answer {method} {path} within {self.deadline:g} s (retries included); "
                "check that the server is up, or raise the deadline."
            ) from None

    async def _attempts(
        self,
        method: str,
        url: str,
        path: str,
        params: Params | None,
        json: Any,
        body: Callable[[], AsyncIterable[bytes]] | None,
        headers: dict[str, str] | None,
        retry: Retry,
        on_retry: Callable[[], None] | None,
        abort: Callable[[], Exception | None] | None,
        settled: Callable[[], Awaitable[Response | None]] | None,
    ) -> Response:
        limit = self.backoff.max_retries
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self._send(method, url, params, json, body, headers)
            except TRANSPORT_ERRORS as exc:
                if abort is not None and (cause := abort()) is not None:
                    raise cause from None
                unsent = isinstance(exc, aiohttp.ClientConnectorError)
                error: ZenodoError = ServerError(self.scrub(f"{method} {path} failed: {_describe(exc)}"))
                if attempt > limit or not (retry is Retry.ALWAYS or unsent):
                    raise error from None
                if settled is not None and not unsent and (done := await settled()) is not None:
                    log.info("%s %s: applied despite the failure, not resending", method, path)
                    return done
                await self._wait(error, attempt, limit, None, on_retry)
                continue
            log.debug("%s %s -> %d (attempt %d)", method, path, response.status, attempt)
            if response.status < 400:
                return response
            wait_hint = retry_after(response.headers) if response.status == 429 else None
            error = self._error(method, path, response, wait_hint)
            retryable = response.status == 429 or (
                retry is Retry.ALWAYS and response.status in RETRYABLE_STATUS
            )
            if not retryable or attempt > limit:
                raise error
            if settled is not None and response.status != 429 and (done := await settled()) is not None:
                log.info("%s %s: applied despite HTTP %d, not resending", method, path, response.status)
                return done
            await self._wait(error, attempt, limit, wait_hint, on_retry)

    async def _send(
        self,
        method: str,
        url: str,
        params: Params | None,
        json: Any,
        body: Callable[[], AsyncIterable[bytes]] | None,
        headers: dict[str, str] | None,
    ) -> Response:
        await self.limiter.acquire()
        data = body() if body is not None else None
        async with self.session.request(
            method, url, params=params, json=json, data=data, headers=self.headers_for(url, headers)
        ) as resp:
            content = await resp.read()
            self.limiter.observe(resp.headers)
            parts = urlsplit(url)
            return Response(resp.status, resp.headers, content, f"{method} {parts.path}",
                            f"{parts.scheme}://{parts.netloc}")

    def _error(self, method: str, path: str, response: Response, wait_hint: float | None) -> ZenodoError:
        error = error_for(
            method,
            path,
            response.status,
            response.body,
            response.headers.get("Content-Type", ""),
            retry_after=wait_hint,
        )
        error.args = (self.scrub(str(error)),)
        return error

    async def _wait(
        self,
        error: ZenodoError,
        attempt: int,
        limit: int,
        server_wait: float | None,
        on_retry: Callable[[], None] | None,
    ) -> None:
        delay = self.backoff.delay(attempt)
        if server_wait is not None:
            self.limiter.pause(server_wait)
            delay = max(delay, server_wait)
        log.warning("%s; retrying in %.2fs (attempt %d of %d)", _short(error), delay, attempt + 1, limit + 1)
        if on_retry is not None:
            on_retry()
        await asyncio.sleep(delay)

    async def wait_before_retry(self, method: str, path: str, error: Exception, attempt: int) -> None:
        """The same backoff, for callers that run their own retry loop (actions, downloads)."""
        server_wait = error.retry_after if isinstance(error, RateLimitedError) else None
        if not isinstance(error, ZenodoError):
            error = ServerError(self.scrub(f"{method} {path} failed: {_describe(error)}"))
        await self._wait(error, attempt, self.backoff.max_retries, server_wait, None)

    @asynccontextmanager
    async def stream(
        self, method: str, url: str, *, headers: dict[str, str] | None = None
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """One attempt whose body the caller reads; non-2xx answers are raised as mapped errors."""
        path = urlsplit(url).path
        await self.limiter.acquire()
        async with self.session.request(method, url, headers=self.headers_for(url, headers)) as resp:
            self.limiter.observe(resp.headers)
            log.debug("%s %s -> %d (stream)", method, path, resp.status)
            if resp.status >= 400:
                content = await resp.read()
                wait_hint = retry_after(resp.headers) if resp.status == 429 else None
                raise self._error(method, path, Response(resp.status, resp.headers, content, path), wait_hint)
            yield resp


def _not_open() -> ZenodoError:
    return ZenodoError("The ZenodoClient is not open: use it as `async with ZenodoClient(...) as client:`.")


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        raise InvalidInputError(f"{url!r} is not an absolute http(s) URL (expected e.g. https://zenodo.org/api).")
    return parts.scheme.lower(), parts.netloc.lower()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, asyncio.TimeoutError):
        return "timed out"
    return f"connection error ({type(exc).__name__}: {exc})".replace(": )", ")")


def _short(error: Exception) -> str:
    text = str(error)
    return text if len(text) <= 160 else text[:157] + "..."


def is_retryable(error: Exception) -> bool:
    """Would a resend be safe and useful (for idempotent calls)?"""
    if isinstance(error, RateLimitedError):
        return True
    if isinstance(error, ServerError):
        return error.status is None or error.status in RETRYABLE_STATUS
    return isinstance(error, TRANSPORT_ERRORS)
