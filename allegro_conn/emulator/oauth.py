"""The auth host: ``/auth/oauth/authorize`` (+ consent decision) and ``/auth/oauth/token``.

Rules cite allegro-api.md sections (§N). The device flow lives in ``device.py``.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from urllib.parse import quote, urlencode

from allegro_conn.emulator import device, pages
from allegro_conn.emulator.clientauth import (
    DEVICE_GRANT,
    authenticate,
    grant_scopes,
    method_not_allowed,
)
from allegro_conn.emulator.responses import (
    Response,
    client_unauthorized,
    html_response,
    mask,
    oauth_error,
    oauth_json,
    redirect_response,
)
from allegro_conn.emulator.state import (
    AuthRequest,
    EmulatorClient,
    EmulatorState,
    RecordedRequest,
)
from allegro_conn.emulator.tokens import s256

CONSENT_TTL = 600.0
# RFC 7636 §4.2: a S256 challenge is 43 base64url characters, without padding (§2.1).
_CHALLENGE_RE = re.compile(r"[A-Za-z0-9_-]{43}")
_VERIFIER_RE = re.compile(r"[A-Za-z0-9._~-]{43,128}")
_AUTHORIZE_PARAMS = frozenset(
    {
        "response_type",
        "client_id",
        "redirect_uri",
        "code_challenge",
        "code_challenge_method",
        "prompt",
        "state",
        "scope",
    }
)


def add_params(uri: str, params: list[tuple[str, str]]) -> str:
    """``uri`` with ``params`` appended, each value percent-encoded (§2.1 state rule)."""
    query = urlencode(params, quote_via=quote, safe="")
    return f"{uri}{'&' if '?' in uri else '?'}{query}"


# --- authorize ----------------------------------------------------------------------------
def _error_page(req: RecordedRequest, hint: str, status: int = 400) -> Response:
    # §2.1: a bad client or redirect_uri gives Allegro's own page and never a redirect.
    return html_response(status, pages.error_page(req.trace_id, hint))


def _redirect(request: AuthRequest, params: list[tuple[str, str]]) -> Response:
    # §2.1: extra query parameters of the authorize URL come back on the redirect, then state.
    params = params + request.extra
    if request.state is not None:
        params.append(("state", request.state))
    return redirect_response(add_params(request.redirect_uri, params))


def _approve(state: EmulatorState, request: AuthRequest) -> Response:
    code = state.new_code(request, state.current_user_id)
    return _redirect(request, [("code", code.code)])


def authorize(state: EmulatorState, req: RecordedRequest) -> Response:
    q = req.query
    client = state.clients.get(q.get("client_id", ""))
    if client is None:
        return _error_page(req, "unknown client_id")
    redirect_uri = q.get("redirect_uri")
    if redirect_uri is None or redirect_uri not in client.redirect_uris:
        # §2.1 / §6: exact ("1:1") match against the app's registered URIs.
        return _error_page(req, "redirect_uri is not registered for this client (exact match)")
    challenge = q.get("code_challenge")
    method = q.get("code_challenge_method")
    if challenge is not None or method is not None:
        if method != "S256":  # §2.1: only S256 since 2024-12-30, "plain" was removed
            return _error_page(req, "code_challenge_method must be S256")
        if challenge is None or not _CHALLENGE_RE.fullmatch(challenge):
            return _error_page(req, "code_challenge must be 43 base64url characters")
    request = AuthRequest(
        request_id=secrets.token_urlsafe(16),
        client_id=client.client_id,
        redirect_uri=redirect_uri,
        scopes=(),
        state=q.get("state"),
        code_challenge=challenge,
        extra=[(k, v) for k, v in req.query_list if k not in _AUTHORIZE_PARAMS],
        expires_at=state.clock() + CONSENT_TTL,
    )
    if q.get("response_type") != "code":
        return _redirect(request, [("error", "unsupported_response_type")])
    scopes, invalid = grant_scopes(client, q.get("scope"))
    if invalid:
        description = "Invalid scope: " + " ".join(invalid)
        return _redirect(request, [("error", "invalid_scope"), ("error_description", description)])
    request.scopes = scopes
    # "prompt" (§2.1) is accepted and has no effect here: the emulator has no login session.
    if state.auto_approve:
        return _approve(state, request)
    state.auth_requests[request.request_id] = request
    page = pages.consent_page(
        app_name=client.app_name,
        client_id=client.client_id,
        user_login=state.current_user().login,
        scopes=scopes,
        request_id=request.request_id,
    )
    return html_response(200, page)


def decision(state: EmulatorState, req: RecordedRequest) -> Response:
    """The consent page's Allow/Deny form."""
    if req.method != "POST":
        return _error_page(req, "the consent form must be POSTed", 405)
    request = state.auth_requests.pop(req.form.get("request_id", ""), None)
    if request is None or request.expires_at <= state.clock():
        return _error_page(req, "unknown or expired consent request")
    if req.form.get("decision") == "allow":
        return _approve(state, request)
    # §2.1: what a cancelled consent carries is UNVERIFIED; RFC 6749 §4.1.2.1 access_denied.
    description = "The user denied access to the application"
    return _redirect(request, [("error", "access_denied"), ("error_description", description)])


# --- token --------------------------------------------------------------------------------
def token(state: EmulatorState, req: RecordedRequest) -> Response:
    # §2.3: since 2025-09-23 POST only, with parameters only in the body.
    if req.method != "POST":
        return method_not_allowed(req.method)
    if req.query_list:
        return oauth_error(
            400, "invalid_request", "Parameters must be sent in the request body, not the URL"
        )
    form = req.form
    grant = form.get("grant_type")
    client = authenticate(state, req.headers)
    public = False
    if client is None:
        # §2.3: with PKCE, client_id + code_verifier in the body may replace Basic auth.
        public = (
            grant == "authorization_code"
            and "authorization" not in req.headers
            and bool(form.get("code_verifier"))
        )
        client = state.clients.get(form.get("client_id", "")) if public else None
        if client is None:
            return client_unauthorized()
    elif form.get("client_id", client.client_id) != client.client_id:
        return client_unauthorized()
    if not grant:
        return oauth_error(400, "invalid_request", "Missing grant type")
    if grant == "authorization_code":
        return _code_grant(state, client, form, public=public)
    if grant == "refresh_token":
        return _refresh_grant(state, client, form)
    if grant == DEVICE_GRANT:
        return device.poll(state, client, form)
    if grant == "client_credentials":
        # §5: no user context and no refresh token.
        return oauth_json(200, state.issue(client.client_id, None, client.scopes, refresh=False))
    # §4: a double-encoded device grant string ends up here too.
    return oauth_error(400, "unsupported_grant_type", f"Unsupported grant type: {grant}")


def _code_grant(
    state: EmulatorState, client: EmulatorClient, form: Mapping[str, str], *, public: bool
) -> Response:
    if client.type != "browser":
        return oauth_error(
            400, "unauthorized_client", "Unauthorized grant type: authorization_code"
        )
    value = form.get("code")
    if not value:
        return oauth_error(400, "invalid_request", "An authorization code must be supplied")
    code = state.codes.get(value)
    invalid = oauth_error(400, "invalid_grant", f"Invalid authorization code: {mask(value)}")
    if code is None or code.used or code.client_id != client.client_id:
        return invalid
    code.used = True  # §2.2: single-use; consumed even if the checks below fail
    if code.expires_at <= state.clock():  # §2.2: valid for 10 seconds
        return invalid
    if public and code.code_challenge is None:
        return client_unauthorized()
    if form.get("redirect_uri") != code.redirect_uri:
        return oauth_error(400, "invalid_grant", "Redirect URI mismatch.")
    if code.code_challenge is not None:
        verifier = form.get("code_verifier", "")
        if not _VERIFIER_RE.fullmatch(verifier) or s256(verifier) != code.code_challenge:
            return oauth_error(400, "invalid_grant", "Invalid code verifier")
    return oauth_json(200, state.issue(client.client_id, code.user_id, code.scopes, refresh=True))


def _refresh_grant(
    state: EmulatorState, client: EmulatorClient, form: Mapping[str, str]
) -> Response:
    value = form.get("refresh_token")
    if not value:
        return oauth_error(400, "invalid_request", "A refresh token must be supplied")
    record = state.live_token(value, "refresh")
    now = state.clock()
    if (
        record is None
        or record.client_id != client.client_id
        # §3: single-use, but still accepted for 60 s after the first refresh.
        or (record.first_used_at is not None and now - record.first_used_at > state.refresh_grace)
    ):
        return oauth_error(400, "invalid_grant", f"Invalid refresh token: {mask(value)}")
    if record.first_used_at is None:
        record.first_used_at = now
    # §3: the access token issued with this refresh token dies now, even if not expired.
    paired = state.tokens.get(record.pair_jti or "")
    if paired is not None:
        paired.revoked = True
    # §6: scope changes of the app are not picked up by a refresh.
    return oauth_json(
        200, state.issue(client.client_id, record.user_id, record.scopes, refresh=True)
    )
