"""The loopback listener over real HTTP: on its own, and as `create` uses it with the emulator."""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from allegro_conn.emulator import Emulator
from allegro_conn.errors import Failure
from allegro_conn.oauth.listener import Listener, ListenerTimeout
from tests.conftest import Cli
from tests.helpers_flows import (
    Browser,
    add_client,
    emu_env,
    emu_fixture,  # noqa: F401 (the emu fixture)
    fetch,
    free_port,
    has_ipv6,
    http_client,
    listed,
    nothing_saved,
    query_of,
    redirect_uri,
    with_query,
)

STATE = "the-right-state_0123456789"
CREATE = ("create", "shop", "--client", "web", "--all-scopes")
needs_ipv6 = pytest.mark.skipif(not has_ipv6(), reason="this machine cannot bind ::1")


class Catcher:
    """A Listener on a free port whose `on_code` records the codes it was handed."""

    def __init__(self, label: str = "shop") -> None:
        self.port = free_port()
        self.uri = f"http://localhost:{self.port}/callback"
        self.codes: list[str] = []
        self.listener = Listener(self.uri, lambda s: s == STATE, self._on_code, label)
        self.http = http_client()

    def _on_code(self, code: str) -> str:
        self.codes.append(code)
        return f"tokens-for-{code}"

    def url(self, path: str = "/callback", host: str = "127.0.0.1", **query: str) -> str:
        base = f"http://{host}:{self.port}{path}"
        return with_query(base, **query) if query else base

    def get(self, path: str = "/callback", host: str = "127.0.0.1", **query: str) -> httpx.Response:
        return self.http.get(self.url(path, host, **query))


@pytest.fixture
def catcher() -> Iterator[Catcher]:
    c = Catcher()
    with c.listener, c.http:
        yield c


def assert_still_waiting(listener: Listener) -> None:
    with pytest.raises(ListenerTimeout):
        listener.wait(0.1)
    assert listener.outcome is None


# -- the listener on its own ---------------------------------------------------------------------


def test_good_callback_hands_the_code_over_and_says_connected(catcher: Catcher) -> None:
    response = catcher.get(code="abc", state=STATE)
    assert response.status_code == 200
    assert "Connected shop to Allegro" in response.text
    assert catcher.listener.wait(1).result == "tokens-for-abc"
    assert catcher.codes == ["abc"]


def test_forged_callback_before_the_real_one_does_not_end_the_flow(catcher: Catcher) -> None:
    forged = catcher.get(code="evil", state="forged-state")
    assert forged.status_code == 400
    assert "does not match" in forged.text
    assert_still_waiting(catcher.listener)
    assert catcher.codes == []  # the forged code was never exchanged

    real = catcher.get(code="good", state=STATE)
    assert real.status_code == 200
    assert catcher.listener.wait(1).result == "tokens-for-good"
    assert catcher.codes == ["good"]


def test_callback_without_state_is_400_and_changes_nothing(catcher: Catcher) -> None:
    response = catcher.get(code="abc")
    assert response.status_code == 400
    assert_still_waiting(catcher.listener)
    assert catcher.codes == []


STRAY_PATHS = ["/favicon.ico", "/", "/other", "/callback/extra", "/Callback", "/callbackx"]


def test_stray_requests_get_404_and_change_nothing(catcher: Catcher) -> None:
    for path in STRAY_PATHS:
        response = catcher.get(path, code="abc", state=STATE)
        assert response.status_code == 404, path
        assert "not part of the sign-in" in response.text
    assert_still_waiting(catcher.listener)
    assert catcher.codes == []
    # and the real callback still works afterwards
    assert catcher.get(code="abc", state=STATE).status_code == 200
    assert catcher.listener.wait(1).result == "tokens-for-abc"


def test_other_methods_are_refused_and_change_nothing(catcher: Catcher) -> None:
    for method in ("POST", "HEAD", "PUT", "DELETE"):
        response = catcher.http.request(method, catcher.url(code="abc", state=STATE))
        assert response.status_code >= 400, method
    assert_still_waiting(catcher.listener)
    assert catcher.codes == []


def test_a_second_callback_after_the_first_is_refused(catcher: Catcher) -> None:
    assert catcher.get(code="one", state=STATE).status_code == 200
    second = catcher.get(code="two", state=STATE)
    assert second.status_code == 409
    assert catcher.codes == ["one"]
    assert catcher.listener.wait(1).result == "tokens-for-one"


def test_access_denied_with_the_right_state_ends_the_flow_with_an_error(catcher: Catcher) -> None:
    response = catcher.get(error="access_denied", state=STATE)
    assert response.status_code == 200
    assert "Could not connect shop" in response.text
    outcome = catcher.listener.wait(1)
    assert outcome.error is not None and "access_denied" in outcome.error.message
    assert outcome.result is None
    assert catcher.codes == []


def test_reflected_values_are_html_escaped(catcher: Catcher) -> None:
    response = catcher.get(
        error="invalid_request", error_description="<script>alert(1)</script>", state=STATE
    )
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text
    assert "<script" not in response.text


def test_the_connection_name_is_escaped_in_the_page() -> None:
    c = Catcher(label='<img src="x">&')
    with c.listener:
        page = c.get(code="abc", state=STATE).text
    assert "&lt;img src=&quot;x&quot;&gt;&amp;" in page
    assert "<img" not in page


@pytest.mark.parametrize(
    "path, query",
    [
        ("/callback", {"code": "abc", "state": STATE}),  # success page
        ("/callback", {"error": "access_denied", "state": STATE}),  # error page
        ("/callback", {"code": "abc", "state": "forged"}),  # 400
        ("/favicon.ico", {}),  # 404
    ],
)
def test_every_page_is_no_store_and_loads_nothing_from_elsewhere(
    catcher: Catcher, path: str, query: dict[str, str]
) -> None:
    response = catcher.get(path, **query)
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-type"].startswith("text/html")
    html = response.text.lower()
    assert "http:" not in html and "https:" not in html and "//" not in html
    assert "src=" not in html and "<link" not in html and "<script" not in html
    assert "<html" in html


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", pytest.param("[::1]", marks=needs_ipv6)],
    ids=["ipv4", "ipv6"],
)
def test_callback_is_delivered_over_ipv4_and_ipv6(catcher: Catcher, host: str) -> None:
    response = catcher.get(host=host, code="abc", state=STATE)
    assert response.status_code == 200
    assert catcher.listener.wait(1).result == "tokens-for-abc"


def test_localhost_reaches_the_listener(catcher: Catcher) -> None:
    assert catcher.get(host="localhost", code="abc", state=STATE).status_code == 200


@pytest.mark.parametrize(
    "host, family",
    [
        ("127.0.0.1", socket.AF_INET),
        pytest.param("::1", socket.AF_INET6, marks=needs_ipv6),
    ],
    ids=["ipv4", "ipv6"],
)
def test_busy_port_fails_at_start_naming_the_port(host: str, family: int) -> None:
    port = free_port()
    with socket.socket(family, socket.SOCK_STREAM) as blocker:
        blocker.bind((host, port))
        blocker.listen()
        listener = Listener(f"http://localhost:{port}/callback", lambda s: True, str, "shop")
        with pytest.raises(Failure) as info:
            listener.start()
    assert f"Port {port}" in str(info.value)
    assert listener.bound == []
    # everything it bound was released: the port is usable again
    with Listener(f"http://localhost:{port}/callback", lambda s: True, str, "shop"):
        pass


def test_stop_releases_the_port_for_the_next_attempt() -> None:
    c = Catcher()
    with c.listener:
        assert "127.0.0.1" in c.listener.bound
    with Listener(c.uri, lambda s: True, str, "again"):
        pass


def test_wait_times_out_and_ticks_meanwhile(catcher: Catcher) -> None:
    ticks: list[float] = []
    started = time.monotonic()
    with pytest.raises(ListenerTimeout):
        catcher.listener.wait(0.5, ticks.append)
    assert 0.4 < time.monotonic() - started < 2
    assert ticks and all(0 < left <= 0.5 for left in ticks)


def test_an_exchange_that_raises_still_answers_the_browser() -> None:
    def broken(code: str) -> str:
        raise RuntimeError(f"boom with {code}")

    port = free_port()
    with Listener(f"http://localhost:{port}/callback", lambda s: s == STATE, broken, "shop") as li:
        response = fetch(f"http://127.0.0.1:{port}/callback?code=c&state={STATE}")
        outcome = li.wait(1)
    assert response.status_code == 200 and "Could not connect shop" in response.text
    assert outcome.error is not None and "RuntimeError" in outcome.error.message
    assert "boom" not in response.text  # no internals on the page


# -- through `create` ----------------------------------------------------------------------------


def test_create_survives_a_forged_callback_arriving_first(
    cli: Cli, emu: Emulator, config_dir: Path
) -> None:
    uri = add_client(cli, emu)
    forged: list[int] = []

    def forge(authorize_url: str) -> None:
        params = query_of(authorize_url)
        assert params["redirect_uri"] == uri
        evil = with_query(uri, code="attacker-code", state="not-" + params["state"])
        forged.append(fetch(evil).status_code)

    browser = Browser(before=forge)
    result = cli(*CREATE, env=emu_env(emu), browser=browser)
    assert result.exit_code == 0, result.stderr
    assert forged == [400]
    assert browser.statuses == [200]
    assert [c["name"] for c in listed(cli)] == ["shop"]
    # only the real code went to the token endpoint
    exchanges = emu.find(path="/auth/oauth/token", grant_type="authorization_code")
    assert len(exchanges) == 1 and exchanges[0].status == 200
    assert exchanges[0].form["code"] != "attacker-code"


def test_create_ignores_stray_requests_while_waiting(
    cli: Cli, emu: Emulator, config_dir: Path
) -> None:
    uri = add_client(cli, emu)
    strays: list[int] = []

    def stray(authorize_url: str) -> None:
        root = uri.removesuffix("/callback")
        for path in ("/favicon.ico", "/", "/robots.txt"):
            strays.append(fetch(root + path).status_code)

    result = cli(*CREATE, env=emu_env(emu), browser=Browser(before=stray))
    assert result.exit_code == 0, result.stderr
    assert strays == [404, 404, 404]
    assert [c["name"] for c in listed(cli)] == ["shop"]


def test_create_with_access_denied_callback_fails_and_saves_nothing(
    cli: Cli, emu: Emulator, config_dir: Path
) -> None:
    uri = add_client(cli, emu)
    pages: list[str] = []

    def refuse(authorize_url: str) -> bool:
        state = query_of(authorize_url)["state"]
        denied = with_query(uri, error="access_denied", state=state)
        pages.append(fetch(denied).text)
        return True

    result = cli(*CREATE, env=emu_env(emu), browser=refuse)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "refused" in result.stderr and "access_denied" in result.stderr
    assert "Could not connect shop" in pages[0]
    assert nothing_saved(config_dir)
    assert emu.count(path="/auth/oauth/token") == 0


@pytest.mark.parametrize(
    "host", ["127.0.0.1", pytest.param("[::1]", marks=needs_ipv6)], ids=["ipv4", "ipv6"]
)
def test_create_receives_the_callback_over_ipv4_and_ipv6(
    cli: Cli, emu: Emulator, config_dir: Path, host: str
) -> None:
    add_client(cli, emu)
    browser = Browser(host=host)
    result = cli(*CREATE, env=emu_env(emu), browser=browser)
    assert result.exit_code == 0, result.stderr
    assert browser.statuses == [200]
    assert [c["name"] for c in listed(cli)] == ["shop"]


@pytest.mark.parametrize(
    "host, family",
    [("127.0.0.1", socket.AF_INET), pytest.param("::1", socket.AF_INET6, marks=needs_ipv6)],
    ids=["ipv4", "ipv6"],
)
def test_create_on_a_busy_port_fails_at_once_naming_it(
    cli: Cli, emu: Emulator, config_dir: Path, host: str, family: int
) -> None:
    port = free_port()
    add_client(cli, emu, uri=redirect_uri(port))
    browser = Browser()
    with socket.socket(family, socket.SOCK_STREAM) as blocker:
        blocker.bind((host, port))
        blocker.listen()
        started = time.monotonic()
        result = cli(*CREATE, "--timeout", "30", env=emu_env(emu), browser=browser)
        elapsed = time.monotonic() - started
    assert result.exit_code == 1
    assert elapsed < 5
    assert f"Port {port}" in result.stderr and "client edit" in result.stderr
    assert result.stdout == ""
    assert not browser.called  # nothing opened before the port was ours
    assert nothing_saved(config_dir)


def test_create_times_out_with_the_redirect_uri_registration_hint(
    cli: Cli, emu: Emulator, config_dir: Path
) -> None:
    """Allegro shows its own error page for an unregistered redirect URI and never calls back."""
    uri = add_client(cli, emu, register_uri=False)
    browser = Browser()
    started = time.monotonic()
    result = cli(*CREATE, "--timeout", "2", env=emu_env(emu), browser=browser)
    elapsed = time.monotonic() - started
    assert result.exit_code == 1
    assert 1.5 < elapsed < 10
    assert browser.statuses == [400]
    assert "Nie możemy wyświetlić strony" in browser.pages[0]
    assert "within 2 s" in result.stderr
    assert f"Register exactly {uri}" in result.stderr
    assert "web-client-id" in result.stderr
    assert "https://apps.developer.allegro.pl.allegrosandbox.pl/" in result.stderr
    assert result.stdout == ""
    assert nothing_saved(config_dir)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", urlsplit(uri).port or 0))  # the listener let the port go


# -- robustness: browsers preconnect, hang up, and take their time -------------------------------


@pytest.mark.parametrize(
    "host, family",
    [("127.0.0.1", socket.AF_INET), pytest.param("::1", socket.AF_INET6, marks=needs_ipv6)],
    ids=["ipv4", "ipv6"],
)
def test_an_idle_connection_does_not_block_the_callback(host: str, family: int) -> None:
    """Browsers open spare connections (preconnect) and send nothing on them."""
    c = Catcher()
    with c.listener, c.http, socket.socket(family, socket.SOCK_STREAM) as idle:
        idle.connect((host, c.port))
        response = c.http.get(
            c.url(host=f"[{host}]" if ":" in host else host, code="abc", state=STATE),
            timeout=3,
        )
        assert response.status_code == 200
        assert c.listener.wait(1).result == "tokens-for-abc"
        started = time.monotonic()
        c.listener.stop()  # does not wait for the idle connection either
        assert time.monotonic() - started < 2


def test_a_client_hanging_up_prints_nothing(capfd: pytest.CaptureFixture[str]) -> None:
    c = Catcher()
    with c.listener, c.http:
        rude = socket.create_connection(("127.0.0.1", c.port))
        rude.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        rude.close()  # a reset instead of a request
        time.sleep(0.2)
        assert c.get(code="abc", state=STATE).status_code == 200
    captured = capfd.readouterr()
    assert captured.err == "" and captured.out == ""


def test_a_slow_exchange_is_not_cut_off_by_the_timeout() -> None:
    """The callback came in time; exchanging its code (with retries) may take longer."""
    port = free_port()

    def slow_exchange(code: str) -> str:
        time.sleep(0.6)
        return f"tokens-for-{code}"

    uri = f"http://localhost:{port}/callback"
    listener = Listener(uri, lambda s: s == STATE, slow_exchange, "x")
    with listener:
        url = f"http://127.0.0.1:{port}/callback?code=abc&state={STATE}"
        browser = threading.Thread(target=fetch, args=(url,))
        browser.start()
        outcome = listener.wait(0.2)
        browser.join()
    assert outcome.result == "tokens-for-abc"
