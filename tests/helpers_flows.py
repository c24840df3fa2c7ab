"""Shared pieces of the authorization-flow tests: a running emulator, clients known to both
sides, "browsers" that really follow Allegro's redirects, a fake clock, and a prompter that
may be asked the same question more than once."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import stat
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import pytest

from allegro_conn.emulator import Emulator
from allegro_conn.store import Store
from tests.conftest import Cli, Result
from tests.fakes import DEFAULT, ScriptedPrompter

SECRET = "s3cret-client-Secret-42"
APP_NAME = "Shop App"
USER_ID = "44213570"  # the emulator's default account
USER_LOGIN = "demo-seller"
AUTHORIZE = "/auth/oauth/authorize"
TOKEN = "/auth/oauth/token"
DEVICE = "/auth/oauth/device"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


# -- ports and addresses -------------------------------------------------------------------------


def free_port() -> int:
    """A port free on 127.0.0.1 (and, when the machine has IPv6, on ::1) right now."""
    for _ in range(20):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if not has_ipv6():
            return port
        try:
            with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock6:
                sock6.bind(("::1", port))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port")


_IPV6: bool | None = None


def has_ipv6() -> bool:
    """Can this machine bind ::1?"""
    global _IPV6
    if _IPV6 is None:
        try:
            with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock:
                sock.bind(("::1", 0))
            _IPV6 = True
        except OSError:
            _IPV6 = False
    return _IPV6


def redirect_uri(port: int | None = None, path: str = "/callback") -> str:
    return f"http://localhost:{port or free_port()}{path}"


def with_host(url: str, host: str) -> str:
    """`url` sent to another host of the same port (e.g. 127.0.0.1 or [::1] for localhost)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{host}:{parts.port}"))


def with_query(url: str, **changes: str) -> str:
    """`url` with some query parameters replaced or added."""
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}


# -- the emulator and clients known to both sides ------------------------------------------------


LOOPBACK = "127.0.0.1,localhost,::1"


def bypass_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loopback traffic never through a proxy the machine may have configured (httpx and
    curl read these from the environment)."""
    for var in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(var, ",".join(filter(None, (os.environ.get(var), LOOPBACK))))


@pytest.fixture(name="emu")
def emu_fixture(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    """`emu`: a running emulator that approves every consent at once. Import `emu_fixture`
    into a test module to use it."""
    bypass_proxies(monkeypatch)
    with Emulator(port=0, auto_approve=True) as emulator:
        yield emulator
    assert not emulator.errors, emulator.errors


def emu_env(emulator: Emulator) -> dict[str, str]:
    """What points allegro-conn at the emulator (and says a browser exists)."""
    return {
        "ALLEGRO_CONN_AUTH_URL": emulator.url,
        "ALLEGRO_CONN_API_URL": emulator.url,
        "BROWSER": "unused-in-process",
    }


def add_client(
    cli: Cli,
    emulator: Emulator | None,
    name: str = "web",
    *,
    env: str = "sandbox",
    kind: str = "browser",
    uri: str | None = None,
    client_id: str | None = None,
    scopes: list[str] | None = None,
    register_uri: bool = True,
) -> str:
    """Register a client locally (`client add`) and, unless told otherwise, in the emulator.

    Returns the redirect URI ("" for a device client)."""
    client_id = client_id or f"{name}-client-id"
    uri = (uri or redirect_uri()) if kind == "browser" else ""
    if emulator is not None:
        emulator.add_client(
            client_id,
            SECRET,
            type=kind,
            redirect_uris=[uri] if uri and register_uri else [],
            app_name=APP_NAME,
            scopes=scopes,
        )
    args = ["client", "add", name, "--env", env, "--client-id", client_id]
    args += ["--client-secret-stdin", "--type", kind, "--app-name", APP_NAME]
    if uri:
        args += ["--redirect-uri", uri]
    result = cli(*args, input=SECRET + "\n")
    assert result.exit_code == 0, result.stderr
    return uri


# -- browsers ------------------------------------------------------------------------------------


def http_client() -> httpx.Client:
    """For the tests' own requests, all plain http on loopback: no proxy, and verify=False
    only spares loading the CA bundle (~50 ms per client)."""
    return httpx.Client(timeout=10, verify=False, trust_env=False)


def fetch(url: str, method: str = "GET", **kwargs: Any) -> httpx.Response:
    """One request, as a browser tab would send it."""
    with http_client() as http:
        return http.request(method, url, **kwargs)


@dataclass
class Browser:
    """A `Runtime.browser` that opens the authorize URL like a person would.

    `follow`: GET it and follow every redirect (the emulator auto-approves, then sends the
    browser to the loopback listener). `deny`: press Deny on the consent page. `nothing`:
    record the URL and do nothing. `before(url)` runs first, e.g. to forge a callback."""

    mode: str = "follow"
    host: str | None = None  # deliver the callback to this host instead of localhost
    before: Callable[[str], None] | None = None
    urls: list[str] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    pages: list[str] = field(default_factory=list)

    def __call__(self, url: str) -> bool:
        self.urls.append(url)
        if self.before is not None:
            self.before(url)
        if self.mode == "nothing":
            return True
        with http_client() as http:
            response = http.get(url)
            if self.mode == "deny":
                request_id = re.search(r'name="request_id" value="([^"]+)"', response.text)
                assert request_id, response.text
                action = urlsplit(url)._replace(path=AUTHORIZE + "/decision", query="")
                response = http.post(
                    urlunsplit(action), data={"request_id": request_id[1], "decision": "deny"}
                )
            while response.is_redirect:
                target = response.headers["location"]
                if self.host is not None and target.startswith("http://localhost:"):
                    target = with_host(target, self.host)
                response = http.get(target)
            self.statuses.append(response.status_code)
            self.pages.append(response.text)
        return True

    @property
    def called(self) -> bool:
        return bool(self.urls)


def callback_location(authorize_url: str) -> str:
    """What the emulator redirects to (auto-approve on), without following it."""
    with http_client() as http:
        response = http.get(authorize_url)
    assert response.status_code in (302, 303), response.text
    return str(response.headers["location"])


def browser_script(tmp_path: Path) -> Path:
    """A `BROWSER` program: curl -sL when there is curl, else the emulator's tiny browser."""
    script = tmp_path / "follow-browser"
    if shutil.which("curl"):
        body = 'exec curl -sL -o /dev/null "$1"\n'
    else:
        body = f'exec "{sys.executable}" -m allegro_conn.emulator.browser "$1"\n'
    script.write_text("#!/bin/sh\n" + body)
    script.chmod(0o755)
    return script


def subprocess_env(emulator: Emulator, config_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a real `allegro-conn` process talking to the emulator."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALLEGRO_CONN_")}
    env.update(
        {
            "ALLEGRO_CONN_CONFIG_DIR": str(config_dir),
            "ALLEGRO_CONN_AUTH_URL": emulator.url,
            "ALLEGRO_CONN_API_URL": emulator.url,
            "NO_COLOR": "1",
        }
    )
    env.update(extra)
    return env


# -- time ----------------------------------------------------------------------------------------


class FakeClock:
    """A clock whose `sleep` advances time: share it with the Emulator and the Runtime."""

    def __init__(self, start: float | None = None) -> None:
        self.now = time.time() if start is None else start
        self.sleeps: list[float] = []
        self.on_sleep: Callable[[int], None] | None = None  # called with the sleep count

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        if self.on_sleep is not None:
            self.on_sleep(len(self.sleeps))


# -- prompts -------------------------------------------------------------------------------------


class Seq:
    """Answers for a prompt asked several times (e.g. the client menu after editing one)."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)


class Later:
    """An answer computed when the question is asked (e.g. from the URL just shown)."""

    def __init__(self, compute: Callable[[], Any]) -> None:
        self.compute = compute


class SequencePrompter(ScriptedPrompter):
    """A ScriptedPrompter where `Seq(a, b)` answers the same prompt twice, in order, and
    `Later(fn)` answers with what `fn()` returns at that moment.

    Every other rule stays: an unexpected prompt, a prompt asked more often than scripted,
    or an answer never used fails the test."""

    def __init__(self, answers: dict[str, Any]) -> None:
        super().__init__(answers)
        self._queues = {k: list(v.answers) for k, v in answers.items() if isinstance(v, Seq)}

    def _answer(self, message: str, default: Any) -> Any:
        queue = self._queues.get(message)
        if queue is None:
            answer = super()._answer(message, default)
            return answer.compute() if isinstance(answer, Later) else answer
        self.asked.append(message)
        self.defaults[message] = default
        if not queue:
            self._fail(f"prompt {message!r} was asked more often than scripted")
        answer = queue.pop(0)
        if not queue:
            self._used.add(message)
        if isinstance(answer, BaseException):
            raise answer
        return default if answer is DEFAULT else answer


# -- what was stored -----------------------------------------------------------------------------


def listed(cli: Cli) -> list[dict[str, Any]]:
    result = cli("list", "--json")
    assert result.exit_code == 0, result.stderr
    value: list[dict[str, Any]] = json.loads(result.stdout)
    return value


def stored_tokens(config_dir: Path, name: str) -> tuple[str, str]:
    tokens = Store(config_dir).read_tokens(name)
    assert tokens is not None and tokens.refresh_token is not None
    return tokens.access_token, tokens.refresh_token


def file_mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def token_file(config_dir: Path, name: str) -> Path:
    return Store(config_dir).token_file(name)


def assert_no_secrets(result: Result, *secrets: str) -> None:
    for secret in (SECRET, *secrets):
        assert secret not in result.stdout
        assert secret not in result.stderr


def nothing_saved(config_dir: Path) -> bool:
    store = Store(config_dir)
    tokens = list(store.tokens_dir.glob("*.json")) if store.tokens_dir.exists() else []
    return not store.load_connections() and not tokens
