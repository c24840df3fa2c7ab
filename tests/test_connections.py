"""`list`, `show`, `rename`, `delete`, `default`: stored connections, as a user sees them.

`create` is not used: connections are seeded straight through the store.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from allegro_conn.models import REFRESH_TOKEN_LIFETIME, Account, Connection, LastTest, TokenSet
from allegro_conn.store import Store
from tests.conftest import Cli, Result, assert_failed_naming, assert_usage_error
from tests.fakes import ScriptedPrompter

NOW = 1_800_000_000.0  # 2027-01-15T08:00:00Z
VIEW_KEYS = {
    "name",
    "environment",
    "client",
    "scopes",
    "account",
    "expires_at",
    "refresh_expires_at",
    "default",
    "last_test",
}
LINKED_APPS = "moje-allegro/moje-konto/powiazane-aplikacje"


def access(name: str) -> str:
    return f"AT-secret-{name}-0123456789"


def refresh(name: str) -> str:
    return f"RT-secret-{name}-9876543210"


def seed(
    config_dir: Path,
    name: str,
    *,
    env: str = "sandbox",
    tokens: bool = True,
    default: bool = False,
    expires_in: float = 3600,
    **fields: Any,
) -> Connection:
    """Store a connection (and its tokens) the way `create` would."""
    store = Store(config_dir)
    conn = Connection(
        name=name,
        environment=env,
        client=fields.pop("client", "shopapp"),
        requested_scopes=fields.pop(
            "requested_scopes", ["allegro:api:orders:read", "allegro:api:profile:read"]
        ),
        scopes=fields.pop("scopes", ["allegro:api:orders:read", "allegro:api:profile:read"]),
        account=fields.pop("account", Account("12345", f"login-{name}")),
        created_at="2027-01-01T00:00:00Z",
        last_test=fields.pop("last_test", None),
    )
    assert not fields, fields
    conns = store.load_connections()
    conns[name] = conn
    store.save_connections(conns)
    if tokens:
        store.write_tokens(
            name,
            TokenSet(
                access_token=access(name),
                refresh_token=refresh(name),
                expires_at=NOW + expires_in,
                refresh_issued_at=NOW - 86400,
            ),
        )
    if default:
        store.set_default(name)
    return conn


def at(cli: Cli, *args: str, **kwargs: Any) -> Result:
    """Run the CLI with the clock at NOW."""
    return cli(*args, clock=lambda: NOW, **kwargs)


def assert_no_tokens(result: Result, *names: str) -> None:
    for name in names:
        for token in (access(name), refresh(name)):
            assert token not in result.stdout
            assert token not in result.stderr


def parse_utc(text: str) -> float:
    assert text.endswith("Z"), text
    moment = datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    return moment.timestamp()


# -- list ----------------------------------------------------------------------------------------


def test_list_piped_prints_tab_separated_lines_without_header(cli: Cli, config_dir: Path) -> None:
    seed(config_dir, "shop", default=True)
    seed(config_dir, "alpha", env="production", expires_in=-60)
    result = at(cli, "list")
    assert result.exit_code == 0, result.stderr
    assert_no_tokens(result, "shop", "alpha")
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    assert rows == [
        [
            "alpha",
            "production",
            "login-alpha (12345)",
            "2",
            "60 s ago",
            "in 89 days",
            "expired (refreshes on use)",
        ],
        ["shop", "sandbox", "login-shop (12345)", "2", "in 60 min", "in 89 days", "ok"],
    ]


def test_list_json_has_the_contract_keys_and_utc_times(cli: Cli, config_dir: Path) -> None:
    seed(
        config_dir,
        "shop",
        default=True,
        last_test=LastTest("2027-01-15T07:00:00Z", True, None),
    )
    seed(config_dir, "other", scopes=["allegro:api:orders:read"])
    result = at(cli, "list", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert_no_tokens(result, "shop", "other")
    views = json.loads(result.stdout)
    assert [v["name"] for v in views] == ["other", "shop"]
    for view in views:
        assert set(view) >= VIEW_KEYS
        assert parse_utc(view["expires_at"]) == NOW + 3600
        assert parse_utc(view["refresh_expires_at"]) == NOW - 86400 + REFRESH_TOKEN_LIFETIME
    other, shop = views
    assert shop["default"] is True and other["default"] is False
    assert shop["environment"] == "sandbox" and shop["client"] == "shopapp"
    assert shop["scopes"] == ["allegro:api:orders:read", "allegro:api:profile:read"]
    assert other["scopes"] == ["allegro:api:orders:read"]
    assert shop["account"] == {"id": "12345", "login": "login-shop"}
    assert shop["last_test"] == {"at": "2027-01-15T07:00:00Z", "ok": True, "error": None}
    assert other["last_test"] is None


def test_list_json_of_a_connection_without_tokens_or_account(cli: Cli, config_dir: Path) -> None:
    seed(config_dir, "bare", tokens=False, account=None)
    [view] = json.loads(at(cli, "list", "--json").stdout)
    assert view["account"] is None
    assert view["expires_at"] is None and view["refresh_expires_at"] is None


def test_list_json_of_nothing_is_an_empty_array(cli: Cli) -> None:
    result = cli("list", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == []


def test_list_of_nothing_hints_on_stderr_only(cli: Cli) -> None:
    result = cli("list")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "create" in result.stderr


def test_list_says_which_connections_need_reauth(cli: Cli, config_dir: Path) -> None:
    seed(config_dir, "gone", tokens=False)
    result = at(cli, "list")
    assert result.stdout.rstrip("\n").split("\t")[-1] == "needs reauth"


def test_list_piped_keeps_one_line_per_connection(cli: Cli, config_dir: Path) -> None:
    seed(config_dir, "shop", account=Account("1", "odd\nlogin\twith breaks"))
    seed(config_dir, "tail")
    lines = at(cli, "list").stdout.splitlines()
    assert [line.split("\t")[0] for line in lines] == ["shop", "tail"]
    assert all(len(line.split("\t")) == 7 for line in lines)


# -- show ----------------------------------------------------------------------------------------


def test_show_json_is_one_object_and_never_the_tokens(cli: Cli, config_dir: Path) -> None:
    seed(config_dir, "shop", default=True)
    result = at(cli, "show", "shop", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    assert_no_tokens(result, "shop")
    view = json.loads(result.stdout)
    assert set(view) >= VIEW_KEYS
    assert view["name"] == "shop" and view["default"] is True
    assert parse_utc(view["expires_at"]) == NOW + 3600


def test_show_plain_masks_the_tokens(cli: Cli, config_dir: Path) -> None:
    seed(
        config_dir,
        "shop",
        default=True,
        requested_scopes=["allegro:api:orders:read", "allegro:api:bids"],
        scopes=["allegro:api:orders:read"],
        last_test=LastTest("2027-01-15T07:00:00Z", False, "HTTP 401"),
    )
    result = at(cli, "show", "shop")
    assert result.exit_code == 0, result.stderr
    assert_no_tokens(result, "shop")
    assert "shop (default)" in result.stdout
    assert "********" in result.stdout
    assert "login-shop (12345)" in result.stdout
    assert "failed: HTTP 401" in result.stdout
    assert "not granted:" in result.stdout and "allegro:api:bids" in result.stdout


def test_show_finds_the_connection_ignoring_case(cli: Cli, config_dir: Path) -> None:
    seed(config_dir, "Shop")
    result = at(cli, "show", "sHOP", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["name"] == "Shop"


@pytest.mark.parametrize("args", [("show", "nope"), ("show", "nope", "--json")])
def test_show_unknown_is_a_usage_error(cli: Cli, config_dir: Path, args: tuple[str, ...]) -> None:
    seed(config_dir, "shop")
    assert_usage_error(cli(*args), "'nope'", "allegro-conn list")


# -- rename --------------------------------------------------------------------------------------


def test_rename_moves_the_record_the_tokens_and_the_default(cli: Cli, config_dir: Path) -> None:
    seed(config_dir, "shop", default=True)
    store = Store(config_dir)
    old_token_file = store.token_file("shop")
    token_bytes = old_token_file.read_bytes()
    result = cli("rename", "shop", "shop-pl")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert list(store.load_connections()) == ["shop-pl"]
    assert store.load_connections()["shop-pl"].name == "shop-pl"
    assert not old_token_file.exists()
    assert store.token_file("shop-pl").read_bytes() == token_bytes
    assert store.default_name() == "shop-pl"
    assert json.loads(cli("show", "shop-pl", "--json").stdout)["default"] is True


def test_rename_leaves_another_default_alone(cli: Cli, config_dir: Path) -> None:
    seed(config_dir, "main", default=True)
    seed(config_dir, "shop")
    assert cli("rename", "shop", "shop-pl").exit_code == 0
    assert Store(config_dir).default_name() == "main"


def test_rename_may_change_only_the_case(cli: Cli, config_dir: Path) -> None:
    seed(config_dir, "shop")
    assert cli("rename", "shop", "Shop").exit_code == 0
    store = Store(config_dir)
    assert list(store.load_connections()) == ["Shop"]
    assert store.read_tokens("Shop") is not None


@pytest.mark.parametrize("new", ["other", "OTHER"])
def test_rename_onto_an_existing_name_is_refused(cli: Cli, config_dir: Path, new: str) -> None:
    seed(config_dir, "shop")
    seed(config_dir, "other")
    before = {p: p.read_bytes() for p in config_dir.rglob("*.json")}
    assert_usage_error(cli("rename", "shop", new), "'other' already exists")
    assert {p: p.read_bytes() for p in config_dir.rglob("*.json")} == before


@pytest.mark.parametrize(
    ("new", "needle"),
    [
        ("", "empty"),
        ("x" * 65, "64"),
        ("a/b", "'/'"),
        ("bad\x01name", "control"),
        ("tab\tname", "control"),
        ("del\x7f", "control"),
        ("csi\x9b2J", "control"),
        ("nl\nname", "control"),
    ],
    ids=["empty", "65-chars", "slash", "control", "tab", "del", "c1-csi", "newline"],
)
def test_rename_to_an_invalid_name_is_refused(
    cli: Cli, config_dir: Path, new: str, needle: str
) -> None:
    seed(config_dir, "shop")
    before = {p: p.read_bytes() for p in config_dir.rglob("*.json")}
    assert_usage_error(cli("rename", "shop", new), needle)
    assert {p: p.read_bytes() for p in config_dir.rglob("*.json")} == before


def test_rename_to_64_characters_is_fine(cli: Cli, config_dir: Path) -> None:
    seed(config_dir, "shop")
    assert cli("rename", "shop", "y" * 64).exit_code == 0
    assert list(Store(config_dir).load_connections()) == ["y" * 64]


def test_rename_unknown_is_a_usage_error(cli: Cli, config_dir: Path) -> None:
    seed(config_dir, "shop")
    assert_usage_error(cli("rename", "nope", "new"), "'nope'")


# -- delete --------------------------------------------------------------------------------------


def test_delete_yes_removes_record_tokens_and_default(cli: Cli, config_dir: Path) -> None:
    seed(config_dir, "shop", default=True)
    seed(config_dir, "keep")
    store = Store(config_dir)
    result = cli("delete", "shop", "--yes")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert list(store.load_connections()) == ["keep"]
    assert not store.token_file("shop").exists()
    assert store.token_file("keep").exists()
    assert store.default_name() is None
    assert "https://allegro.pl.allegrosandbox.pl/" + LINKED_APPS in result.stderr
    assert_no_tokens(result, "shop")


def test_delete_production_points_at_the_production_unlink_page(cli: Cli, config_dir: Path) -> None:
    seed(config_dir, "prod", env="production")
    result = cli("delete", "PROD", "-y")
    assert result.exit_code == 0, result.stderr
    assert "https://allegro.pl/" + LINKED_APPS in result.stderr
    assert Store(config_dir).load_connections() == {}


def test_delete_without_yes_and_without_a_terminal_names_yes(cli: Cli, config_dir: Path) -> None:
    seed(config_dir, "shop")
    assert_usage_error(cli("delete", "shop"), "--yes")
    assert list(Store(config_dir).load_connections()) == ["shop"]
    assert Store(config_dir).token_file("shop").exists()


def test_delete_interactive_no_cancels_with_130(cli: Cli, config_dir: Path) -> None:
    seed(config_dir, "shop")
    prompter = ScriptedPrompter({"Delete connection 'shop' and its tokens?": False})
    result = cli("delete", "shop", prompter=prompter, stdin_tty=True)
    prompter.assert_done()
    assert result.exit_code == 130
    assert "Nothing deleted" in result.stderr
    assert list(Store(config_dir).load_connections()) == ["shop"]
    assert Store(config_dir).token_file("shop").exists()


def test_delete_interactive_defaults_to_no(cli: Cli, config_dir: Path) -> None:
    seed(config_dir, "shop")
    prompter = ScriptedPrompter({"Delete connection 'shop' and its tokens?": False})
    cli("delete", "shop", prompter=prompter, stdin_tty=True)
    assert prompter.defaults["Delete connection 'shop' and its tokens?"] is False


def test_delete_interactive_yes_deletes(cli: Cli, config_dir: Path) -> None:
    seed(config_dir, "shop")
    prompter = ScriptedPrompter({"Delete connection 'shop' and its tokens?": True})
    result = cli("delete", "shop", prompter=prompter, stdin_tty=True)
    prompter.assert_done()
    assert result.exit_code == 0, result.stderr
    assert Store(config_dir).load_connections() == {}
    assert not Store(config_dir).token_file("shop").exists()


def test_delete_interactive_ctrl_c_cancels_with_130(cli: Cli, config_dir: Path) -> None:
    seed(config_dir, "shop")
    prompter = ScriptedPrompter({"Delete connection 'shop' and its tokens?": KeyboardInterrupt()})
    result = cli("delete", "shop", prompter=prompter, stdin_tty=True)
    assert result.exit_code == 130
    assert result.stdout == ""
    assert list(Store(config_dir).load_connections()) == ["shop"]


def test_delete_unknown_is_a_usage_error(cli: Cli, config_dir: Path) -> None:
    seed(config_dir, "shop")
    assert_usage_error(cli("delete", "nope", "--yes"), "'nope'")
    assert list(Store(config_dir).load_connections()) == ["shop"]


# -- default -------------------------------------------------------------------------------------


def test_default_sets_and_prints_the_stored_name(cli: Cli, config_dir: Path) -> None:
    seed(config_dir, "Shop")
    result = cli("default", "shop")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == ""
    assert "'Shop'" in result.stderr
    shown = cli("default")
    assert shown.exit_code == 0
    assert shown.stdout == "Shop\n"


def test_default_without_one_set_fails_with_a_hint(cli: Cli, config_dir: Path) -> None:
    seed(config_dir, "shop")
    result = cli("default")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "allegro-conn default NAME" in result.stderr


def test_default_unknown_is_a_usage_error_and_keeps_the_old_one(cli: Cli, config_dir: Path) -> None:
    seed(config_dir, "shop", default=True)
    assert_usage_error(cli("default", "nope"), "'nope'")
    assert cli("default").stdout == "shop\n"


def test_default_moves_to_another_connection(cli: Cli, config_dir: Path) -> None:
    seed(config_dir, "shop", default=True)
    seed(config_dir, "other")
    assert cli("default", "other").exit_code == 0
    views = {v["name"]: v["default"] for v in json.loads(cli("list", "--json").stdout)}
    assert views == {"other": True, "shop": False}


# -- corrupt files -------------------------------------------------------------------------------


BROKEN = {
    "truncated": b'{"version": 1, "connections": {"shop": {"name": "sh',
    "array": b'[{"name": "shop"}]',
    "future": b'{"version": 3, "connections": {}}',
    "record-not-object": b'{"version": 1, "connections": {"shop": [1]}}',
}


@pytest.mark.parametrize("content", BROKEN.values(), ids=list(BROKEN))
@pytest.mark.parametrize(
    "args",
    [
        ("list",),
        ("list", "--json"),
        ("show", "shop"),
        ("rename", "shop", "x"),
        ("delete", "shop", "--yes"),
        ("default", "shop"),
        ("client", "list"),
    ],
)
def test_corrupt_connections_file_fails_naming_it_and_is_left_unchanged(
    cli: Cli, config_dir: Path, content: bytes, args: tuple[str, ...]
) -> None:
    seed(config_dir, "shop")
    path = config_dir / "connections.json"
    path.write_bytes(content)
    assert_failed_naming(cli(*args), path)
    assert path.read_bytes() == content


@pytest.mark.parametrize(
    "content",
    [
        b'{"version": 1, "access_token": "AT-secret-shop-0123456789", "refr',
        b'{"version": 2, "access_token": "x", "expires_at": 1}',
        b'"AT-secret-shop-0123456789"',
        b'{"version": 1, "refresh_token": "RT-secret-shop-9876543210"}',
    ],
    ids=["truncated", "future", "string", "no-access-token"],
)
@pytest.mark.parametrize("args", [("show", "shop"), ("show", "shop", "--json")])
def test_corrupt_token_file_fails_naming_it_without_leaking_it(
    cli: Cli, config_dir: Path, content: bytes, args: tuple[str, ...]
) -> None:
    seed(config_dir, "shop")
    path = Store(config_dir).token_file("shop")
    path.write_bytes(content)
    result = at(cli, *args)
    assert_failed_naming(result, path)
    assert_no_tokens(result, "shop")
    assert path.read_bytes() == content


def test_corrupt_settings_file_fails_naming_it(cli: Cli, config_dir: Path) -> None:
    seed(config_dir, "shop", default=True)
    path = config_dir / "settings.json"
    path.write_bytes(b'{"version": 1, "default": "sh')
    for args in (("default",), ("list",), ("show", "shop")):
        assert_failed_naming(cli(*args), path)
    assert path.read_bytes() == b'{"version": 1, "default": "sh'


def test_list_status_shows_a_failed_last_test(cli: Cli, config_dir: Path) -> None:
    seed(config_dir, "shop", last_test=LastTest(at="2027-01-01T00:00:00Z", ok=False, error="x"))
    result = at(cli, "list")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.rstrip("\n").split("\t")[-1] == "last test failed"


def test_list_warns_when_consent_ends_within_ten_days(cli: Cli, config_dir: Path) -> None:
    seed(config_dir, "shop")
    store = Store(config_dir)
    tokens = store.read_tokens("shop")
    assert tokens is not None
    tokens.refresh_issued_at = NOW - 85 * 86400
    store.write_tokens("shop", tokens)
    row = at(cli, "list").stdout.rstrip("\n").split("\t")
    assert row[-2:] == ["in 5 days", "consent ends soon"]


def test_list_on_a_terminal_shows_brackets_in_names_as_typed(
    cli: Cli, config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    seed(config_dir, "[bold]shop[/bold]")
    result = at(cli, "list", stdout_tty=True)
    assert result.exit_code == 0, result.stderr
    assert "[bold]shop[/bold]" in result.stdout
    assert "NAME" in result.stdout  # a table with headers, for people


def test_list_of_many_connections_on_a_terminal_is_an_aligned_plain_table(
    cli: Cli, config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from allegro_conn.cli import render

    monkeypatch.setattr(render, "RICH_TABLE_LIMIT", 2)
    for name in ("a", "bb", "ccc"):
        seed(config_dir, name)
    lines = at(cli, "list", stdout_tty=True).stdout.splitlines()
    assert lines[0].split()[:2] == ["NAME", "ENVIRONMENT"]
    starts = {line.index("sandbox") for line in lines[1:]}
    assert len(lines) == 4 and len(starts) == 1  # one column, aligned


@pytest.mark.parametrize("args", [("list",), ("list", "--json")])
def test_one_corrupt_token_file_does_not_hide_the_other_connections(
    cli: Cli, config_dir: Path, args: tuple[str, ...]
) -> None:
    seed(config_dir, "good")
    seed(config_dir, "shop")
    path = Store(config_dir).token_file("shop")
    content = b'{"version": 1, "access_token": "AT-secret-shop-0123456789", "refr'
    path.write_bytes(content)
    result = at(cli, *args)
    assert result.exit_code == 0, result.stderr
    assert "warning:" in result.stderr and str(path) in result.stderr
    assert "good" in result.stdout and "shop" in result.stdout
    assert_no_tokens(result, "shop")
    assert path.read_bytes() == content
