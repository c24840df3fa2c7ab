"""Getting the user's consent and turning it into a stored connection (create, reauth).

Three flows: `browser` (loopback listener), `paste` (the user pastes the redirect address;
for SSH sessions) and `device` (a code typed on any device; needs a device-type app).
Printing goes through `AuthUI`, implemented in cli/.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Protocol
from urllib.parse import parse_qs, urlsplit

from allegro_conn import allegro, jwt, service
from allegro_conn.errors import AppError, Failure, UsageError
from allegro_conn.models import APPS_PORTALS, Account, Connection, OAuthClient, TokenSet
from allegro_conn.oauth import tokens as oauth
from allegro_conn.oauth.listener import Listener, ListenerTimeout
from allegro_conn.oauth.pkce import AuthRequest
from allegro_conn.runtime import Runtime
from allegro_conn.scopes import PROFILE_READ

DEFAULT_TIMEOUT = 300.0
SLOW_DOWN_STEP = 5.0


class AuthUI(Protocol):
    def show_url(self, url: str, flow: str) -> None: ...

    def show_device_code(self, code: oauth.DeviceCode) -> None: ...

    def browser_opened(self, opened: bool, available: bool) -> None: ...

    def progress(self, message: str) -> AbstractContextManager[Callable[[float], None]]: ...

    def pasted_url(self) -> str: ...


@dataclass
class ConnectSpec:
    name: str
    client: OAuthClient
    scopes: list[str]  # empty: every scope the app declares on Allegro
    flow: str
    open_browser: bool = True
    timeout: float = DEFAULT_TIMEOUT


def default_flow(client: OAuthClient) -> str:
    return "device" if client.type == "device" else "browser"


def check_flow(client: OAuthClient, flow: str | None) -> str:
    flow = flow or default_flow(client)
    if flow not in ("browser", "device", "paste"):
        raise UsageError(f"Unknown flow {flow!r}.", "Use --flow browser, device or paste.")
    if flow == "device" and client.type != "device":
        raise UsageError(
            f"Client {client.name!r} is a browser-type app; the device flow needs an app "
            "registered as 'works without a browser'.",
            "Use --flow browser or --flow paste, or add a device-type client.",
        )
    if flow != "device" and client.type == "device":
        raise UsageError(
            f"Client {client.name!r} is a device-type app: it has no redirect URI.",
            "Use --flow device (the default for it).",
        )
    return flow


def _open(rt: Runtime, spec: ConnectSpec, url: str, ui: AuthUI) -> None:
    """Open `url` unless asked not to or there is evidently no browser; tell the user.

    The URL is always printed before this, so a browser program that blocks cannot hide it.
    """
    if not spec.open_browser:
        return
    if not rt.has_browser:
        if spec.flow == "browser":  # the others work from any device anyway
            ui.browser_opened(False, available=False)
        return
    try:
        opened = rt.browser(url)
    except Exception:
        opened = False
    ui.browser_opened(opened, available=True)


def _exchange(rt: Runtime, spec: ConnectSpec, request: AuthRequest, code: str) -> TokenSet:
    try:
        return oauth.exchange_code(
            rt, spec.client, request.auth_base, code, request.redirect_uri, request.verifier
        )
    except oauth.OAuthError as exc:
        if exc.error == "invalid_grant":
            raise Failure(
                f"Allegro refused the authorization code ({exc.description or exc.error}).",
                "Codes live about 10 seconds: try again, a little faster, or use --flow device.",
            ) from None
        raise


def _browser_flow(rt: Runtime, spec: ConnectSpec, ui: AuthUI) -> TokenSet:
    client = spec.client
    assert client.redirect_uri is not None
    request = AuthRequest(
        rt.auth_base(client.environment), client.client_id, client.redirect_uri, tuple(spec.scopes)
    )
    listener = Listener(
        client.redirect_uri,
        request.state_matches,
        lambda code: _exchange(rt, spec, request, code),
        spec.name,
    )
    with listener:
        ui.show_url(request.url, "browser")
        _open(rt, spec, request.url, ui)
        try:
            with ui.progress("Waiting for consent in the browser") as tick:
                outcome = listener.wait(spec.timeout, tick)
        except ListenerTimeout:
            raise Failure(
                f"No answer from Allegro within {spec.timeout:g} s.",
                "The usual cause is a redirect URI that is not registered exactly: Allegro then "
                "shows its own error page ('Nie możemy wyświetlić strony') and never calls back. "
                f"Register exactly {client.redirect_uri} for client id {client.client_id} at "
                f"{APPS_PORTALS[client.environment]}, or try --flow paste "
                "(or --flow device with a device-type app).",
            ) from None
    if outcome.error is not None:
        raise outcome.error
    result: TokenSet = outcome.result
    return result


def _paste_flow(rt: Runtime, spec: ConnectSpec, ui: AuthUI) -> TokenSet:
    client = spec.client
    assert client.redirect_uri is not None
    request = AuthRequest(
        rt.auth_base(client.environment), client.client_id, client.redirect_uri, tuple(spec.scopes)
    )
    ui.show_url(request.url, "paste")
    _open(rt, spec, request.url, ui)
    pasted = ui.pasted_url().strip()
    query = {k: v[0] for k, v in parse_qs(urlsplit(pasted).query).items()}
    if not query:
        raise UsageError(
            "The pasted text is not the address the browser was sent to.",
            f"Copy the whole address starting with {client.redirect_uri} from the address bar.",
        )
    if not request.state_matches(query.get("state")):
        raise Failure(
            "The pasted address does not belong to this sign-in (its state does not match).",
            "Start again and paste the address from this attempt.",
        )
    if "error" in query:
        detail = query["error"] + (
            f": {query['error_description']}" if query.get("error_description") else ""
        )
        raise Failure(f"Allegro sent an error instead of a code ({detail}).")
    if not query.get("code"):
        raise UsageError("The pasted address has no code.", "Paste the whole address.")
    return _exchange(rt, spec, request, query["code"])


def _device_flow(rt: Runtime, spec: ConnectSpec, ui: AuthUI) -> TokenSet:
    client = spec.client
    base = rt.auth_base(client.environment)
    code = oauth.start_device(rt, client, base, spec.scopes)
    target = code.verification_uri_complete or code.verification_uri
    ui.show_device_code(code)
    _open(rt, spec, target, ui)
    timed_out = spec.timeout < code.expires_in  # our --timeout ends the wait, not Allegro
    deadline = rt.clock() + min(code.expires_in, spec.timeout)
    interval = max(code.interval, 1.0)
    with ui.progress("Waiting for approval on Allegro") as tick:
        while True:
            rt.sleep(interval)
            if rt.clock() >= deadline:
                if timed_out:
                    raise Failure(
                        f"The code was not approved within {spec.timeout:g} s.",
                        "Run the command again and approve sooner, or pass a longer --timeout.",
                    )
                raise Failure(
                    "The device code expired before it was approved.",
                    "Run the command again and approve within the time shown.",
                )
            try:
                return oauth.poll_device(rt, client, base, code.device_code)
            except oauth.OAuthError as exc:
                if exc.error == "authorization_pending":
                    tick(deadline - rt.clock())
                    continue
                if exc.error == "slow_down":
                    interval += SLOW_DOWN_STEP
                    continue
                if exc.error == "access_denied":
                    raise Failure("Access was denied on Allegro; nothing was saved.") from None
                if "invalid device code" in f"{exc.error} {exc.description}".lower():
                    raise Failure(
                        "Allegro no longer knows this device code (already used or wrong).",
                        "Run the command again to get a new code.",
                    ) from None
                raise Failure(
                    f"The device code expired or was refused ({exc.error}).",
                    "Run the command again; check the client id and secret if it repeats.",
                ) from None


def obtain_tokens(rt: Runtime, spec: ConnectSpec, ui: AuthUI) -> TokenSet:
    flows = {"browser": _browser_flow, "paste": _paste_flow, "device": _device_flow}
    return flows[spec.flow](rt, spec, ui)


def identify(
    rt: Runtime, client: OAuthClient, tokens: TokenSet, granted: list[str]
) -> tuple[Account, str | None]:
    """Whose account: GET /me when profile:read was granted, else the token's user_name.

    Never raises: the tokens are already spent-for, so they are saved whatever /me says;
    the second item is why /me failed, for a warning."""
    problem = None
    if PROFILE_READ in granted:
        try:
            me, _ = allegro.get(rt, client, client.environment, tokens.access_token, "/me")
            if me.get("id"):
                return Account(id=str(me["id"]), login=me.get("login")), None
            problem = "GET /me answered without an account id"
        except AppError as exc:  # Failure, Unavailable (5xx, 429, network), AuthNeeded
            problem = f"GET /me failed: {exc.message}"
    user = jwt.claims(tokens.access_token).get("user_name")
    return Account(id=str(user) if user is not None else "unknown", login=None), problem


def now_iso(rt: Runtime) -> str:
    return datetime.fromtimestamp(rt.clock(), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Connected:
    connection: Connection
    not_granted: list[str]
    account_problem: str | None = None  # why the account could not be read, if it could not


def connect(rt: Runtime, spec: ConnectSpec, ui: AuthUI, existing: Connection | None) -> Connected:
    """Authorize, identify the account and save, tokens first (create and reauth)."""
    tokens = obtain_tokens(rt, spec, ui)
    granted = tokens.scope.split() or list(spec.scopes)
    account, account_problem = identify(rt, spec.client, tokens, granted)
    conn = Connection(
        name=spec.name,
        environment=spec.client.environment,
        client=spec.client.name,
        requested_scopes=list(spec.scopes),
        scopes=granted,
        account=account,
        created_at=existing.created_at if existing else now_iso(rt),
        last_test=None,
    )
    service.save_connection(rt.store, conn, tokens, new=existing is None)
    not_granted = [s for s in spec.scopes if s not in granted]
    return Connected(conn, not_granted, account_problem)
