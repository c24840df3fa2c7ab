"""Device flow (allegro-api.md §4): ``/auth/oauth/device``, the poll, the verification page."""

from __future__ import annotations

import secrets
from collections.abc import Mapping

from allegro_conn.emulator import pages
from allegro_conn.emulator.clientauth import (
    DEVICE_GRANT,
    authenticate,
    grant_scopes,
    method_not_allowed,
)
from allegro_conn.emulator.responses import (
    JSON,
    Response,
    client_unauthorized,
    errors_response,
    html_response,
    oauth_error,
    oauth_json,
)
from allegro_conn.emulator.state import DeviceAuth, EmulatorClient, EmulatorState, RecordedRequest

DEVICE_PATH = "/auth/oauth/device"


def device_authorization(state: EmulatorState, req: RecordedRequest) -> Response:
    """Step 1: hand out a device code and a user code."""
    if req.method != "POST":
        return method_not_allowed(req.method)
    client = authenticate(state, req.headers)
    if client is None:
        return client_unauthorized()  # §4: bad Basic header
    # §4: client_id is documented in the query string; the samples put it in the body.
    client_id = req.form.get("client_id") or req.query.get("client_id")
    if not client_id:
        # §4 (#7681): without client_id the device endpoint answers in the errors[] shape.
        return errors_response(
            400, "ERROR", "client_id is required", path=DEVICE_PATH, content_type=JSON
        )
    if client_id != client.client_id:
        return client_unauthorized()
    if client.type != "device":
        # §4 / §6: only apps registered as "no browser" have the device_code grant.
        return oauth_error(
            401, "unauthorized_client", "Client does not have the device_code grant."
        )
    scopes, invalid = grant_scopes(client, req.form.get("scope") or req.query.get("scope"))
    if invalid:
        return oauth_error(400, "invalid_scope", "Invalid scope: " + " ".join(invalid))
    auth = DeviceAuth(
        device_code=secrets.token_urlsafe(32),
        user_code=state.new_user_code(),
        client_id=client.client_id,
        scopes=scopes,
        expires_at=state.clock() + state.device_ttl,
        interval=state.device_interval,
    )
    state.devices[auth.device_code] = auth
    verification_uri = state.base_url + pages.DEVICE_PAGE_PATH
    return oauth_json(
        200,
        {
            "device_code": auth.device_code,
            "expires_in": int(state.device_ttl),  # §4: integers in real answers
            "user_code": auth.user_code,
            "interval": int(auth.interval),
            "verification_uri": verification_uri,
            "verification_uri_complete": f"{verification_uri}?code={auth.user_code}",
        },
    )


def poll(state: EmulatorState, client: EmulatorClient, form: Mapping[str, str]) -> Response:
    """Step 3: the token endpoint with the device_code grant (§4 "Poll outcomes")."""
    if client.type != "device":
        return oauth_error(400, "unauthorized_client", f"Unauthorized grant type: {DEVICE_GRANT}")
    auth = state.devices.get(form.get("device_code", ""))
    if auth is None or auth.used or auth.client_id != client.client_id:
        # §4: wrong or already used (a device code returns a token only once).
        return oauth_error(400, "invalid_request", "Invalid device code")
    now = state.clock()
    if auth.expires_at <= now:
        # §4: expiry is only documented as "any other error"; the name is RFC 8628's (UNVERIFIED).
        return oauth_error(400, "expired_token", "Device code expired")
    previous, auth.last_poll = auth.last_poll, now
    if previous is not None and now - previous < auth.interval:
        return oauth_error(400, "slow_down")
    if auth.status == "pending" and state.auto_approve:
        state.decide_device(auth, approve=True)
    if auth.status == "pending":
        return oauth_error(400, "authorization_pending")
    if auth.status == "denied":
        return oauth_error(400, "access_denied")
    auth.used = True
    return oauth_json(200, state.issue(client.client_id, auth.user_id, auth.scopes, refresh=True))


def verification_page(state: EmulatorState, req: RecordedRequest) -> Response:
    """``/skojarz-aplikacje``: enter or confirm a user code, then Allow or Deny."""
    if req.method == "POST":
        code = req.form.get("code", "")
    else:
        code = req.query.get("code", "")
        if not code:
            return html_response(200, pages.device_entry_page())
    auth = state.find_device_by_user_code(code)
    if auth is None or auth.status != "pending":
        message = "Nieprawidłowy lub wygasły kod. Invalid or expired code."
        return html_response(400, pages.device_entry_page(code, message))
    client = state.clients[auth.client_id]
    if req.method != "POST":
        page = pages.device_confirm_page(
            user_code=auth.user_code,
            app_name=client.app_name,
            user_login=state.current_user().login,
            scopes=auth.scopes,
        )
        return html_response(200, page)
    approve = req.form.get("decision") == "allow"
    state.decide_device(auth, approve=approve)
    return html_response(200, pages.device_done_page(approved=approve, app_name=client.app_name))
