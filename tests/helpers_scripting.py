"""A real connection for the scripting tests: an emulator, a client, a consented connection.

Use the fixtures by naming this module as a plugin of the test module:

    pytest_plugins = ["tests.helpers_scripting"]

    def test_something(connected: Connected) -> None:
        result = connected.run("api", "/me")
"""

from __future__ import annotations

import shutil
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from allegro_conn.emulator import Emulator
from allegro_conn.emulator.browser import follow
from allegro_conn.store import Store
from tests.conftest import Cli, Result

CLIENT_ID = "scripting-client-id"
CLIENT_SECRET = "scripting-client-secret-0123456789"
APP_NAME = "Shop App"
CONNECTION = "shop"
OFFERS = 250  # the emulator's default number of offers


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def follow_in_background(url: str) -> bool:
    """A `browser` for the Runtime: follows the consent redirects in a thread."""
    threading.Thread(target=follow, args=(url,), daemon=True).start()
    return True


@dataclass
class Connected:
    """A consented connection named `shop` (the default) against a running emulator."""

    cli: Cli
    emu: Emulator
    config_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    name: str = CONNECTION

    def run(self, *args: str, env: dict[str, str] | None = None, **runtime: Any) -> Result:
        """The CLI in-process, with the emulator's hosts in its environment."""
        return self.cli(*args, env={**self.env, **(env or {})}, **runtime)

    @property
    def store(self) -> Store:
        return Store(self.config_dir)

    def access_token(self, name: str = CONNECTION) -> str:
        tokens = self.store.read_tokens(name)
        assert tokens is not None
        return tokens.access_token

    def refresh_token(self, name: str = CONNECTION) -> str:
        tokens = self.store.read_tokens(name)
        assert tokens is not None and tokens.refresh_token is not None
        return tokens.refresh_token

    def assert_no_secret(self, *outputs: str) -> None:
        """Neither token nor the client secret appear in any of `outputs`."""
        secrets = [self.access_token(), self.refresh_token(), CLIENT_SECRET]
        for text in outputs:
            for secret in secrets:
                assert secret not in text

    def create(self, name: str) -> None:
        """Consent once more, as another connection of the same client."""
        result = self.run(
            "create", name, "--client", "web", "--all-scopes", browser=follow_in_background
        )
        assert result.exit_code == 0, result.stderr


def connect(cli: Cli, config_dir: Path, emulator: Emulator) -> Connected:
    """Register the client and create the connection `shop` against `emulator`."""
    redirect = f"http://localhost:{free_port()}/callback"
    emulator.add_client(
        CLIENT_ID, CLIENT_SECRET, type="browser", redirect_uris=[redirect], app_name=APP_NAME
    )
    env = {
        "ALLEGRO_CONN_CONFIG_DIR": str(config_dir),
        "ALLEGRO_CONN_AUTH_URL": emulator.url,
        "ALLEGRO_CONN_API_URL": emulator.url,
        "BROWSER": "true",  # "there is a browser"; the Runtime's `browser` callable is used
    }
    conn = Connected(cli=cli, emu=emulator, config_dir=config_dir, env=env)
    added = conn.run(
        "client",
        "add",
        "web",
        "--env",
        "sandbox",
        "--client-id",
        CLIENT_ID,
        "--client-secret-stdin",
        "--type",
        "browser",
        "--redirect-uri",
        redirect,
        "--app-name",
        APP_NAME,
        input=CLIENT_SECRET + "\n",
    )
    assert added.exit_code == 0, added.stderr
    conn.create(CONNECTION)
    emulator.clear_requests()
    return conn


@pytest.fixture(scope="module")
def scripting_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Connected]:
    """One emulator and one consented config directory per test module (consent takes a
    few hundred milliseconds; copying the directory, nothing)."""
    root = tmp_path_factory.mktemp("scripting-template") / "config"
    with Emulator(port=0, auto_approve=True) as emulator:
        yield connect(Cli(root), root, emulator)


@pytest.fixture
def connected(cli: Cli, config_dir: Path, scripting_template: Connected) -> Connected:
    """`shop`, consented, on the module's emulator (a copy of its config directory).

    Tests using it must not refresh or revoke tokens (that would change the emulator's state
    for the next tests); those use `fresh_connected`.
    """
    emu = scripting_template.emu
    with emu.state.lock:  # what an earlier test may have left behind
        emu.state.failures.clear()
        emu.state.requests.clear()
        emu.state.offers_count = OFFERS
    shutil.copytree(scripting_template.config_dir, config_dir)
    env = {**scripting_template.env, "ALLEGRO_CONN_CONFIG_DIR": str(config_dir)}
    return Connected(cli=cli, emu=emu, config_dir=config_dir, env=env)


@pytest.fixture
def fresh_connected(cli: Cli, config_dir: Path) -> Iterator[Connected]:
    """`shop`, consented, on an emulator of its own: for tests that refresh or revoke."""
    with Emulator(port=0, auto_approve=True) as emulator:
        yield connect(cli, config_dir, emulator)
