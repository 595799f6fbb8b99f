"""Turn a non-2xx Zenodo answer into the exception a caller can act on.

Zenodo answers errors in three shapes: `{"status","message"}`, RDM validation errors
(`errors: [{field, messages: [...]}]`) and the legacy `{field, message}` list; nginx in front of it
answers 413/502/504 with HTML. Messages name the method and the path (never the query string,
which could hold a token) and quote what Zenodo said.
"""

from __future__ import annotations

import json
from http import HTTPStatus

from zenodo_atlas.zenodo.errors import (
    AuthenticationError,
    DraftExistsError,
    NotFoundError,
    QuotaExceededError,
    RateLimitedError,
    ServerError,
    ValidationError,
    ZenodoError,
)

DRAFT_EXISTS = "Please remove all files first."
QUOTA_EXCEEDED = "Bucket quota exceeded."


def reason_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def parse_body(body: bytes, content_type: str) -> tuple[str | None, dict[str, list[str]], bool]:
    """(Zenodo's message, field errors, whether the body was HTML)."""
    text = body.decode("utf-8", "replace").strip()
    looks_html = "html" in content_type.lower() or text[:1] == "<"
    if looks_html:
        return None, {}, True
    try:
        payload = json.loads(text) if text else None
    except ValueError:
        return (text[:200] or None), {}, False
    if not isinstance(payload, dict):
        return None, {}, False
    message = payload.get("message")
    return (str(message) if message else None), _field_errors(payload.get("errors")), False


def _field_errors(errors: object) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    if not isinstance(errors, list):
        return found
    for item in errors:
        if not isinstance(item, dict):
            continue
        field = str(item.get("field") or "")
        messages = item.get("messages")
        if messages is None and item.get("message") is not None:
            messages = [item["message"]]
        if isinstance(messages, str):
            messages = [messages]
        if isinstance(messages, dict):  # nested RDM errors: {"0": {"name": [...]}} flattened coarsely
            messages = [json.dumps(messages)]
        found.setdefault(field, []).extend(str(m) for m in messages or [])
    return found


def error_for(
    method: str,
    path: str,
    status: int,
    body: bytes,
    content_type: str,
    *,
    retry_after: float | None = None,
) -> ZenodoError:
    message, field_errors, html = parse_body(body, content_type)
    head = f"{method} {path} failed: HTTP {status} {reason_phrase(status)}".rstrip()
    text = f"{head} (HTML body)" if html else (f"{head}: {message}" if message else head)
    if field_errors:
        text += " [" + "; ".join(f"{f or '(record)'}: {' '.join(m)}" for f, m in field_errors.items()) + "]"
    everything = " ".join([message or "", *(m for ms in field_errors.values() for m in ms)])
    kwargs: dict = {"status": status, "field_errors": field_errors}
    if status in (401, 403):
        return AuthenticationError(text + _auth_hint(status), **kwargs)
    if status in (404, 410):
        return NotFoundError(text, **kwargs)
    if status == 413 or QUOTA_EXCEEDED in everything:
        return QuotaExceededError(text + " (the record's size or file-count quota is full)", **kwargs)
    if status == 429:
        return RateLimitedError(text, retry_after=retry_after, **kwargs)
    if status == 400 and DRAFT_EXISTS in everything:
        return DraftExistsError(
            text + " (a new-version draft with files is already open: reuse or discard it)", **kwargs
        )
    if status == 400:
        return ValidationError(text, **kwargs)
    if status >= 500:
        return ServerError(text, **kwargs)
    return ZenodoError(text, **kwargs)


def _auth_hint(status: int) -> str:
    if status == 401:
        return " (no token or an invalid token: check ZENODO_TOKEN)"
    return " (if unexpected: check the token's scopes and that the record is yours)"
