"""Response objects and the three error shapes Allegro uses (allegro-api.md §8.2)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

VND_JSON = "application/vnd.allegro.public.v1+json"
JSON = "application/json;charset=UTF-8"
HTML = "text/html; charset=utf-8"


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str | None = None
    headers: list[tuple[str, str]] = field(default_factory=list)


def json_response(
    status: int,
    payload: Any,
    *,
    content_type: str = JSON,
    headers: list[tuple[str, str]] | None = None,
) -> Response:
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    return Response(status, body, content_type, list(headers or []))


def oauth_json(status: int, payload: dict[str, Any]) -> Response:
    """An answer of the OAuth endpoints: JSON, never cached."""
    return json_response(
        status, payload, headers=[("Cache-Control", "no-store"), ("Pragma", "no-cache")]
    )


def oauth_error(status: int, error: str, description: str | None = None) -> Response:
    """``{"error": ..., "error_description": ...}`` of the OAuth endpoints and REST 401s."""
    payload: dict[str, Any] = {"error": error}
    if description is not None:
        payload["error_description"] = description
    return oauth_json(status, payload)


def client_unauthorized() -> Response:
    # §4 / §8.2: missing or bad Basic client authentication.
    response = oauth_error(401, "Unauthorized", "Unauthorized")
    response.headers.append(("WWW-Authenticate", 'Basic realm="oauth2/client"'))
    return response


def errors_response(
    status: int,
    code: str,
    message: str,
    *,
    user_message: str | None = None,
    path: str | None = None,
    headers: list[tuple[str, str]] | None = None,
    content_type: str = VND_JSON,
) -> Response:
    """The REST ``ErrorsHolder`` shape: ``{"errors": [{code, message, ...}]}`` (§8.2)."""
    error: dict[str, Any] = {
        "code": code,
        "message": message,
        "details": None,
        "path": path,
        "userMessage": user_message if user_message is not None else message,
        "metadata": {},
    }
    return json_response(status, {"errors": [error]}, content_type=content_type, headers=headers)


def html_response(status: int, html: str) -> Response:
    return Response(status, html.encode("utf-8"), HTML, [("Cache-Control", "no-store")])


def redirect_response(location: str) -> Response:
    return Response(302, b"", None, [("Location", location), ("Cache-Control", "no-store")])


def mask(token: str) -> str:
    """First 8 characters and an ellipsis: errors never echo a whole token."""
    return token[:8] + "..."
