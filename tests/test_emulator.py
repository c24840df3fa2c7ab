"""The Allegro emulator over real loopback HTTP: every rule a client of Allegro depends on."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from allegro_conn.emulator import (
    ALL_SCOPES,
    Emulator,
    banner_lines,
    demo_clients,
    serve_forever,
)

REDIRECT = "http://localhost:8976/callback"
WEB = ("web-app", "web-secret")
DEV = ("dev-app", "dev-secret")
UA = "Shop-App/1.0.0 (+https://example.com/shop)"
VND = "application/vnd.allegro.public.v1+json"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
ACCESS_DENIED = {
    "errors": [
        {
            "code": "AccessDenied",
            "message": "Access is denied",
            "details": None,
            "path": None,
            "userMessage": "No access to the specified resource.",
            "metadata": {},
        }
    ]
}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_780_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def emu(clock: FakeClock) -> Iterator[Emulator]:
    with Emulator(clock=clock) as emulator:
        emulator.add_client(*WEB, type="browser", redirect_uris=[REDIRECT], app_name="Shop App")
        emulator.add_client(*DEV, type="device", app_name="Shop App")
        yield emulator
        assert emulator.errors == []


@pytest.fixture
def http(emu: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emu.url, follow_redirects=False, timeout=5) as client:
        yield client


# --- helpers --------------------------------------------------------------------------------
def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    decoded: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return decoded


def location_params(response: httpx.Response) -> dict[str, str]:
    location = response.headers["location"]
    assert location.startswith(REDIRECT + "?")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def authorize(http: httpx.Client, **params: str) -> httpx.Response:
    query = {"response_type": "code", "client_id": WEB[0], "redirect_uri": REDIRECT, **params}
    return http.get("/auth/oauth/authorize", params=query)


def consent(http: httpx.Client, page: httpx.Response, decision: str) -> httpx.Response:
    assert page.status_code == 200
    match = re.search(r'name="request_id" value="([^"]+)"', page.text)
    assert match, page.text
    form = {"request_id": match.group(1), "decision": decision}
    return http.post("/auth/oauth/authorize/decision", data=form)


def token(http: httpx.Client, creds: tuple[str, str] = WEB, **form: str) -> httpx.Response:
    return http.post("/auth/oauth/token", data=form, auth=creds)


def login(http: httpx.Client, **params: str) -> dict[str, Any]:
    """The whole code flow with PKCE and consent; returns the token response."""
    verifier, challenge = pkce()
    page = authorize(
        http, code_challenge=challenge, code_challenge_method="S256", state="st", **params
    )
    code = location_params(consent(http, page, "allow"))["code"]
    response = token(
        http,
        grant_type="authorization_code",
        code=code,
        redirect_uri=REDIRECT,
        code_verifier=verifier,
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def refresh(http: httpx.Client, refresh_token: str) -> httpx.Response:
    return token(http, grant_type="refresh_token", refresh_token=refresh_token)


def api(
    http: httpx.Client,
    access: str | None,
    path: str,
    *,
    method: str = "GET",
    ua: str = UA,
    accept: str = VND,
    **kwargs: Any,
) -> httpx.Response:
    headers = {"Accept": accept, "User-Agent": ua, **kwargs.pop("headers", {})}
    if access is not None:
        headers["Authorization"] = f"Bearer {access}"
    return http.request(method, path, headers=headers, **kwargs)


def start_device(http: httpx.Client, creds: tuple[str, str] = DEV, **form: str) -> httpx.Response:
    return http.post("/auth/oauth/device", data={"client_id": creds[0], **form}, auth=creds)


def poll(http: httpx.Client, device_code: str) -> httpx.Response:
    return token(http, DEV, grant_type=DEVICE_GRANT, device_code=device_code)


# --- authorization code flow ----------------------------------------------------------------
def test_code_flow_with_pkce_consent_and_token_shape(
    http: httpx.Client, emu: Emulator, clock: FakeClock
) -> None:
    verifier, challenge = pkce()
    page = authorize(http, code_challenge=challenge, code_challenge_method="S256", state="xyz")
    assert "Shop App" in page.text and "demo-seller" in page.text
    assert "<script" not in page.text
    redirect = consent(http, page, "allow")
    assert redirect.status_code == 302
    params = location_params(redirect)
    assert params["state"] == "xyz"
    response = token(
        http,
        grant_type="authorization_code",
        code=params["code"],
        redirect_uri=REDIRECT,
        code_verifier=verifier,
    )
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {
        "access_token",
        "token_type",
        "refresh_token",
        "expires_in",
        "scope",
        "allegro_api",
        "iss",
        "jti",
    }
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 43199
    assert body["scope"] == " ".join(ALL_SCOPES)
    assert body["allegro_api"] is True and body["iss"] == emu.url
    access = claims(body["access_token"])
    assert access["user_name"] == "44213570"
    assert access["client_id"] == WEB[0]
    assert access["scope"] == list(ALL_SCOPES)
    assert access["exp"] == int(clock.now) + 43199
    assert access["jti"] == body["jti"]
    assert claims(body["refresh_token"])["exp"] == int(clock.now) + 90 * 86400
    seen = emu.find(path="/auth/oauth/authorize")[0]
    assert seen.query["code_challenge_method"] == "S256" and seen.query["state"] == "xyz"
    assert emu.count(grant_type="authorization_code") == 1


def test_auto_approve_redirects_at_once_and_encodes_state(
    http: httpx.Client, emu: Emulator
) -> None:
    emu.auto_approve = True
    response = authorize(http, state="a b/c&d", lang="pl")
    assert response.status_code == 302
    location = response.headers["location"]
    assert "state=a%20b%2Fc%26d" in location
    params = location_params(response)
    assert params["state"] == "a b/c&d" and params["lang"] == "pl" and params["code"]
    # An already URL-encoded state comes back unchanged (§2.1, #11158).
    encoded = http.get(
        f"/auth/oauth/authorize?response_type=code&client_id={WEB[0]}"
        f"&redirect_uri={REDIRECT}&state=abc%2Fdef"
    )
    assert encoded.headers["location"].endswith("state=abc%2Fdef")


def test_deny_redirects_with_access_denied(http: httpx.Client) -> None:
    params = location_params(consent(http, authorize(http, state="s1"), "deny"))
    assert params["error"] == "access_denied"
    assert params["error_description"] and params["state"] == "s1"
    assert "code" not in params


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "http://localhost:8976/callback/",
        "http://127.0.0.1:8976/callback",
        "http://localhost:8977/callback",
        "",
    ],
)
def test_redirect_mismatch_shows_error_page_without_redirect(
    http: httpx.Client, redirect_uri: str
) -> None:
    response = authorize(http, redirect_uri=redirect_uri, state="s")
    assert response.status_code == 400
    assert "location" not in response.headers
    assert "Nie możemy wyświetlić strony" in response.text
    number = re.search(r"Numer błędu: <code>([0-9a-f]+)</code>", response.text)
    assert number and number.group(1) == response.headers["trace-id"]


def test_unknown_client_and_plain_pkce_give_error_page(http: httpx.Client) -> None:
    assert authorize(http, client_id="nope").status_code == 400
    verifier, challenge = pkce()
    plain = authorize(http, code_challenge=verifier, code_challenge_method="plain")
    assert plain.status_code == 400 and "location" not in plain.headers
    no_method = authorize(http, code_challenge=challenge)
    assert no_method.status_code == 400


def test_reflected_values_are_escaped(http: httpx.Client, emu: Emulator) -> None:
    emu.add_client("x", "y", redirect_uris=[REDIRECT], app_name="<b>Evil</b>")
    page = authorize(http, client_id="x")
    assert "<b>Evil</b>" not in page.text and "&lt;b&gt;Evil&lt;/b&gt;" in page.text


def test_scopes_granted_are_requested_and_declared(http: httpx.Client, emu: Emulator) -> None:
    emu.auto_approve = True
    bad = location_params(authorize(http, scope="allegro:api:profile:read nonsense", state="q"))
    assert bad["error"] == "invalid_scope" and "nonsense" in bad["error_description"]
    assert bad["state"] == "q"
    commas = location_params(authorize(http, scope="allegro:api:bids,allegro:api:ratings"))
    assert commas["error"] == "invalid_scope"
    emu.add_client(
        "narrow",
        "s",
        redirect_uris=[REDIRECT],
        scopes=["allegro:api:profile:read", "allegro:api:orders:read"],
    )
    for scope, expected in [
        (None, "allegro:api:profile:read allegro:api:orders:read"),
        ("allegro:api:orders:read", "allegro:api:orders:read"),
        ("allegro:api:orders:read allegro:api:billing:read", "allegro:api:orders:read"),
    ]:
        extra = {"scope": scope} if scope else {}
        code = location_params(authorize(http, client_id="narrow", **extra))["code"]
        body = token(
            http, ("narrow", "s"), grant_type="authorization_code", code=code, redirect_uri=REDIRECT
        ).json()
        assert body["scope"] == expected


def test_code_expires_after_ten_seconds(http: httpx.Client, clock: FakeClock) -> None:
    verifier, challenge = pkce()
    page = authorize(http, code_challenge=challenge, code_challenge_method="S256")
    code = location_params(consent(http, page, "allow"))["code"]
    clock.advance(10.5)
    response = token(
        http,
        grant_type="authorization_code",
        code=code,
        redirect_uri=REDIRECT,
        code_verifier=verifier,
    )
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_code_is_single_use(http: httpx.Client, emu: Emulator) -> None:
    emu.auto_approve = True
    code = location_params(authorize(http))["code"]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
    assert token(http, **form).status_code == 200
    again = token(http, **form)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    assert code not in again.text


def test_code_exchange_checks_verifier_redirect_and_presence(
    http: httpx.Client, emu: Emulator
) -> None:
    emu.auto_approve = True
    verifier, challenge = pkce()
    pk = {"code_challenge": challenge, "code_challenge_method": "S256"}
    code = location_params(authorize(http, **pk))["code"]
    wrong = token(
        http,
        grant_type="authorization_code",
        code=code,
        redirect_uri=REDIRECT,
        code_verifier=pkce()[0],
    )
    assert wrong.json()["error"] == "invalid_grant"
    code = location_params(authorize(http, **pk))["code"]
    missing = token(http, grant_type="authorization_code", code=code, redirect_uri=REDIRECT)
    assert missing.json()["error"] == "invalid_grant"
    code = location_params(authorize(http, **pk))["code"]
    other = token(
        http,
        grant_type="authorization_code",
        code=code,
        redirect_uri=REDIRECT + "x",
        code_verifier=verifier,
    )
    assert other.json()["error"] == "invalid_grant"
    no_code = token(http, grant_type="authorization_code", redirect_uri=REDIRECT)
    assert no_code.status_code == 400
    assert no_code.json() == {
        "error": "invalid_request",
        "error_description": "An authorization code must be supplied",
    }


def test_pkce_public_exchange_without_basic(http: httpx.Client, emu: Emulator) -> None:
    emu.auto_approve = True
    verifier, challenge = pkce()
    code = location_params(authorize(http, code_challenge=challenge, code_challenge_method="S256"))[
        "code"
    ]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "client_id": WEB[0],
        "code_verifier": verifier,
    }
    response = http.post("/auth/oauth/token", data=form)
    assert response.status_code == 200 and "refresh_token" in response.json()


# --- token endpoint rules -------------------------------------------------------------------
def test_token_endpoint_is_post_with_body_and_basic_auth(http: httpx.Client) -> None:
    get = http.get("/auth/oauth/token", params={"grant_type": "client_credentials"}, auth=WEB)
    assert get.status_code == 405 and get.json()["error"]
    query = http.post(
        "/auth/oauth/token", params={"grant_type": "client_credentials"}, data={}, auth=WEB
    )
    assert query.status_code == 400 and query.json()["error"] == "invalid_request"
    unauthorized = {"error": "Unauthorized", "error_description": "Unauthorized"}
    bare = http.post("/auth/oauth/token", data={"grant_type": "client_credentials"})
    assert bare.status_code == 401 and bare.json() == unauthorized
    wrong = token(http, (WEB[0], "wrong"), grant_type="client_credentials")
    assert wrong.status_code == 401 and wrong.json() == unauthorized
    literal = http.post(
        "/auth/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": "Basic base64(web-app:web-secret)"},
    )
    assert literal.status_code == 401
    unknown = token(http, grant_type="password")
    assert unknown.status_code == 400 and unknown.json()["error"] == "unsupported_grant_type"
    double = token(http, DEV, grant_type="urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code")
    assert double.json()["error"] == "unsupported_grant_type"


def test_client_credentials_has_no_user(http: httpx.Client) -> None:
    response = token(http, grant_type="client_credentials")
    body = response.json()
    assert response.status_code == 200 and "refresh_token" not in body
    assert body["token_type"] == "bearer" and body["expires_in"] == 43199
    assert "user_name" not in claims(body["access_token"])
    assert api(http, body["access_token"], "/sale/categories").status_code == 200
    me = api(http, body["access_token"], "/me")
    assert me.status_code == 403 and me.json() == ACCESS_DENIED


# --- refresh --------------------------------------------------------------------------------
def test_refresh_rotates_and_kills_the_previous_access_token(http: httpx.Client) -> None:
    first = login(http)
    assert api(http, first["access_token"], "/me").status_code == 200
    response = refresh(http, first["refresh_token"])
    assert response.status_code == 200 and response.headers["cache-control"] == "no-store"
    second = response.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    old = api(http, first["access_token"], "/me")
    assert old.status_code == 401
    assert old.json() == {
        "error": "invalid_token",
        "error_description": f"Access token expired: {first['access_token'][:8]}...",
    }
    assert api(http, second["access_token"], "/me").status_code == 200


def test_old_refresh_token_has_sixty_seconds_of_grace(
    http: httpx.Client, emu: Emulator, clock: FakeClock
) -> None:
    first = login(http)
    assert refresh(http, first["refresh_token"]).status_code == 200
    clock.advance(59)
    again = refresh(http, first["refresh_token"])
    assert again.status_code == 200 and again.json()["refresh_token"]
    clock.advance(2)
    late = refresh(http, first["refresh_token"])
    assert late.status_code == 400
    assert late.json() == {
        "error": "invalid_grant",
        "error_description": f"Invalid refresh token: {first['refresh_token'][:8]}...",
    }
    assert first["refresh_token"] not in late.text
    assert emu.count(grant_type="refresh_token") == 3
    assert emu.count(grant_type="refresh_token", status=400) == 1


def test_refresh_rejects_unknown_foreign_and_expired_tokens(
    http: httpx.Client, emu: Emulator, clock: FakeClock
) -> None:
    pair = login(http)
    assert refresh(http, "garbage-token").json()["error"] == "invalid_grant"
    assert refresh(http, pair["access_token"]).json()["error"] == "invalid_grant"
    emu.add_client("other", "o", redirect_uris=[REDIRECT])
    stolen = token(
        http, ("other", "o"), grant_type="refresh_token", refresh_token=pair["refresh_token"]
    )
    assert stolen.json()["error"] == "invalid_grant"
    clock.advance(90 * 86400 + 1)
    assert refresh(http, pair["refresh_token"]).json()["error"] == "invalid_grant"


def test_access_token_expires_by_clock(http: httpx.Client, clock: FakeClock) -> None:
    pair = login(http)
    clock.advance(43198)
    assert api(http, pair["access_token"], "/me").status_code == 200
    clock.advance(2)
    assert api(http, pair["access_token"], "/me").json()["error"] == "invalid_token"


def test_revoke_user_tokens_kills_everything(http: httpx.Client, emu: Emulator) -> None:
    pair = login(http)
    assert emu.revoke_user_tokens() == 2
    assert api(http, pair["access_token"], "/me").status_code == 401
    assert refresh(http, pair["refresh_token"]).json()["error"] == "invalid_grant"


def test_users_consent_as_the_current_user(http: httpx.Client, emu: Emulator) -> None:
    emu.add_user(id="12345678", login="second-shop", first_name="Anna", email="a@example.com")
    pair = login(http)
    me = api(http, pair["access_token"], "/me").json()
    assert me["id"] == "12345678" and me["login"] == "second-shop" and me["firstName"] == "Anna"
    assert me["baseMarketplace"] == {"id": "allegro-pl"}
    assert me["company"] is None and me["features"] == []
    emu.current_user = "44213570"
    assert claims(login(http)["access_token"])["user_name"] == "44213570"


# --- device flow ----------------------------------------------------------------------------
def test_device_flow_pending_slow_down_approve_and_single_use(
    http: httpx.Client, emu: Emulator, clock: FakeClock
) -> None:
    response = start_device(http, scope="allegro:api:profile:read")
    assert response.status_code == 200
    body = response.json()
    assert body["expires_in"] == 3600 and body["interval"] == 5
    assert re.fullmatch(r"[a-z0-9]{9}", body["user_code"])
    assert body["verification_uri"] == emu.url + "/skojarz-aplikacje"
    assert (
        body["verification_uri_complete"] == f"{emu.url}/skojarz-aplikacje?code={body['user_code']}"
    )
    code = body["device_code"]
    assert poll(http, code).json()["error"] == "authorization_pending"
    clock.advance(1)
    assert poll(http, code).json()["error"] == "slow_down"
    clock.advance(5)
    assert poll(http, code).json()["error"] == "authorization_pending"
    assert emu.pending_user_codes() == [body["user_code"]]
    assert emu.approve_device(body["user_code"].upper())
    clock.advance(5)
    done = poll(http, code)
    assert done.status_code == 200
    assert done.json()["scope"] == "allegro:api:profile:read"
    clock.advance(5)
    assert poll(http, code).json() == {
        "error": "invalid_request",
        "error_description": "Invalid device code",
    }


def test_device_denied_unknown_and_expired(
    http: httpx.Client, emu: Emulator, clock: FakeClock
) -> None:
    body = start_device(http).json()
    assert emu.deny_device(body["user_code"])
    denied = poll(http, body["device_code"])
    assert denied.status_code == 400 and denied.json()["error"] == "access_denied"
    unknown = poll(http, "not-a-code")
    assert unknown.json() == {
        "error": "invalid_request",
        "error_description": "Invalid device code",
    }
    late = start_device(http).json()
    clock.advance(3601)
    expired = poll(http, late["device_code"])
    assert expired.status_code == 400
    assert expired.json()["error"] not in {"authorization_pending", "slow_down", "access_denied"}
    assert not emu.approve_device(late["user_code"])


def test_device_auto_approve_at_first_poll(http: httpx.Client, emu: Emulator) -> None:
    emu.auto_approve = True
    body = start_device(http).json()
    response = poll(http, body["device_code"])
    assert response.status_code == 200
    assert claims(response.json()["access_token"])["user_name"] == "44213570"


def test_device_endpoint_rules(http: httpx.Client) -> None:
    browser = start_device(http, WEB)
    assert browser.status_code == 401
    assert browser.json() == {
        "error": "unauthorized_client",
        "error_description": "Client does not have the device_code grant.",
    }
    bad = start_device(http, (DEV[0], "nope"))
    assert bad.status_code == 401
    assert bad.json() == {"error": "Unauthorized", "error_description": "Unauthorized"}
    missing = http.post("/auth/oauth/device", data={}, auth=DEV)
    assert missing.status_code == 400 and missing.json()["errors"][0]["code"] == "ERROR"
    in_query = http.post("/auth/oauth/device", params={"client_id": DEV[0]}, data={}, auth=DEV)
    assert in_query.status_code == 200


def test_verification_page_approves_as_current_user(http: httpx.Client, emu: Emulator) -> None:
    body = start_device(http).json()
    assert "<form" in http.get("/skojarz-aplikacje").text
    page = http.get(body["verification_uri_complete"].removeprefix(emu.url))
    assert page.status_code == 200 and "Shop App" in page.text
    spaced = " ".join(body["user_code"][i : i + 3] for i in (0, 3, 6)).upper()
    done = http.post("/skojarz-aplikacje", data={"code": spaced, "decision": "allow"})
    assert done.status_code == 200
    assert poll(http, body["device_code"]).status_code == 200
    assert http.get("/skojarz-aplikacje", params={"code": "zzzzzzzzz"}).status_code == 400


# --- REST rules -----------------------------------------------------------------------------
def test_rest_authentication_errors(http: httpx.Client, emu: Emulator) -> None:
    missing = api(http, None, "/me")
    assert missing.status_code == 401
    assert missing.json() == {
        "error": "unauthorized",
        "error_description": "Full authentication is required to access this resource",
    }
    foreign = api(http, "eyJhbGciOiJIUzI1NiJ9.e30.c2ln", "/me")
    assert foreign.status_code == 401
    assert foreign.json() == {
        "error": "invalid_token",
        "error_description": "Cannot convert access token to JSON",
    }
    assert re.fullmatch(r"[0-9a-f]{32}", missing.headers["trace-id"])
    assert missing.headers["trace-id"] != foreign.headers["trace-id"]


def test_rest_accept_and_user_agent(http: httpx.Client) -> None:
    access = login(http)["access_token"]
    for accept in ("application/json", "*/*"):
        response = api(http, access, "/me", accept=accept)
        assert response.status_code == 406
        assert response.json()["errors"][0]["code"] == "NotAcceptableException"
    for ua in ("Shop App/1.0", "Shop-App/2.1 (+https://x)", "Shop_App/1.0.0"):
        assert api(http, access, "/me", ua=ua).status_code == 200
    for ua in ("python-httpx/0.28", "Shop-App", "Shop-App/", "Other/1.0", "shop-app/1.0"):
        response = api(http, access, "/me", ua=ua)
        assert response.status_code == 403, ua
        assert response.json()["errors"][0]["code"] == "InvalidUserAgent"


def test_rest_scopes_and_marketplaces(http: httpx.Client, emu: Emulator) -> None:
    access = login(http, scope="allegro:api:orders:read")["access_token"]
    me = api(http, access, "/me")
    assert me.status_code == 403 and me.json() == ACCESS_DENIED
    markets = api(http, access, "/marketplaces")
    assert markets.status_code == 200
    assert markets.headers["content-type"].startswith(VND)
    assert markets.json()["marketplaces"][0]["id"] == "allegro-pl"
    assert api(http, access, "/sale/offers").status_code == 403


def test_rest_not_found(http: httpx.Client) -> None:
    access = login(http)["access_token"]
    response = api(http, access, "/no/such/thing")
    assert response.status_code == 404
    error = response.json()["errors"][0]
    assert error["code"] == "NotFoundException" and error["message"] == "Not found"


def test_offers_pagination(http: httpx.Client, emu: Emulator) -> None:
    access = login(http)["access_token"]
    first = api(http, access, "/sale/offers").json()
    assert first["count"] == 20 and first["totalCount"] == 250 and len(first["offers"]) == 20
    page = api(http, access, "/sale/offers", params={"offset": 16, "limit": 5}).json()
    assert page["offers"][0]["name"] == "Offer 17"
    assert (
        page["offers"][0]
        == api(http, access, "/sale/offers", params={"offset": 16}).json()["offers"][0]
    )
    tail = api(http, access, "/sale/offers", params={"offset": 240, "limit": 1000}).json()
    assert tail["count"] == 10 and tail["offers"][-1]["name"] == "Offer 250"
    beyond = api(http, access, "/sale/offers", params={"offset": 300}).json()
    assert beyond == {"offers": [], "count": 0, "totalCount": 250}
    ids = [
        o["id"] for o in api(http, access, "/sale/offers", params={"limit": 250}).json()["offers"]
    ]
    assert len(set(ids)) == 250
    for params in ({"limit": "0"}, {"limit": "1001"}, {"limit": "abc"}, {"offset": "-1"}):
        bad = api(http, access, "/sale/offers", params=params)
        assert bad.status_code == 422 and bad.json()["errors"][0]["code"], params
    emu.offers_count = 3
    assert api(http, access, "/sale/offers").json()["totalCount"] == 3


def test_create_offer(http: httpx.Client) -> None:
    access = login(http)["access_token"]
    headers = {"Content-Type": VND}
    offer = {"name": "Lamp", "sellingMode": {"price": {"amount": "10.00", "currency": "PLN"}}}
    for path in ("/sale/product-offers", "/sale/offers"):
        created = api(http, access, path, method="POST", headers=headers, content=json.dumps(offer))
        assert created.status_code == 201
        body = created.json()
        assert body["id"] and {k: body[k] for k in offer} == offer
    fetched = api(http, access, f"/sale/product-offers/{body['id']}")
    assert fetched.json() == body
    plain = api(http, access, "/sale/product-offers", method="POST", json=offer)
    assert plain.status_code == 415
    broken = api(http, access, "/sale/product-offers", method="POST", headers=headers, content="{")
    assert broken.status_code == 422
    reader = login(http, scope="allegro:api:sale:offers:read")["access_token"]
    denied = api(http, reader, "/sale/product-offers", method="POST", headers=headers, json=offer)
    assert denied.status_code == 403 and denied.json() == ACCESS_DENIED


# --- failure injection and bookkeeping ------------------------------------------------------
def test_fail_next_429_with_retry_after(http: httpx.Client, emu: Emulator) -> None:
    access = login(http)["access_token"]
    emu.fail_next(429, count=2, path_prefix="/sale/", retry_after=3)
    assert api(http, access, "/me").status_code == 200
    for _ in range(2):
        response = api(http, access, "/sale/offers")
        assert response.status_code == 429 and response.headers["retry-after"] == "3"
        error = response.json()["errors"][0]
        assert error["code"] == "RateLimitExceedException"
        assert error["userMessage"] == "Przekroczony limit zapytań."
    assert api(http, access, "/sale/offers").status_code == 200


def test_fail_next_on_token_endpoint_does_not_consume_the_refresh_token(
    http: httpx.Client, emu: Emulator
) -> None:
    pair = login(http)
    emu.fail_next(503, path_prefix="/auth/oauth/token")
    failed = refresh(http, pair["refresh_token"])
    assert failed.status_code == 503 and "retry-after" not in failed.headers
    assert failed.json()["errors"][0]["code"]
    assert refresh(http, pair["refresh_token"]).status_code == 200
    emu.fail_next(500)
    assert api(http, pair["access_token"], "/marketplaces").status_code == 500


def test_requests_are_recorded(http: httpx.Client, emu: Emulator) -> None:
    token(http, grant_type="client_credentials")
    seen = emu.requests[-1]
    assert seen.method == "POST" and seen.path == "/auth/oauth/token"
    assert seen.form == {"grant_type": "client_credentials"} and seen.query == {}
    assert seen.headers["authorization"].startswith("Basic ") and seen.status == 200
    assert emu.count(path="/auth/oauth/token", grant_type="client_credentials") == 1
    emu.clear_requests()
    assert emu.requests == []


def test_server_is_quiet(
    http: httpx.Client, emu: Emulator, capfd: pytest.CaptureFixture[str]
) -> None:
    login(http)
    http.get("/nothing")
    http.get("/auth/oauth/token")
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_concurrent_requests_are_served(http: httpx.Client, emu: Emulator) -> None:
    access = login(http)["access_token"]
    statuses: list[int] = []

    def call() -> None:
        with httpx.Client(base_url=emu.url, timeout=5) as client:
            statuses.append(api(client, access, "/sale/offers").status_code)

    threads = [threading.Thread(target=call) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 8


# --- lifecycle and the CLI helpers ----------------------------------------------------------
def test_start_stop_and_context_manager() -> None:
    emu = Emulator()
    assert emu.start() is emu and emu.start() is emu
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", emu.url) and emu.port > 0
    assert httpx.get(emu.url + "/me").status_code == 401
    emu.stop()
    assert not emu.running
    with pytest.raises(httpx.ConnectError):
        httpx.get(emu.url + "/me")
    with Emulator() as running, httpx.Client(base_url=running.url) as client:
        assert client.get("/me").status_code == 401  # a kept-alive connection
        running.stop()
        with pytest.raises(httpx.TransportError):
            client.get("/me")
    assert not running.running


def test_add_client_validates() -> None:
    emu = Emulator()
    with pytest.raises(ValueError):
        emu.add_client("a", "b", type="web")
    with pytest.raises(ValueError):
        emu.add_client("a", "b", scopes=["allegro:api:nope"])
    assert emu.add_client("a", "b", scopes=["allegro:api:ads"]).scopes == ("allegro:api:ads",)
    assert len(ALL_SCOPES) == 22 and emu.offers_count == 250


def test_demo_clients_and_banner() -> None:
    with Emulator() as emu:
        web, dev = demo_clients(emu)
        assert (web.client_id, web.type, web.redirect_uris) == (
            "demo-web",
            "browser",
            ["http://localhost:8976/callback"],
        )
        assert (dev.client_id, dev.type, web.app_name) == (
            "demo-device",
            "device",
            "allegro-conn demo",
        )
        lines = banner_lines(emu)
        assert f"  export ALLEGRO_CONN_AUTH_URL={emu.url}" in lines
        assert f"  export ALLEGRO_CONN_API_URL={emu.url}" in lines
        text = "\n".join(lines)
        assert (
            "demo-web" in text
            and "demo-device" in text
            and "http://localhost:8976/callback" in text
        )
        assert "fake" in text


def test_serve_forever_prints_banner_and_stops_on_ctrl_c() -> None:
    lines: list[str] = []

    def emit(line: str) -> None:
        lines.append(line)
        if line.startswith("Press Ctrl-C"):
            raise KeyboardInterrupt

    serve_forever(0, auto_approve=True, emit=emit)
    assert lines[0].startswith("Allegro emulator listening on http://127.0.0.1:")
    assert "auto-approved" in lines[0]
