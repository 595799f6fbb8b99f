"""The background Prefect server's app: Prefect's own, with a `Retry-After` on its 503 answers.

On SQLite, Prefect's server answers 503 when a write finds the database locked
(`prefect/server/api/server.py`, `custom_internal_exception_handler`), and without a `Retry-After`
its client sleeps 2, 4, 8, 16, 32 s (`prefect/client/base.py`). A lock clears in milliseconds, so a
single command waited ~2 s of its ~3 s for nothing (issue 16). Here a 503 tells the client when to
come back: soon while 503s are rare, twice as late for each one in the last few seconds, so a batch
that keeps the database busy backs off as before. The CLI gives clients of this server more tries
(`prefect_server.CLIENT_MAX_RETRIES`) to keep their total patience.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from prefect.server.api.server import create_app as create_prefect_app

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

FIRST_RETRY_S = 0.1
LONGEST_RETRY_S = 8.0
WINDOW_S = 1.0


class RetryAfter:
    """ASGI middleware: `Retry-After` on every 503 that lacks one, growing with recent 503s."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.recent: deque[float] = deque()

    def delay(self, now: float) -> float:
        while self.recent and now - self.recent[0] > WINDOW_S:
            self.recent.popleft()
        self.recent.append(now)
        return min(LONGEST_RETRY_S, FIRST_RETRY_S * 2 ** (len(self.recent) - 1))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def answer(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 503:
                headers = list(message.get("headers", []))
                if not any(name.lower() == b"retry-after" for name, _ in headers):
                    headers.append((b"retry-after", f"{self.delay(time.monotonic()):g}".encode()))
                    message["headers"] = headers
            await send(message)

        await self.app(scope, receive, answer)


def create_app() -> ASGIApp:
    """The factory uvicorn runs (`prefect_server.ensure`)."""
    return RetryAfter(create_prefect_app())
