"""Allegro's REST API: base URL per environment, the headers it insists on, its errors."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from allegro_conn import __version__
from allegro_conn.errors import Failure, Unavailable
from allegro_conn.models import OAuthClient
from allegro_conn.runtime import Runtime

if TYPE_CHECKING:
    import httpx

MEDIA_TYPE = "application/vnd.allegro.public.v1+json"
PROJECT_URL = "https://github.com/allegro-conn/allegro-conn"


def user_agent(client: OAuthClient) -> str:
    """`<RegisteredAppName>/<version> (+<url>)`, mandatory since 2026-07 (allegro-api.md §8).

    Spaces in the registered name may be written as '-'.
    """
    name = ascii_name((client.app_name or client.name).strip()).replace(" ", "-")
    return f"{name}/{__version__} (+{PROJECT_URL})"


def ascii_name(name: str) -> str:
    """HTTP headers are ASCII: "Mój Sklep" becomes "Moj Sklep" (ł and Ł by hand)."""
    import unicodedata

    name = name.replace("ł", "l").replace("Ł", "L")
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    return folded or "allegro-conn"


def api_headers(client: OAuthClient, access_token: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {access_token}",
        "Accept": MEDIA_TYPE,
        "User-Agent": user_agent(client),
    }


class ApiError(Failure):
    """An HTTP error answer of the REST API, rendered as Allegro's `code: userMessage`."""

    def __init__(
        self, status: int, lines: list[str], trace_id: str | None, oauth_error: str | None
    ) -> None:
        self.status = status
        self.lines = lines
        self.trace_id = trace_id
        self.oauth_error = oauth_error
        text = "; ".join(lines) or f"HTTP {status}"
        trace = f" (Trace-Id {trace_id})" if trace_id else ""
        super().__init__(f"Allegro answered HTTP {status}: {text}{trace}")


def error_lines(response: httpx.Response) -> tuple[list[str], str | None]:
    """`code: userMessage` for each entry of errors[], or the OAuth-style error."""
    try:
        body = response.json()
    except (ValueError, json.JSONDecodeError):
        return [], None
    if not isinstance(body, dict):
        return [], None
    if isinstance(body.get("errors"), list):
        lines = []
        for item in body["errors"]:
            if isinstance(item, dict):
                message = item.get("userMessage") or item.get("message") or ""
                lines.append(f"{item.get('code') or 'ERROR'}: {message}")
        return lines, None
    if isinstance(body.get("error"), str):
        description = str(body.get("error_description") or "")
        # Allegro echoes the token in "Access token expired: <jwt>": keep it out
        description = description.split(":")[0] if "token" in description.lower() else description
        return [f"{body['error']}: {description}" if description else body["error"]], body["error"]
    return [], None


def api_error(response: httpx.Response) -> ApiError:
    lines, oauth = error_lines(response)
    return ApiError(response.status_code, lines, response.headers.get("Trace-Id"), oauth)


def check_response(response: httpx.Response) -> None:
    """Raise for an error status: 5xx and 429 as Unavailable, the rest as ApiError."""
    status = response.status_code
    if status < 400:
        return
    if status == 429 or status >= 500:
        lines, _ = error_lines(response)
        detail = f" ({'; '.join(lines)})" if lines else ""
        raise Unavailable(
            f"Allegro is unavailable or rate-limiting (HTTP {status}){detail}.",
            "Try again later.",
        )
    raise api_error(response)


def get(
    rt: Runtime, client: OAuthClient, environment: str, access_token: str, path: str
) -> tuple[dict[str, Any], float]:
    """GET a JSON resource; returns (body, latency in ms)."""
    import httpx

    url = rt.api_base(environment) + path
    started = rt.clock()
    try:
        with rt.http() as http:
            response = http.get(url, headers=api_headers(client, access_token))
    except httpx.HTTPError as exc:
        raise Unavailable(
            f"Cannot reach {httpx.URL(url).host} ({type(exc).__name__}).",
            "Check the network and try again later.",
        ) from None
    latency = (rt.clock() - started) * 1000
    check_response(response)
    try:
        body = response.json()
    except (ValueError, json.JSONDecodeError):
        raise Failure(f"GET {path} did not return JSON.") from None
    return (body if isinstance(body, dict) else {"data": body}), latency
