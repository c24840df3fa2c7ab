"""`test`: proves connections work against the emulator, reports the account, stores the result,
and exits 0 / 4 (consent needed) / 5 (Allegro unreachable) / 1 (anything else)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from allegro_conn.emulator import ALL_SCOPES
from allegro_conn.service import iso
from allegro_conn.store import Store
from tests.conftest import Cli
from tests.helpers_tokens import (
    APP_NAME,
    PROFILE_READ,
    USER_ID,
    USER_LOGIN,
    Allegro,
    closed_port_url,
    running,
    seed,
    show,
)

ORDERS_READ = "allegro:api:orders:read"
VND = "application/vnd.allegro.public.v1+json"
RESULT_KEYS = {"name", "ok", "account", "error", "latency_ms"}


@pytest.fixture
def allegro() -> Iterator[Allegro]:
    with running() as allegro:
        yield allegro


def claim_scopes(config_dir: Path, name: str, scopes: list[str]) -> None:
    """Make the stored connection believe it was granted `scopes`."""
    store = Store(config_dir)
    connections = store.load_connections()
    connections[name].scopes = scopes
    store.save_connections(connections)


# -- passing -------------------------------------------------------------------------------------


def test_a_working_connection_passes_and_reports_the_account(
    cli: Cli, config_dir: Path, allegro: Allegro
) -> None:
    seed(config_dir, allegro)

    result = cli("test", "shop", env=allegro.env)

    assert result.exit_code == 0, result.stdout + result.stderr
    assert result.stderr == ""
    first = result.stdout.splitlines()[0]
    assert first.startswith(f"ok    shop: {USER_LOGIN} (id {USER_ID}), sandbox, ")
    assert first.endswith(" ms")
    (me,) = allegro.emu.find(path="/me")
    assert me.status == 200
    assert me.headers["accept"] == VND
    assert me.headers["user-agent"].startswith(APP_NAME.replace(" ", "-") + "/")
    assert allegro.emu.count(path="/marketplaces") == 0


def test_without_profile_read_it_calls_marketplaces_instead_of_me(
    cli: Cli, config_dir: Path, allegro: Allegro
) -> None:
    seed(config_dir, allegro, scopes=[ORDERS_READ])

    result = cli("test", "shop", env=allegro.env)

    assert result.exit_code == 0, result.stdout + result.stderr
    assert result.stdout.startswith(f"ok    shop: {USER_LOGIN} (id {USER_ID}), sandbox")
    assert [r.status for r in allegro.emu.find(path="/marketplaces")] == [200]
    assert allegro.emu.count(path="/me") == 0


def test_an_expired_token_is_refreshed_first(cli: Cli, config_dir: Path, allegro: Allegro) -> None:
    seed(config_dir, allegro, expires_at=time.time() - 60)
    result = cli("test", "shop", env=allegro.env)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert allegro.refreshes() == 1
    assert [r.status for r in allegro.emu.find(path="/me")] == [200]


def test_json_is_an_array_of_the_contract_keys(
    cli: Cli, config_dir: Path, allegro: Allegro
) -> None:
    seed(config_dir, allegro)

    result = cli("test", "shop", "--json", env=allegro.env)

    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    (item,) = json.loads(result.stdout)
    assert set(item) == RESULT_KEYS
    assert item["name"] == "shop"
    assert item["ok"] is True
    assert item["account"] == {"id": USER_ID, "login": USER_LOGIN}
    assert item["error"] is None
    assert isinstance(item["latency_ms"], (int, float)) and item["latency_ms"] >= 0


def test_no_name_tests_the_default_connection(cli: Cli, config_dir: Path, allegro: Allegro) -> None:
    seed(config_dir, allegro, "alpha", default=False)
    seed(config_dir, allegro, "shop", default=True)
    result = cli("test", "--json", env=allegro.env)
    assert result.exit_code == 0, result.stderr
    assert [item["name"] for item in json.loads(result.stdout)] == ["shop"]


# -- several connections, and the exit code they add up to ----------------------------------------


def test_all_tests_every_connection_and_the_worst_decides_the_exit_code(
    cli: Cli, config_dir: Path, allegro: Allegro
) -> None:
    seed(config_dir, allegro, "shop")
    seed(config_dir, allegro, "denied", scopes=[ORDERS_READ])
    claim_scopes(config_dir, "denied", [PROFILE_READ])  # -> 403 on /me: exit 1
    seed(config_dir, allegro, "consent", needs_reauth="the refresh token was rejected")

    result = cli("test", "--all", "--json", env=allegro.env)

    assert result.exit_code == 4  # consent needed wins over a plain failure
    items = {item["name"]: item for item in json.loads(result.stdout)}
    assert list(items) == ["consent", "denied", "shop"]
    assert [items[n]["ok"] for n in ("consent", "denied", "shop")] == [False, False, True]
    assert all(set(item) == RESULT_KEYS for item in items.values())
    assert "allegro-conn reauth consent" in items["consent"]["error"]  # --json says the fix too
    assert "Access denied" in items["denied"]["error"]

    named = cli("test", "shop", "denied", env=allegro.env)
    assert named.exit_code == 1
    assert named.stdout.startswith("ok    shop: ")
    assert "FAIL  denied: " in named.stdout


def test_all_and_names_together_is_a_usage_error(cli: Cli, config_dir: Path) -> None:
    result = cli("test", "--all", "shop")
    assert result.exit_code == 2
    assert result.stdout == ""


def test_all_without_connections_is_a_usage_error(cli: Cli) -> None:
    result = cli("test", "--all")
    assert result.exit_code == 2
    assert "allegro-conn create" in result.stderr


# -- the stored result -----------------------------------------------------------------------


def test_the_result_is_stored_as_last_test(cli: Cli, config_dir: Path, allegro: Allegro) -> None:
    seed(config_dir, allegro)
    now = time.time()
    assert show(cli)["last_test"] is None

    assert cli("test", "shop", env=allegro.env, clock=lambda: now).exit_code == 0
    assert show(cli)["last_test"] == {"at": iso(now), "ok": True, "error": None}

    failed = cli("test", "shop", env={**allegro.env, "ALLEGRO_CONN_API_URL": closed_port_url()})
    assert failed.exit_code == 5
    last = show(cli)["last_test"]
    assert last["ok"] is False
    assert "Cannot reach 127.0.0.1" in last["error"]
    (listed,) = json.loads(cli("list", "--json").stdout)
    assert listed["last_test"] == last


def test_list_shows_a_connection_that_needs_consent(
    cli: Cli, config_dir: Path, allegro: Allegro
) -> None:
    seed(config_dir, allegro, "shop")
    seed(config_dir, allegro, "fine", default=False)
    allegro.emu.revoke_user_tokens()
    seed(config_dir, allegro, "fine", default=False)  # consented again since

    assert cli("test", "--all", env=allegro.env).exit_code == 4
    lines = dict(line.split("\t", 1) for line in cli("list").stdout.splitlines())
    assert lines["shop"].endswith("\tneeds reauth")
    assert lines["fine"].endswith("\tok")


# -- failing -----------------------------------------------------------------------------------


def test_consent_needed_exits_4_and_names_reauth(
    cli: Cli, config_dir: Path, allegro: Allegro
) -> None:
    seed(config_dir, allegro)
    allegro.emu.revoke_user_tokens()

    result = cli("test", "shop", env=allegro.env)

    assert result.exit_code == 4
    assert result.stdout.startswith("FAIL  shop: ")
    assert "allegro-conn reauth shop" in result.stdout
    assert "expires in" not in result.stdout  # no stale promises about the dead tokens
    assert "consent needed again by" not in result.stdout
    as_json = cli("test", "shop", "--json", env=allegro.env)
    assert as_json.exit_code == 4
    (item,) = json.loads(as_json.stdout)
    assert item["ok"] is False and item["account"] is None and item["latency_ms"] is None
    assert "allegro-conn reauth shop" in item["error"]
    assert as_json.stderr == ""


def test_allegro_unreachable_exits_5(cli: Cli, config_dir: Path, allegro: Allegro) -> None:
    seed(config_dir, allegro)
    env = {**allegro.env, "ALLEGRO_CONN_API_URL": closed_port_url()}

    result = cli("test", "shop", env=env)

    assert result.exit_code == 5
    assert result.stdout.startswith("FAIL  shop: Cannot reach 127.0.0.1")
    assert "try again later" in result.stdout


def test_a_rest_5xx_exits_5(cli: Cli, config_dir: Path, allegro: Allegro) -> None:
    seed(config_dir, allegro)
    allegro.emu.fail_next(503, path_prefix="/me")
    result = cli("test", "shop", env=allegro.env)
    assert result.exit_code == 5
    assert "HTTP 503" in result.stdout


def test_access_denied_is_named_a_missing_scope_or_a_block_with_the_trace_id(
    cli: Cli, config_dir: Path, allegro: Allegro
) -> None:
    seed(config_dir, allegro, scopes=[ORDERS_READ])
    claim_scopes(config_dir, "shop", [PROFILE_READ, ORDERS_READ])  # the app lost profile:read

    result = cli("test", "shop", env=allegro.env)

    assert result.exit_code == 1
    assert result.stdout.startswith("FAIL  shop: Access denied (AccessDenied")
    assert "a scope is missing" in result.stdout
    assert "blocked the account or the app" in result.stdout
    (me,) = allegro.emu.find(path="/me")
    assert me.status == 403
    assert f"Trace-Id: {me.trace_id}" in result.stdout
    as_json = cli("test", "shop", "--json", env=allegro.env)
    assert as_json.exit_code == 1
    (item,) = json.loads(as_json.stdout)
    assert item["error"].startswith("Access denied (AccessDenied")
    assert f"(Trace-Id {allegro.emu.find(path='/me')[-1].trace_id})" in item["error"]


def test_a_token_of_another_allegro_is_named_wrong_environment(
    cli: Cli, config_dir: Path, allegro: Allegro
) -> None:
    seed(config_dir, allegro)
    with running() as elsewhere:  # e.g. production, for a sandbox token
        env = {**allegro.env, "ALLEGRO_CONN_API_URL": elsewhere.url}
        result = cli("test", "shop", env=env)
        me = elsewhere.emu.find(path="/me")
        as_json = cli("test", "shop", "--json", env=env)

    assert result.exit_code == 1
    assert "wrong environment" in result.stdout
    assert "ALLEGRO_CONN_API_URL" in result.stdout
    assert f"Trace-Id: {me[-1].trace_id}" in result.stdout
    assert [r.status for r in me] == [401, 401]  # retried once after a refresh, no more
    assert as_json.exit_code == 1
    (item,) = json.loads(as_json.stdout)
    assert "wrong environment" in item["error"]


def test_no_token_ever_appears_in_the_output(cli: Cli, config_dir: Path, allegro: Allegro) -> None:
    seed(config_dir, allegro, scopes=list(ALL_SCOPES))
    allegro.emu.revoke_user_tokens()
    tokens = Store(config_dir).read_tokens("shop")
    assert tokens is not None and tokens.refresh_token
    for args in (["test", "shop"], ["test", "shop", "--json"], ["list"], ["show", "shop"]):
        result = cli(*args, env=allegro.env)
        for secret in (tokens.access_token, tokens.refresh_token):
            assert secret not in result.stdout + result.stderr
            assert secret[:40] not in result.stdout + result.stderr
