"""Requests to Allegro's token and device endpoints, and what their answers mean.

Rules (allegro-api.md §2.3, §3): POST with a form body only, HTTP Basic client
authentication, and never repeat a request Allegro may have received: a refresh token is
single-use, so a lost answer to a sent refresh must not be retried.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from allegro_conn import __version__, signalmask
from allegro_conn.errors import AppError, AuthNeeded, Failure, Unavailable
from allegro_conn.models import OAuthClient, TokenSet
from allegro_conn.runtime import Runtime

if TYPE_CHECKING:
    import httpx

MAX_RETRIES = 3
MAX_RETRY_WAIT = 30.0
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


class OAuthError(Failure):
    """An error answer of the token or device endpoint, e.g. invalid_grant."""

    def __init__(self, error: str, description: str, status: int) -> None:
        text = f"Allegro answered {error}" + (f": {description}" if description else "")
        super().__init__(text + ".")
        self.error = error
        self.description = description
        self.status = status


def basic_auth(client: OAuthClient) -> str:
    raw = f"{client.client_id}:{client.client_secret}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


def _error_fields(response: httpx.Response) -> tuple[str, str]:
    """(error, description) from either of Allegro's error shapes."""
    try:
        body = response.json()
    except (ValueError, json.JSONDecodeError):
        return f"HTTP {response.status_code}", ""
    if isinstance(body, dict):
        if isinstance(body.get("error"), str):
            return body["error"], str(body.get("error_description") or "")
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            first = errors[0]
            return str(first.get("code") or "ERROR"), str(
                first.get("userMessage") or first.get("message") or ""
            )
    return f"HTTP {response.status_code}", ""


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _pause(rt: Runtime, seconds: float) -> None:
    """Wait before a retry; the request was not acted on, so Ctrl-C may end it.

    Signals are held back while a refresh may be in flight (`lifecycle`), so that its answer
    is saved; between retries nothing is in flight, and Ctrl-C should not wait them out.
    """
    with signalmask.released():
        rt.sleep(seconds)


def post_form(
    rt: Runtime, url: str, form: dict[str, str], client: OAuthClient, what: str
) -> dict[str, Any]:
    """POST `form` and return the JSON answer; typed errors for everything else.

    Retried only when Allegro surely did not act on it: a connection that never opened,
    or 429/503 with Retry-After. A read timeout or a reset after sending is not retried.
    """
    import httpx

    headers = {
        "Authorization": basic_auth(client),
        "Accept": "application/json",
        "User-Agent": f"allegro-conn/{__version__}",
    }
    host = httpx.URL(url).host
    with rt.http() as http:
        for attempt in range(MAX_RETRIES + 1):
            try:
                response = http.post(url, data=form, headers=headers)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                if attempt < MAX_RETRIES:
                    _pause(rt, min(2.0**attempt, MAX_RETRY_WAIT))
                    continue
                raise Unavailable(
                    f"Cannot reach {host} to {what} ({type(exc).__name__}).",
                    "Check the network and try again later.",
                ) from None
            except httpx.HTTPError as exc:
                raise Unavailable(
                    f"The request to {what} failed after it was sent ({type(exc).__name__}); "
                    "it is not repeated because Allegro may have acted on it.",
                    "Try again later.",
                ) from None
            wait = _retry_after(response)
            if response.status_code in (429, 503) and wait is not None and attempt < MAX_RETRIES:
                _pause(rt, min(wait, MAX_RETRY_WAIT))
                continue
            break
    return _answer(response, what)


def _answer(response: httpx.Response, what: str) -> dict[str, Any]:
    status = response.status_code
    if status == 429:
        raise Unavailable(
            f"Allegro is rate-limiting token requests ({what}).",
            "Wait a minute and try again; reuse tokens instead of asking for new ones.",
        )
    if status >= 500:
        raise Unavailable(f"Allegro failed to {what} (HTTP {status}).", "Try again later.")
    if status >= 400:
        error, description = _error_fields(response)
        raise OAuthError(error, description, status)
    try:
        body = response.json()
    except (ValueError, json.JSONDecodeError):
        raise Failure(f"Allegro's answer to {what} is not JSON (HTTP {status}).") from None
    if not isinstance(body, dict):
        raise Failure(f"Allegro's answer to {what} is not a JSON object.")
    return body


def parse_token(body: dict[str, Any], received_at: float) -> TokenSet:
    """A token response (allegro-api.md §2.4), parsed leniently; expiry from receipt time."""
    access = body.get("access_token")
    if not isinstance(access, str) or not access:
        raise Failure("Allegro's token answer has no access_token.")
    try:
        expires_in = float(body.get("expires_in", 43199))
    except (TypeError, ValueError):
        expires_in = 43199.0
    refresh = body.get("refresh_token")
    scope = body.get("scope")
    return TokenSet(
        access_token=access,
        refresh_token=refresh if isinstance(refresh, str) and refresh else None,
        expires_at=received_at + expires_in,
        token_type=str(body.get("token_type") or "bearer"),
        scope=scope if isinstance(scope, str) else "",
        refresh_issued_at=received_at if refresh else None,
    )


def client_error(exc: OAuthError, client: OAuthClient) -> AppError:
    """A clearer error for the answers people actually get."""
    if exc.error in ("Unauthorized", "unauthorized") or exc.status == 401:
        if exc.error == "unauthorized_client":
            return Failure(
                f"Client {client.name!r} is not allowed this grant ({exc.description}).",
                "A device-flow app must be registered as 'works without a browser'; "
                "register a new app of the right type and run 'allegro-conn client add'.",
            )
        return Failure(
            f"Allegro rejected the client id or secret of {client.name!r} ({client.environment}).",
            f"Check them with 'allegro-conn client edit {client.name}'; sandbox and "
            "production apps have different credentials.",
        )
    return exc


def exchange_code(
    rt: Runtime, client: OAuthClient, auth_base: str, code: str, redirect_uri: str, verifier: str
) -> TokenSet:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": verifier,
    }
    try:
        body = post_form(rt, f"{auth_base}/auth/oauth/token", form, client, "exchange the code")
    except OAuthError as exc:
        raise client_error(exc, client) from None
    return parse_token(body, rt.clock())


def refresh(rt: Runtime, client: OAuthClient, auth_base: str, refresh_token: str) -> TokenSet:
    """Trade a refresh token (single-use) for a new pair; invalid_grant means consent again."""
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    try:
        body = post_form(rt, f"{auth_base}/auth/oauth/token", form, client, "refresh the token")
    except OAuthError as exc:
        if exc.error == "invalid_grant":
            raise AuthNeeded("Allegro rejected the refresh token (invalid_grant).") from None
        raise client_error(exc, client) from None
    return parse_token(body, rt.clock())


@dataclass(frozen=True)
class DeviceCode:
    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str | None
    expires_in: float
    interval: float

    @property
    def pretty_user_code(self) -> str:
        """Allegro suggests showing the code as XXX XXX XXX."""
        code = self.user_code
        return " ".join(code[i : i + 3] for i in range(0, len(code), 3)).upper()


def start_device(rt: Runtime, client: OAuthClient, auth_base: str, scopes: list[str]) -> DeviceCode:
    form = {"client_id": client.client_id}
    if scopes:
        form["scope"] = " ".join(scopes)
    try:
        body = post_form(rt, f"{auth_base}/auth/oauth/device", form, client, "start device flow")
    except OAuthError as exc:
        raise client_error(exc, client) from None
    try:
        return DeviceCode(
            device_code=str(body["device_code"]),
            user_code=str(body["user_code"]),
            verification_uri=str(body["verification_uri"]),
            verification_uri_complete=body.get("verification_uri_complete"),
            expires_in=float(body.get("expires_in", 3600)),  # may come as "3600"
            interval=float(body.get("interval", 5)),
        )
    except (KeyError, TypeError, ValueError):
        raise Failure("Allegro's device-flow answer is missing fields.") from None


def poll_device(rt: Runtime, client: OAuthClient, auth_base: str, device_code: str) -> TokenSet:
    """One poll; raises OAuthError for authorization_pending, slow_down and the rest."""
    form = {"grant_type": DEVICE_GRANT, "device_code": device_code}
    body = post_form(rt, f"{auth_base}/auth/oauth/token", form, client, "finish device flow")
    return parse_token(body, rt.clock())
