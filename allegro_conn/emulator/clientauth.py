"""Client authentication and scope granting, shared by the token and device endpoints."""

from __future__ import annotations

import base64
import hmac
from collections.abc import Mapping

from allegro_conn.emulator.responses import Response, oauth_error
from allegro_conn.emulator.state import ALL_SCOPES, EmulatorClient, EmulatorState, order_scopes

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def authenticate(state: EmulatorState, headers: Mapping[str, str]) -> EmulatorClient | None:
    """The client named by a valid ``Authorization: Basic base64(id:secret)`` header (§2.3)."""
    scheme, _, data = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(data.strip(), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        return None
    client_id, sep, secret = decoded.partition(":")
    client = state.clients.get(client_id)
    if not sep or client is None:
        return None
    if not hmac.compare_digest(client.client_secret.encode(), secret.encode()):
        return None
    return client


def grant_scopes(client: EmulatorClient, scope: str | None) -> tuple[tuple[str, ...], list[str]]:
    """(granted scopes, invalid scopes) for a space-separated ``scope`` parameter (§7).

    No scope → every declared scope; otherwise requested ∩ declared. A name that is not a
    scope at all is invalid; so is a request none of whose scopes the app declared.
    """
    if scope is None or not scope.strip():
        return client.scopes, []
    requested = scope.strip().split(" ")  # §7: a single space; "a  b" has an empty name
    known = set(ALL_SCOPES) | set(client.scopes)
    invalid = [s or '""' for s in requested if s not in known]
    if invalid:
        return (), invalid
    granted = order_scopes(s for s in requested if s in client.scopes)
    return (granted, []) if granted else ((), requested)


def method_not_allowed(method: str) -> Response:
    response = oauth_error(405, "method_not_allowed", f"Request method '{method}' is not supported")
    response.headers.append(("Allow", "POST"))
    return response
