"""Zenodo's three error shapes (and nginx HTML) map to the right exception and a usable message."""

from __future__ import annotations

import json

import pytest

from zenodo_atlas.zenodo.errormap import error_for
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


def _json(payload: dict) -> bytes:
    return json.dumps(payload).encode()


def test_rdm_validation_errors_keep_every_message_per_field():
    body = _json({
        "status": 400,
        "message": "A validation error occurred.",
        "errors": [
            {"field": "metadata.creators", "messages": ["Missing data for required field."]},
            {"field": "metadata.title", "messages": ["Too short.", "Not a string."]},
        ],
    })
    error = error_for("PUT", "/api/deposit/depositions/5", 400, body, "application/json")
    assert type(error) is ValidationError
    assert error.field_errors == {
        "metadata.creators": ["Missing data for required field."],
        "metadata.title": ["Too short.", "Not a string."],
    }
    assert str(error).startswith("PUT /api/deposit/depositions/5 failed: HTTP 400 Bad Request: A validation")
    assert "metadata.creators: Missing data for required field." in str(error)


def test_legacy_validation_errors_with_single_message():
    body = _json({"status": 400, "message": "Validation error.",
                  "errors": [{"field": "upload_type", "message": "Not a valid choice."}]})
    error = error_for("POST", "/api/deposit/depositions", 400, body, "application/json")
    assert error.field_errors == {"upload_type": ["Not a valid choice."]}


def test_please_remove_all_files_is_draft_exists():
    body = _json({"status": 400, "message": "A validation error occurred.",
                  "errors": [{"field": "files.enabled", "messages": ["Please remove all files first."]}]})
    error = error_for("POST", "/api/deposit/depositions/7/actions/newversion", 400, body, "application/json")
    assert isinstance(error, DraftExistsError) and isinstance(error, ValidationError)
    assert "reuse or discard it" in str(error)


@pytest.mark.parametrize(
    ("status", "body", "kind"),
    [
        (401, _json({"status": 401, "message": "The server could not verify"}), AuthenticationError),
        (403, _json({"status": 403, "message": "Permission denied."}), AuthenticationError),
        (404, _json({"status": 404, "message": "The persistent identifier does not exist."}), NotFoundError),
        (410, _json({"status": 410, "message": "The record has been deleted."}), NotFoundError),
        (400, _json({"status": 400, "message": "Bucket quota exceeded."}), QuotaExceededError),
        (413, b"<html><body><h1>413 Request Entity Too Large</h1></body></html>", QuotaExceededError),
        (429, _json({"status": 429, "message": "100 per 1 minute"}), RateLimitedError),
        (500, _json({"status": 500, "message": "The server encountered an internal error"}), ServerError),
        (409, _json({"status": 409, "message": "Still being integrated"}), ZenodoError),
    ],
)
def test_status_maps_to_class(status, body, kind):
    error = error_for("GET", "/api/x", status, body, "application/json")
    assert type(error) is kind
    assert error.status == status


def test_html_gateway_timeout_says_so():
    body = b"<html><body><h1>504 Gateway Time-out</h1></body></html>"
    error = error_for("POST", "/api/deposit/depositions/3/actions/publish", 504, body, "text/html")
    assert isinstance(error, ServerError)
    assert str(error) == "POST /api/deposit/depositions/3/actions/publish failed: HTTP 504 Gateway Timeout (HTML body)"


def test_rate_limited_carries_retry_after():
    error = error_for("GET", "/api/records", 429, b"{}", "application/json", retry_after=7.0)
    assert isinstance(error, RateLimitedError) and error.retry_after == 7.0


def test_non_json_text_body_is_quoted_briefly():
    error = error_for("GET", "/api/x", 502, b"upstream broke" * 50, "text/plain")
    assert "upstream broke" in str(error) and len(str(error)) < 300
