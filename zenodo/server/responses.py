"""Error answers in the two shapes Zenodo uses: JSON `{"status","message"}` and nginx HTML pages."""

from __future__ import annotations

from http import HTTPStatus

from aiohttp import web

VALIDATION_MESSAGE = "A validation error occurred."
_NGINX_PHRASES = {503: "Service Temporarily Unavailable", 504: "Gateway Time-out"}


class ApiError(Exception):
    """A request the local Zenodo refuses; becomes a JSON error body with the given status."""

    def __init__(self, status: int, message: str, errors: list[dict] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors


class FieldErrors(ApiError):
    """RDM-style 400: one `{"field", "messages"}` entry per problem, all problems at once."""

    def __init__(self, problems: dict[str, list[str]]):
        errors = [{"field": field, "messages": messages} for field, messages in problems.items()]
        super().__init__(400, VALIDATION_MESSAGE, errors)


def json_error(status: int, message: str, errors: list[dict] | None = None) -> web.Response:
    body: dict = {"status": status, "message": message}
    if errors:
        body["errors"] = errors
    return web.json_response(body, status=status)


def html_error(status: int) -> web.Response:
    """The page nginx sends when the application behind it fails or times out."""
    title = f"{status} {_NGINX_PHRASES.get(status) or HTTPStatus(status).phrase}"
    page = (
        f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
        f"<center><h1>{title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
    )
    return web.Response(status=status, text=page, content_type="text/html")

