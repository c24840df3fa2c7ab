"""Shared pieces of the token-lifecycle tests: a running emulator with one registered app,
connections holding tokens the emulator really issued, "another process" refreshing behind
our back, and the console script run as a real process.

Connections are made in one of two ways:

- `seed(...)`: the app's authorization-code flow is run over HTTP against the emulator (as a
  browser and the token endpoint would), and the client, connection and tokens are written
  through the Store, as `create` would store them. Fast, and the tokens are real.
- `create(...)`: `client add` and `create NAME --client web --all-scopes` through the CLI,
  with a "browser" that follows the emulator's redirects to the loopback listener.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from allegro_conn.allegro import api_headers
from allegro_conn.emulator import ALL_SCOPES, Emulator
from allegro_conn.emulator.browser import follow
from allegro_conn.models import Account, Connection, OAuthClient, TokenSet
from allegro_conn.store import Store
from tests.conftest import Cli, Result, allegro_conn_cmd

CLIENT = "web"
CLIENT_ID = "lifecycle-client-id"
CLIENT_SECRET = "lifecycle-Secret-0123456789"
APP_NAME = "Shop App"
USER_ID = "44213570"  # the emulator's default account
USER_LOGIN = "demo-seller"
PROFILE_READ = "allegro:api:profile:read"
TOKEN_PATH = "/auth/oauth/token"
HEAVY = ("typer", "rich", "httpx", "questionary", "platformdirs", "click", "pydantic")
HEAVY_PREFIXES = (*HEAVY, "prompt_toolkit")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def closed_port_url() -> str:
    """A loopback address where nothing listens: connections are refused."""
    return f"http://127.0.0.1:{free_port()}"


@dataclass
class Allegro:
    """A running emulator with the app `web` registered on it."""

    emu: Emulator
    redirect_uri: str

    @property
    def url(self) -> str:
        return self.emu.url

    @property
    def env(self) -> dict[str, str]:
        """Point allegro-conn at the emulator for both hosts."""
        return {"ALLEGRO_CONN_AUTH_URL": self.emu.url, "ALLEGRO_CONN_API_URL": self.emu.url}

    def refreshes(self) -> int:
        return self.emu.count(grant_type="refresh_token")

    def client(self) -> OAuthClient:
        return OAuthClient(
            name=CLIENT,
            environment="sandbox",
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            type="browser",
            redirect_uri=self.redirect_uri,
            app_name=APP_NAME,
        )

    # -- the OAuth endpoints, spoken to directly (a browser, or another program) ----------------

    def grant(self, scopes: Iterable[str] | None = None) -> TokenSet:
        """A fresh token pair for the emulator's current user, through the code flow."""
        params: dict[str, str] = {
            "response_type": "code",
            "client_id": CLIENT_ID,
            "redirect_uri": self.redirect_uri,
        }
        if scopes is not None:
            params["scope"] = " ".join(scopes)
        with httpx.Client(base_url=self.url) as http:
            answer = http.get("/auth/oauth/authorize", params=params)
            assert answer.status_code == 302, answer.text
            code = parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]
            form = {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self.redirect_uri,
            }
            return self._token_set(http.post(TOKEN_PATH, data=form, auth=self._basic()))

    def refresh_directly(self, refresh_token: str) -> TokenSet:
        """Refresh as another program would: the emulator rotates the pair."""
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        with httpx.Client(base_url=self.url) as http:
            return self._token_set(http.post(TOKEN_PATH, data=form, auth=self._basic()))

    def api_status(self, access_token: str, path: str = "/me") -> int:
        """What the REST host answers to this token, with the headers Allegro insists on."""
        headers = api_headers(self.client(), access_token)
        return httpx.get(self.url + path, headers=headers).status_code

    def _basic(self) -> tuple[str, str]:
        return (CLIENT_ID, CLIENT_SECRET)

    @staticmethod
    def _token_set(response: httpx.Response) -> TokenSet:
        assert response.status_code == 200, response.text
        body = response.json()
        now = time.time()
        return TokenSet(
            access_token=body["access_token"],
            refresh_token=body["refresh_token"],
            expires_at=now + body["expires_in"],
            scope=body["scope"],
            refresh_issued_at=now,
        )


@contextmanager
def running(**emulator: Any) -> Iterator[Allegro]:
    """An emulator (auto-approving consent) with the app `web` registered."""
    redirect = f"http://localhost:{free_port()}/callback"
    emu = Emulator(port=0, auto_approve=True, **emulator)
    emu.add_client(CLIENT_ID, CLIENT_SECRET, redirect_uris=[redirect], app_name=APP_NAME)
    with emu:
        yield Allegro(emu, redirect)


# -- connections -----------------------------------------------------------------------------


def seed(
    config_dir: Path,
    allegro: Allegro,
    name: str = "shop",
    *,
    scopes: Iterable[str] = ALL_SCOPES,
    expires_at: float | None = None,
    refresh_issued_at: float | None = None,
    needs_reauth: str | None = None,
    default: bool = True,
) -> TokenSet:
    """A connection whose tokens the emulator issued, stored as `create` stores one.

    `expires_at` overrides the stored expiry (e.g. in the past: the token then looks
    expired to allegro-conn while the emulator would still accept it).
    """
    granted = list(scopes)
    tokens = allegro.grant(granted)
    changes: dict[str, Any] = {}
    if expires_at is not None:
        changes["expires_at"] = expires_at
        # as if received one lifetime before that expiry, as a real token would have been
        changes["refresh_issued_at"] = expires_at - (tokens.expires_at - tokens.refresh_issued_at)
    if refresh_issued_at is not None:
        changes["refresh_issued_at"] = refresh_issued_at
    if needs_reauth is not None:
        changes["needs_reauth"] = needs_reauth
    tokens = replace(tokens, **changes)
    store = Store(config_dir)
    clients = store.load_clients()
    clients[CLIENT] = allegro.client()
    store.save_clients(clients)
    connections = store.load_connections()
    connections[name] = Connection(
        name=name,
        environment="sandbox",
        client=CLIENT,
        requested_scopes=[],
        scopes=granted,
        account=Account(USER_ID, USER_LOGIN),
        created_at="2027-01-01T00:00:00Z",
    )
    store.save_connections(connections)
    store.write_tokens(name, tokens)
    if default:
        store.set_default(name)
    return tokens


def browser(url: str) -> bool:
    """A browser that follows Allegro's redirects to the loopback listener, in the background."""
    threading.Thread(target=follow, args=(url,), daemon=True).start()
    return True


def create(cli: Cli, allegro: Allegro, name: str = "shop") -> Result:
    """`client add web ...` and `create NAME --client web --all-scopes`, as a user would."""
    added = cli(
        "client",
        "add",
        CLIENT,
        "--env",
        "sandbox",
        "--client-id",
        CLIENT_ID,
        "--client-secret-stdin",
        "--redirect-uri",
        allegro.redirect_uri,
        "--app-name",
        APP_NAME,
        input=CLIENT_SECRET + "\n",
    )
    assert added.exit_code == 0, added.stderr
    return cli("create", name, "--client", CLIENT, "--all-scopes", env=allegro.env, browser=browser)


def stored(config_dir: Path, name: str = "shop") -> TokenSet:
    tokens = Store(config_dir).read_tokens(name)
    assert tokens is not None
    return tokens


def token_file(config_dir: Path, name: str = "shop") -> Path:
    return Store(config_dir).token_file(name)


def token_document(config_dir: Path, name: str = "shop") -> dict[str, Any]:
    """The token file, which must always be one whole JSON document."""
    data: dict[str, Any] = json.loads(token_file(config_dir, name).read_text("utf-8"))
    return data


def show(cli: Cli, name: str = "shop", **kwargs: Any) -> dict[str, Any]:
    result = cli("show", name, "--json", **kwargs)
    assert result.exit_code == 0, result.stderr
    view: dict[str, Any] = json.loads(result.stdout)
    return view


def assert_names_reauth(result: Result, name: str = "shop") -> None:
    """Exit 4, nothing on stdout, and stderr says which command fixes it."""
    assert result.exit_code == 4, (result.stdout, result.stderr)
    assert result.stdout == ""
    assert f"allegro-conn reauth {name}" in result.stderr


# -- real processes --------------------------------------------------------------------------


def process_env(extra: Mapping[str, str] | None = None, **changes: str | None) -> dict[str, str]:
    """os.environ (with the test's config dir) plus `extra`; None removes a variable."""
    env = dict(os.environ)
    env.update(extra or {})
    for key, value in changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def command() -> list[str]:
    """The installed console script (falls back to `python -m allegro_conn`)."""
    return allegro_conn_cmd()


def run(
    *args: str, env: Mapping[str, str] | None = None, timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*command(), *args],
        env=dict(env) if env is not None else None,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def python() -> str:
    return sys.executable
