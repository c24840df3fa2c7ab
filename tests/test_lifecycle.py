"""Keeping tokens valid: refresh, rotation, consent needed again (exit 4), the 401 path, expiry
arithmetic, --min-ttl, and the retry policy of the token endpoint.

The emulator plays Allegro over loopback HTTP; `httpx.MockTransport` plays the network where
the emulator cannot (connect errors, read timeouts after sending).
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from allegro_conn.models import Account, Connection, OAuthClient, TokenSet
from allegro_conn.oauth.tokens import MAX_RETRIES, MAX_RETRY_WAIT
from allegro_conn.service import iso
from allegro_conn.store import Store
from tests.conftest import Cli
from tests.helpers_tokens import (
    PROFILE_READ,
    Allegro,
    assert_names_reauth,
    browser,
    command,
    process_env,
    running,
    seed,
    show,
    stored,
    token_document,
    token_file,
)


@pytest.fixture
def allegro() -> Iterator[Allegro]:
    with running() as allegro:
        yield allegro


class Hooked(httpx.HTTPTransport):
    """The real network, with `hook(request)` run before each request goes out."""

    def __init__(self, hook: Callable[[httpx.Request], None]) -> None:
        super().__init__()
        self.hook = hook

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.hook(request)
        return super().handle_request(request)


# -- consent needed again ----------------------------------------------------------------------


def test_invalid_grant_exits_4_naming_reauth_and_keeps_the_connection(
    cli: Cli, config_dir: Path, allegro: Allegro
) -> None:
    seed(config_dir, allegro)
    allegro.emu.revoke_user_tokens()  # a password change on Allegro

    result = cli("token", "shop", "--force-refresh", env=allegro.env)

    assert_names_reauth(result)
    assert "rejected the refresh token" in result.stderr
    assert allegro.refreshes() == 1
    listed = cli("list", env=allegro.env)
    assert listed.exit_code == 0
    assert listed.stdout.startswith("shop\t")
    assert "needs reauth" in listed.stdout
    assert show(cli)["needs_reauth"] is True


def test_after_invalid_grant_token_exits_4_at_once_without_a_request(
    cli: Cli, config_dir: Path, allegro: Allegro
) -> None:
    seed(config_dir, allegro)
    allegro.emu.revoke_user_tokens()
    assert cli("token", "shop", "--force-refresh", env=allegro.env).exit_code == 4
    before = len(allegro.emu.requests)

    again = cli("token", "shop", env=allegro.env)
    tested = cli("test", "shop", env=allegro.env)

    assert_names_reauth(again)
    assert tested.exit_code == 4
    assert "allegro-conn reauth shop" in tested.stdout + tested.stderr
    assert len(allegro.emu.requests) == before  # remembered: nothing sent


def test_reauth_makes_a_rejected_connection_work_again(
    cli: Cli, config_dir: Path, allegro: Allegro
) -> None:
    seed(config_dir, allegro)
    allegro.emu.revoke_user_tokens()
    assert cli("token", "shop", "--force-refresh", env=allegro.env).exit_code == 4

    reauth = cli("reauth", "shop", "--all-scopes", env=allegro.env, browser=browser)
    assert reauth.exit_code == 0, reauth.stderr

    result = cli("token", "shop", env=allegro.env)
    assert result.exit_code == 0, result.stderr
    token = result.stdout.strip()
    assert result.stdout == token + "\n"
    assert allegro.api_status(token) == 200
    assert show(cli)["needs_reauth"] is False
    assert token_document(config_dir)["needs_reauth"] is None


def test_a_refresh_token_too_old_is_consent_needed(cli: Cli, config_dir: Path) -> None:
    # Allegro ends a refresh token after about 90 days: invalid_grant, like a revoked one
    with running(refresh_ttl=0) as short:
        seed(config_dir, short, expires_at=time.time() - 10)
        result = cli("token", "shop", env=short.env)
    assert_names_reauth(result)


# -- a 401 on a token that looked valid ----------------------------------------------------------


def test_401_after_another_process_refreshed_reads_the_file_again(
    cli: Cli, config_dir: Path, allegro: Allegro
) -> None:
    tokens = seed(config_dir, allegro)
    newer: list[str] = []

    def other_process_refreshes(request: httpx.Request) -> None:
        # after `test` read the token file, another process refreshes and saves the new pair:
        # Allegro kills the access token `test` is about to use (allegro-api.md §3)
        if request.url.path == "/me" and not newer:
            fresh = allegro.refresh_directly(tokens.refresh_token or "")
            Store(config_dir).write_tokens("shop", fresh)
            newer.append(fresh.access_token)

    result = cli("test", "shop", env=allegro.env, transport=Hooked(other_process_refreshes))

    assert result.exit_code == 0, result.stdout + result.stderr
    assert result.stdout.startswith("ok    shop: demo-seller (id 44213570)")
    assert allegro.refreshes() == 1  # only the other process's: the file had the new token
    me = allegro.emu.find(path="/me")
    assert [r.status for r in me] == [401, 200]
    assert me[1].headers["authorization"] == f"Bearer {newer[0]}"


def test_401_on_a_killed_access_token_refreshes_once_and_retries_once(
    cli: Cli, config_dir: Path, allegro: Allegro
) -> None:
    tokens = seed(config_dir, allegro)
    # someone refreshed and lost the answer: the stored access token is dead, the stored
    # refresh token still works for 60 s (allegro-api.md §3)
    allegro.refresh_directly(tokens.refresh_token or "")
    assert allegro.api_status(tokens.access_token) == 401
    allegro.emu.clear_requests()

    result = cli("test", "shop", env=allegro.env)

    assert result.exit_code == 0, result.stdout + result.stderr
    assert allegro.refreshes() == 1
    assert [r.status for r in allegro.emu.find(path="/me")] == [401, 200]
    assert stored(config_dir).access_token != tokens.access_token
    assert allegro.api_status(stored(config_dir).access_token) == 200


def test_a_second_401_is_an_error_not_a_loop(cli: Cli, config_dir: Path, allegro: Allegro) -> None:
    seed(config_dir, allegro)
    # the REST host of another Allegro: it cannot read any of our tokens
    with running() as elsewhere:
        env = {**allegro.env, "ALLEGRO_CONN_API_URL": elsewhere.url}
        result = cli("test", "shop", env=env)
        me = elsewhere.emu.find(path="/me")

    assert result.exit_code == 1
    assert [r.status for r in me] == [401, 401]
    assert allegro.refreshes() == 1


def test_the_401_path_of_a_revoked_connection_ends_in_exit_4(
    cli: Cli, config_dir: Path, allegro: Allegro
) -> None:
    seed(config_dir, allegro)
    allegro.emu.revoke_user_tokens()

    result = cli("test", "shop", env=allegro.env)

    assert result.exit_code == 4
    assert "allegro-conn reauth shop" in result.stdout
    assert allegro.refreshes() == 1
    assert [r.status for r in allegro.emu.find(path="/me")] == [401]


# -- expiry and --min-ttl ----------------------------------------------------------------------


def test_expiry_is_the_time_of_receipt_plus_expires_in(
    cli: Cli, config_dir: Path, allegro: Allegro
) -> None:
    now = [float(int(time.time()))]
    seed(config_dir, allegro, expires_at=now[0] + 10, refresh_issued_at=now[0] - 86400)

    def slow_network(request: httpx.Request) -> None:
        if request.url.path == "/auth/oauth/token":
            now[0] += 7  # the answer arrives 7 s after the request went out

    result = cli(
        "token", "shop", env=allegro.env, clock=lambda: now[0], transport=Hooked(slow_network)
    )

    assert result.exit_code == 0, result.stderr
    received = now[0]
    document = token_document(config_dir)
    assert document["expires_at"] == received + 43199
    assert document["refresh_issued_at"] == received
    view = show(cli, clock=lambda: now[0])
    assert view["expires_at"] == iso(received + 43199)
    assert view["refresh_expires_at"] == iso(received + 90 * 86400)
    as_json = cli("token", "shop", "--json", env=allegro.env, clock=lambda: now[0])
    assert json.loads(as_json.stdout)["expires_at"] == iso(received + 43199)


@pytest.mark.parametrize(
    ("left", "args", "refreshed"),
    [
        (1000, ["--min-ttl", "600"], False),
        (1000, ["--min-ttl", "1200"], True),
        (1000, ["--min-ttl=0"], False),
        (400, [], False),  # the default --min-ttl is 300 s
        (200, [], True),
        (-60, ["--min-ttl", "0"], True),  # expired
    ],
)
def test_min_ttl_refreshes_only_when_the_token_expires_within_it(
    cli: Cli, config_dir: Path, allegro: Allegro, left: float, args: list[str], refreshed: bool
) -> None:
    tokens = seed(config_dir, allegro, expires_at=time.time() + left)

    result = cli("token", "shop", *args, env=allegro.env)

    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    printed = result.stdout.removesuffix("\n")
    assert result.stdout == printed + "\n"
    assert allegro.refreshes() == (1 if refreshed else 0)
    assert (printed != tokens.access_token) is refreshed
    assert printed == stored(config_dir).access_token
    assert allegro.api_status(printed) == 200


def test_token_json_has_the_contract_keys(cli: Cli, config_dir: Path, allegro: Allegro) -> None:
    tokens = seed(config_dir, allegro)
    result = cli("token", "shop", "--json", env=allegro.env)
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document == {
        "access_token": tokens.access_token,
        "expires_at": iso(tokens.expires_at),
        "token_type": "bearer",
    }


def test_token_of_an_unknown_connection_is_a_usage_error(cli: Cli, config_dir: Path) -> None:
    for args in (["token", "nope"], ["refresh", "nope"], ["test", "nope"]):
        result = cli(*args)
        assert result.exit_code == 2, args
        assert result.stdout == ""
        assert "No connection named 'nope'" in result.stderr


# -- refresh ---------------------------------------------------------------------------------


def test_refresh_rotates_the_pair(cli: Cli, config_dir: Path, allegro: Allegro) -> None:
    old = seed(config_dir, allegro)

    result = cli("refresh", "shop", env=allegro.env)

    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert "Refreshed 'shop'" in result.stderr
    new = stored(config_dir)
    assert allegro.refreshes() == 1
    assert new.access_token != old.access_token
    assert new.refresh_token != old.refresh_token
    assert allegro.api_status(old.access_token) == 401  # a refresh kills the previous pair
    assert allegro.api_status(new.access_token) == 200
    for secret in (old.access_token, old.refresh_token, new.access_token, new.refresh_token):
        assert secret and secret not in result.stderr


def test_refresh_json_prints_the_connection_without_tokens(
    cli: Cli, config_dir: Path, allegro: Allegro
) -> None:
    seed(config_dir, allegro)
    result = cli("refresh", "shop", "--json", env=allegro.env)
    assert result.exit_code == 0, result.stderr
    view = json.loads(result.stdout)
    assert view["name"] == "shop"
    assert view["expires_at"] == iso(stored(config_dir).expires_at)
    assert stored(config_dir).access_token not in result.stdout


def test_refresh_keeps_the_granted_scope_when_the_answer_has_none(
    cli: Cli, config_dir: Path
) -> None:
    seed_offline(config_dir, scope=PROFILE_READ)

    def handler(request: httpx.Request) -> httpx.Response:
        body = {"access_token": "AT-2", "refresh_token": "RT-2", "expires_in": 43199}
        return httpx.Response(200, json=body)

    result = cli("refresh", "shop", transport=httpx.MockTransport(handler))
    assert result.exit_code == 0, result.stderr
    assert stored(config_dir).scope == PROFILE_READ


def test_refresh_keeps_the_refresh_token_when_the_answer_has_none(
    cli: Cli, config_dir: Path
) -> None:
    seed_offline(config_dir)
    issued = stored(config_dir).refresh_issued_at

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"access_token": "AT-2", "expires_in": 43199})

    result = cli("token", "shop", transport=httpx.MockTransport(handler))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "AT-2\n"
    assert stored(config_dir).refresh_token == "RT-old"  # still there for the next refresh
    assert stored(config_dir).refresh_issued_at == issued


def test_old_refresh_token_warns_on_stderr_only(
    cli: Cli, config_dir: Path, allegro: Allegro
) -> None:
    tokens = seed(config_dir, allegro, refresh_issued_at=time.time() - 85 * 86400)

    result = cli("token", "shop", env=allegro.env)

    assert result.exit_code == 0
    assert result.stdout == tokens.access_token + "\n"
    assert result.stderr.startswith("warning: ")
    assert "85 days old" in result.stderr
    assert "allegro-conn reauth shop" in result.stderr
    assert allegro.refreshes() == 0


# -- the token endpoint's retry policy (oauth.tokens.post_form) ---------------------------------


def seed_offline(config_dir: Path, scope: str = "") -> None:
    """A connection whose token is due for a refresh, with no emulator behind it."""
    store = Store(config_dir)
    store.save_clients({"web": OAuthClient("web", "sandbox", "id", "secret", app_name="Shop")})
    store.save_connections(
        {"shop": Connection("shop", "sandbox", "web", account=Account("1", "x"))}
    )
    store.write_tokens(
        "shop",
        TokenSet("AT-old", "RT-old", time.time() - 60, scope=scope, refresh_issued_at=time.time()),
    )


class Network:
    """A scripted token endpoint: each request gets the next answer (or exception)."""

    def __init__(self, *answers: httpx.Response | type[httpx.TransportError]) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []
        self.sleeps: list[float] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, httpx.Response):
            return answer
        raise answer("scripted", request=request)

    def run(self, cli: Cli, *args: str) -> Any:
        return cli(*args, transport=httpx.MockTransport(self.handler), sleep=self.sleeps.append)


def ok() -> httpx.Response:
    body = {"access_token": "AT-new", "refresh_token": "RT-new", "expires_in": 43199}
    return httpx.Response(200, json=body)


def busy(status: int, retry_after: str | None) -> httpx.Response:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return httpx.Response(status, json={"errors": [{"code": "X"}]}, headers=headers)


def test_connect_errors_are_retried_a_bounded_number_of_times(cli: Cli, config_dir: Path) -> None:
    seed_offline(config_dir)
    net = Network(httpx.ConnectError)

    result = net.run(cli, "token", "shop")

    assert result.exit_code == 5
    assert result.stdout == ""
    assert "Cannot reach allegro.pl.allegrosandbox.pl" in result.stderr
    assert len(net.requests) == MAX_RETRIES + 1
    assert net.sleeps == [1.0, 2.0, 4.0]
    assert token_document(config_dir)["refresh_token"] == "RT-old"


def test_a_connect_error_then_an_answer_succeeds(cli: Cli, config_dir: Path) -> None:
    seed_offline(config_dir)
    net = Network(httpx.ConnectTimeout, ok())
    result = net.run(cli, "token", "shop")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "AT-new\n"
    assert len(net.requests) == 2
    assert net.sleeps == [1.0]


@pytest.mark.parametrize("status", [429, 503])
def test_busy_with_retry_after_is_retried_then_exit_5(
    cli: Cli, config_dir: Path, status: int
) -> None:
    seed_offline(config_dir)
    net = Network(busy(status, "2"))

    result = net.run(cli, "token", "shop")

    assert result.exit_code == 5
    assert result.stdout == ""
    assert len(net.requests) == MAX_RETRIES + 1
    assert net.sleeps == [2.0] * MAX_RETRIES
    assert token_document(config_dir)["needs_reauth"] is None


def test_busy_then_an_answer_succeeds_and_long_waits_are_capped(cli: Cli, config_dir: Path) -> None:
    seed_offline(config_dir)
    net = Network(busy(503, "3600"), busy(429, "1.5"), ok())
    result = net.run(cli, "token", "shop")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == "AT-new\n"
    assert net.sleeps == [MAX_RETRY_WAIT, 1.5]


@pytest.mark.parametrize(("status", "retry_after"), [(429, None), (503, None), (500, "1")])
def test_busy_without_retry_after_and_5xx_are_not_retried(
    cli: Cli, config_dir: Path, status: int, retry_after: str | None
) -> None:
    seed_offline(config_dir)
    net = Network(busy(status, retry_after))
    result = net.run(cli, "token", "shop")
    assert result.exit_code == 5
    assert result.stdout == ""
    assert len(net.requests) == 1
    assert net.sleeps == []
    assert "try again" in result.stderr.lower()


def pair(config_dir: Path) -> tuple[str, str]:
    """The stored access and refresh token (the file must parse)."""
    document = json.loads(token_file(config_dir).read_text())
    return document["access_token"], document["refresh_token"]


@pytest.mark.parametrize("error", [httpx.ReadTimeout, httpx.RemoteProtocolError])
def test_a_failure_after_sending_is_not_retried(
    cli: Cli, config_dir: Path, error: type[httpx.TransportError]
) -> None:
    seed_offline(config_dir)
    before = pair(config_dir)
    net = Network(error)

    result = net.run(cli, "token", "shop")

    assert result.exit_code == 5
    assert result.stdout == ""
    assert "not repeated" in result.stderr
    assert len(net.requests) == 1  # a refresh token is single-use: never sent twice
    assert net.sleeps == []
    assert pair(config_dir) == before
    # Allegro may have rotated the pair: the next call refreshes instead of trusting it
    assert json.loads(token_file(config_dir).read_text())["refresh_started_at"] is not None


def test_a_5xx_of_the_emulator_exits_5_and_a_later_call_works(
    cli: Cli, config_dir: Path, allegro: Allegro
) -> None:
    seed(config_dir, allegro, expires_at=time.time() - 1)
    allegro.emu.fail_next(500, path_prefix="/auth/oauth/token")

    failed = cli("token", "shop", env=allegro.env)
    assert failed.exit_code == 5
    assert failed.stdout == ""
    assert "HTTP 500" in failed.stderr

    again = cli("token", "shop", env=allegro.env)
    assert again.exit_code == 0, again.stderr
    assert allegro.api_status(again.stdout.strip()) == 200


def test_ctrl_c_while_waiting_to_retry_ends_at_once(config_dir: Path, allegro: Allegro) -> None:
    # signals are held back while a refresh is in flight, but not while waiting to retry
    seed(config_dir, allegro, expires_at=time.time() - 60)
    before = pair(config_dir)
    allegro.emu.fail_next(503, count=4, path_prefix="/auth/oauth/token", retry_after=30)
    proc = subprocess.Popen(
        [*command(), "token", "shop"],
        env=process_env(allegro.env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 20
    while allegro.refreshes() < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)  # now in the 30 s wait that Retry-After asked for

    interrupted = time.monotonic()
    proc.send_signal(signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=10)
    finally:
        proc.kill()

    assert time.monotonic() - interrupted < 5
    assert proc.returncode == 130, err
    assert out == ""
    assert "Cancelled" in err
    assert allegro.refreshes() == 1
    assert pair(config_dir) == before  # whole, and the same pair
