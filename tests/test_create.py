"""`create` with the browser flow, end to end against the emulator, as a user sees it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from allegro_conn.emulator import ALL_SCOPES, Emulator
from allegro_conn.emulator.tokens import s256
from tests.conftest import Cli, allegro_conn_cmd
from tests.helpers_flows import (
    AUTHORIZE,
    SECRET,
    TOKEN,
    USER_ID,
    USER_LOGIN,
    Browser,
    add_client,
    assert_no_secrets,
    browser_script,
    bypass_proxies,
    emu_env,
    emu_fixture,  # noqa: F401 (the emu fixture)
    file_mode,
    free_port,
    listed,
    nothing_saved,
    query_of,
    stored_tokens,
    subprocess_env,
    token_file,
)

CREATE = ("create", "shop", "--env", "sandbox", "--client", "web")
ORDERS = "allegro:api:orders:read"
PROFILE = "allegro:api:profile:read"
BILLING = "allegro:api:billing:read"


def test_create_all_scopes_end_to_end(cli: Cli, emu: Emulator, config_dir: Path) -> None:
    uri = add_client(cli, emu)
    browser = Browser()
    result = cli(*CREATE, "--all-scopes", env=emu_env(emu), browser=browser)

    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert "Connected 'shop' to Allegro sandbox as demo-seller (22 scopes)" in result.stderr
    assert "allegro-conn test shop" in result.stderr
    assert browser.statuses == [200]
    assert "Connected shop to Allegro" in browser.pages[0]

    # what the emulator saw: one authorize request with S256 PKCE and a state
    (authorize,) = emu.find(path=AUTHORIZE)
    q = authorize.query
    assert q["response_type"] == "code"
    assert q["client_id"] == "web-client-id"
    assert q["redirect_uri"] == uri
    assert q["code_challenge_method"] == "S256"
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", q["code_challenge"])
    assert len(q["state"]) >= 32
    assert "scope" not in q  # --all-scopes: everything the app declares
    # the exchange proved the verifier behind that challenge
    (exchange,) = emu.find(path=TOKEN, grant_type="authorization_code")
    assert exchange.status == 200
    assert exchange.method == "POST" and exchange.query == {}
    assert s256(exchange.form["code_verifier"]) == q["code_challenge"]
    assert exchange.form["redirect_uri"] == uri
    assert exchange.headers["authorization"].startswith("Basic ")

    (conn,) = listed(cli)
    assert conn["name"] == "shop"
    assert conn["environment"] == "sandbox"
    assert conn["client"] == "web"
    assert conn["scopes"] == list(ALL_SCOPES)
    assert conn["account"] == {"id": USER_ID, "login": USER_LOGIN}
    assert conn["default"] is True  # the first connection becomes the default

    path = token_file(config_dir, "shop")
    assert file_mode(path) == 0o600
    assert file_mode(path.parent) == 0o700
    assert_no_secrets(result, *stored_tokens(config_dir, "shop"))


def test_create_as_a_real_process_with_a_browser_program(
    cli: Cli, emu: Emulator, config_dir: Path, tmp_path: Path
) -> None:
    """The issue's acceptance check: BROWSER is a program that follows the redirects."""
    add_client(cli, emu)
    env = subprocess_env(emu, config_dir, BROWSER=str(browser_script(tmp_path)))
    proc = subprocess.run(
        [*allegro_conn_cmd(), *CREATE, "--all-scopes"],
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    assert "Connected 'shop'" in proc.stderr
    (conn,) = listed(cli)
    assert conn["name"] == "shop" and conn["account"] == {"id": USER_ID, "login": USER_LOGIN}
    assert file_mode(token_file(config_dir, "shop")) == 0o600
    for secret in (SECRET, *stored_tokens(config_dir, "shop")):
        assert secret not in proc.stdout + proc.stderr


def test_create_with_a_scope_subset_records_what_was_granted(
    cli: Cli, emu: Emulator, config_dir: Path
) -> None:
    add_client(cli, emu)
    result = cli(
        *CREATE, "--scope", "orders:read", "--scope", PROFILE, env=emu_env(emu), browser=Browser()
    )
    assert result.exit_code == 0, result.stderr
    (authorize,) = emu.find(path=AUTHORIZE)
    assert authorize.query["scope"] == f"{ORDERS} {PROFILE}"  # one space between them
    (conn,) = listed(cli)
    assert conn["scopes"] == [PROFILE, ORDERS]
    assert "warning" not in result.stderr
    assert "(2 scopes)" in result.stderr


def test_create_warns_about_a_scope_the_app_did_not_declare(
    cli: Cli, emu: Emulator, config_dir: Path
) -> None:
    add_client(cli, emu, scopes=[ORDERS, PROFILE])
    result = cli(
        *CREATE, "--scope", ORDERS, "--scope", BILLING, env=emu_env(emu), browser=Browser()
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    warning = [line for line in result.stderr.splitlines() if "warning" in line]
    assert len(warning) == 1
    assert BILLING in warning[0] and ORDERS not in warning[0]
    assert "reauth shop" in warning[0]
    (conn,) = listed(cli)
    assert conn["scopes"] == [ORDERS]
    # no profile:read: the account comes from the token's user_name
    assert conn["account"] == {"id": USER_ID, "login": None}


def test_create_json_prints_only_the_connection_object(
    cli: Cli, emu: Emulator, config_dir: Path
) -> None:
    add_client(cli, emu)
    result = cli(*CREATE, "--scope", PROFILE, "--json", env=emu_env(emu), browser=Browser())
    assert result.exit_code == 0, result.stderr
    view = json.loads(result.stdout)  # exactly one document, nothing around it
    assert result.stdout.strip().startswith("{") and result.stdout.strip().endswith("}")
    assert view["name"] == "shop"
    assert view["environment"] == "sandbox"
    assert view["client"] == "web"
    assert view["scopes"] == [PROFILE]
    assert view["account"] == {"id": USER_ID, "login": USER_LOGIN}
    assert view["default"] is True
    assert view["last_test"] is None
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", view["expires_at"])
    assert view == listed(cli)[0]
    assert "Connected 'shop'" in result.stderr
    assert "Open this address" in result.stderr
    assert_no_secrets(result, *stored_tokens(config_dir, "shop"))


def test_create_with_consent_denied_fails_and_saves_nothing(
    cli: Cli, emu: Emulator, config_dir: Path
) -> None:
    add_client(cli, emu)
    emu.auto_approve = False
    browser = Browser("deny")
    result = cli(*CREATE, "--all-scopes", env=emu_env(emu), browser=browser)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "Consent was refused on Allegro" in result.stderr
    assert "access_denied" in result.stderr
    assert browser.statuses == [200] and "Could not connect shop" in browser.pages[0]
    assert emu.count(path=TOKEN) == 0
    assert nothing_saved(config_dir)
    assert listed(cli) == []


def test_create_duplicate_name_exits_2_before_opening_anything(
    cli: Cli, emu: Emulator, config_dir: Path
) -> None:
    add_client(cli, emu)
    assert cli(*CREATE, "--all-scopes", env=emu_env(emu), browser=Browser()).exit_code == 0
    before = emu.count(path=AUTHORIZE)
    browser = Browser()
    result = cli(
        "create", "SHOP", "--client", "web", "--all-scopes", env=emu_env(emu), browser=browser
    )
    assert result.exit_code == 2
    assert "already exists" in result.stderr and "reauth shop" in result.stderr
    assert result.stdout == ""
    assert not browser.called
    assert emu.count(path=AUTHORIZE) == before
    assert [c["name"] for c in listed(cli)] == ["shop"]


@pytest.mark.parametrize(
    "args, flag",
    [
        (("create", "shop", "--env", "sandbox", "--all-scopes"), "--client"),
        (("create", "--client", "web", "--all-scopes"), "NAME"),
        (("create", "shop", "--all-scopes"), "--env"),
        (("create", "shop", "--client", "web"), "--scope"),
    ],
    ids=["client", "name", "env", "scope"],
)
def test_create_without_a_terminal_names_the_missing_flag(
    cli: Cli, emu: Emulator, config_dir: Path, args: tuple[str, ...], flag: str
) -> None:
    add_client(cli, emu)
    browser = Browser()
    result = cli(*args, env=emu_env(emu), browser=browser)
    assert result.exit_code == 2
    assert flag in result.stderr
    assert "not a terminal" in result.stderr
    assert result.stdout == ""
    assert not browser.called
    assert emu.requests == []
    assert nothing_saved(config_dir)


@pytest.mark.parametrize(
    "extra, needle",
    [
        (("--scope", "nonsense:read"), "Unknown scope 'nonsense:read'"),
        (("--scope", ORDERS, "--all-scopes"), "exclude each other"),
        (("--all-scopes", "--flow", "carrier-pigeon"), "Unknown flow"),
        (("--all-scopes", "--env", "production"), "belongs to sandbox"),
    ],
    ids=["unknown-scope", "scope-and-all", "unknown-flow", "other-env"],
)
def test_create_bad_flags_exit_2_without_opening_anything(
    cli: Cli, emu: Emulator, config_dir: Path, extra: tuple[str, ...], needle: str
) -> None:
    add_client(cli, emu)
    browser = Browser()
    result = cli("create", "shop", "--client", "web", *extra, env=emu_env(emu), browser=browser)
    assert result.exit_code == 2, result.stderr
    assert needle in result.stderr
    assert not browser.called
    assert emu.requests == []
    assert nothing_saved(config_dir)


@pytest.mark.parametrize(
    "args, needle",
    [
        (("create", "shop", "--client", "nope", "--all-scopes"), "nope"),
        (("create", "a/b", "--client", "web", "--all-scopes"), "cannot contain '/'"),
    ],
    ids=["unknown-client", "invalid-name"],
)
def test_create_unknown_client_or_invalid_name_exits_2(
    cli: Cli, emu: Emulator, config_dir: Path, args: tuple[str, ...], needle: str
) -> None:
    add_client(cli, emu)
    browser = Browser()
    result = cli(*args, env=emu_env(emu), browser=browser)
    assert result.exit_code == 2
    assert needle in result.stderr
    assert not browser.called and nothing_saved(config_dir)


def test_create_no_browser_prints_the_url_and_never_opens_one(
    cli: Cli, emu: Emulator, config_dir: Path
) -> None:
    add_client(cli, emu, register_uri=False)
    browser = Browser()
    result = cli(
        *CREATE, "--all-scopes", "--no-browser", "--timeout", "1", env=emu_env(emu), browser=browser
    )
    assert not browser.called
    assert result.exit_code == 1  # nobody opened the URL: it times out
    assert result.stdout == ""
    urls = re.findall(r"https?://\S+/auth/oauth/authorize\?\S+", result.stderr)
    assert len(urls) == 1 and urls[0].startswith(emu.url)
    assert query_of(urls[0])["code_challenge_method"] == "S256"
    assert "opened in your browser" not in result.stderr


def test_create_no_browser_in_a_real_process_completes_when_the_user_opens_the_url(
    cli: Cli, emu: Emulator, config_dir: Path, tmp_path: Path
) -> None:
    add_client(cli, emu)
    marker = tmp_path / "browser-was-called"
    script = tmp_path / "browser"
    script.write_text(f"#!/bin/sh\ntouch '{marker}'\n")
    script.chmod(0o755)
    env = subprocess_env(emu, config_dir, BROWSER=str(script))
    proc = subprocess.Popen(
        [*allegro_conn_cmd(), *CREATE, "--all-scopes", "--no-browser", "--timeout", "30"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        lines: list[str] = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            line = proc.stderr.readline()
            lines.append(line)
            if "/auth/oauth/authorize?" in line:
                break
        url = lines[-1].strip()
        assert url.startswith(emu.url), lines
        Browser()(url)  # the user opens it by hand
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, "".join(lines) + err
    assert out == ""
    assert not marker.exists()
    assert [c["name"] for c in listed(cli)] == ["shop"]


def test_create_exchange_refused_by_allegro_fails_and_saves_nothing(
    cli: Cli, emu: Emulator, config_dir: Path
) -> None:
    """A wrong client secret: Allegro refuses the exchange; the message says what to check."""
    add_client(cli, emu)
    emu.add_client(
        "web-client-id", "another-secret", redirect_uris=emu.clients["web-client-id"].redirect_uris
    )
    browser = Browser()
    result = cli(*CREATE, "--all-scopes", env=emu_env(emu), browser=browser)
    assert result.exit_code == 1
    assert "rejected the client id or secret" in result.stderr
    assert "client edit web" in result.stderr
    assert "Could not connect shop" in browser.pages[0]
    assert_no_secrets(result, "another-secret")
    assert nothing_saved(config_dir)


def test_create_with_a_code_that_expired_before_the_exchange_says_why(
    cli: Cli, config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Codes live 10 seconds on Allegro; here they are dead on arrival."""
    bypass_proxies(monkeypatch)
    with Emulator(port=0, auto_approve=True, code_ttl=0) as emu:
        add_client(cli, emu)
        browser = Browser()
        result = cli(*CREATE, "--all-scopes", env=emu_env(emu), browser=browser)
    assert result.exit_code == 1
    assert "refused the authorization code" in result.stderr
    assert "10 seconds" in result.stderr
    assert "Could not connect shop" in browser.pages[0]
    assert nothing_saved(config_dir)


def test_create_reports_an_error_redirect_from_allegro(
    cli: Cli, emu: Emulator, config_dir: Path
) -> None:
    """None of the requested scopes is declared by the app: Allegro redirects invalid_scope."""
    add_client(cli, emu, scopes=[ORDERS])
    browser = Browser()
    result = cli(*CREATE, "--scope", BILLING, env=emu_env(emu), browser=browser)
    assert result.exit_code == 1
    assert "invalid_scope" in result.stderr and BILLING in result.stderr
    assert browser.statuses == [200] and "Could not connect shop" in browser.pages[0]
    assert emu.count(path=TOKEN) == 0
    assert nothing_saved(config_dir)


def test_create_when_allegro_fails_the_exchange_exits_5(
    cli: Cli, emu: Emulator, config_dir: Path
) -> None:
    add_client(cli, emu)
    emu.fail_next(503, path_prefix=TOKEN)
    browser = Browser()
    result = cli(*CREATE, "--all-scopes", env=emu_env(emu), browser=browser)
    assert result.exit_code == 5
    assert "Try again later" in result.stderr
    assert "Could not connect shop" in browser.pages[0]
    assert emu.count(path=TOKEN) == 1  # a code is single-use: never sent twice
    assert nothing_saved(config_dir)


def test_create_when_allegro_cannot_be_reached_exits_5_at_once(
    cli: Cli, config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No emulator at all: the device endpoint cannot be reached (connection refused)."""
    bypass_proxies(monkeypatch)
    dead = f"http://127.0.0.1:{free_port()}"
    add_client(cli, None, "tv", kind="device")
    sleeps: list[float] = []
    result = cli(
        "create", "shop", "--client", "tv", "--all-scopes", "--no-browser",
        env={"ALLEGRO_CONN_AUTH_URL": dead, "ALLEGRO_CONN_API_URL": dead},
        sleep=sleeps.append,
    )  # fmt: skip
    assert result.exit_code == 5
    assert "Cannot reach 127.0.0.1" in result.stderr
    assert nothing_saved(config_dir)


def test_create_keeps_the_tokens_when_the_account_cannot_be_read(
    cli: Cli, emu: Emulator, config_dir: Path
) -> None:
    """GET /me fails after consent (REST host down): the tokens are saved all the same,
    with the account from the token, and a warning says what went wrong."""
    add_client(cli, emu)
    emu.fail_next(503, path_prefix="/me")
    result = cli(*CREATE, "--all-scopes", env=emu_env(emu), browser=Browser())
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    warning = [line for line in result.stderr.splitlines() if line.startswith("warning")]
    assert len(warning) == 1 and "/me" in warning[0] and "503" in warning[0]
    assert "allegro-conn test shop" in warning[0]
    (conn,) = listed(cli)
    assert conn["account"] == {"id": USER_ID, "login": None}
    assert emu.count(path="/me") == 1


def test_create_warns_when_the_account_read_is_refused(
    cli: Cli, emu: Emulator, config_dir: Path
) -> None:
    """The app name differs from the one registered: Allegro refuses the User-Agent.
    Every later API call would fail the same way, so say it now."""
    uri = add_client(cli, emu)
    emu.add_client("web-client-id", SECRET, redirect_uris=[uri], app_name="Registered Name")
    result = cli(*CREATE, "--all-scopes", env=emu_env(emu), browser=Browser())
    assert result.exit_code == 0, result.stderr
    warning = [line for line in result.stderr.splitlines() if line.startswith("warning")]
    assert len(warning) == 1 and "User-Agent" in warning[0]
    assert listed(cli)[0]["account"] == {"id": USER_ID, "login": None}


def test_create_without_profile_read_does_not_call_me_nor_warn(
    cli: Cli, emu: Emulator, config_dir: Path
) -> None:
    add_client(cli, emu)
    result = cli(*CREATE, "--scope", ORDERS, env=emu_env(emu), browser=Browser())
    assert result.exit_code == 0, result.stderr
    assert "warning" not in result.stderr
    assert emu.count(path="/me") == 0
    assert listed(cli)[0]["account"] == {"id": USER_ID, "login": None}


@pytest.mark.parametrize(
    "extra",
    [("--timeout", "0"), ("--timeout", "soon"), ("--bogus",)],
    ids=["timeout-below-min", "timeout-not-a-number", "unknown-flag"],
)
def test_create_bad_option_values_are_usage_errors(cli: Cli, extra: tuple[str, ...]) -> None:
    result = cli("create", "shop", "--env", "sandbox", "--all-scopes", *extra)
    assert result.exit_code == 2
    assert "internal error" not in result.stderr
    assert extra[0] in result.stderr


def test_the_url_is_printed_before_the_browser_is_opened(
    cli: Cli, emu: Emulator, config_dir: Path
) -> None:
    add_client(cli, emu)
    printed_first: list[bool] = []
    follow = Browser()

    def browser(url: str) -> bool:
        # the cli fixture sends the app's stderr to sys.stderr's StringIO as well
        printed_first.append(url in sys.stderr.getvalue())  # type: ignore[attr-defined]
        return follow(url)

    result = cli(*CREATE, "--all-scopes", env=emu_env(emu), browser=browser)
    assert result.exit_code == 0, result.stderr
    assert printed_first == [True]


def test_ssh_without_a_display_opens_no_browser_and_says_what_to_do(
    cli: Cli, emu: Emulator, config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_client(cli, emu)
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER"):
        monkeypatch.delenv(var, raising=False)
    env = {k: v for k, v in emu_env(emu).items() if k != "BROWSER"}
    env["SSH_CONNECTION"] = "10.0.0.2 50000 10.0.0.1 22"
    browser = Browser()
    result = cli(*CREATE, "--all-scopes", "--timeout", "1", env=env, browser=browser)
    assert result.exit_code == 1
    assert not browser.called
    assert "ssh -L" in result.stderr and "--flow paste" in result.stderr
    assert nothing_saved(config_dir)


def test_quiet_still_prints_the_address_to_open(cli: Cli, emu: Emulator) -> None:
    add_client(cli, emu, register_uri=False)
    result = cli(
        "--quiet", *CREATE, "--all-scopes", "--no-browser", "--timeout", "1", env=emu_env(emu)
    )
    assert result.exit_code == 1
    assert f"{emu.url}/auth/oauth/authorize?" in result.stderr
    assert "Waiting for consent" not in result.stderr
