"""The `token` fast path: with a valid cached token, the console script answers with the
standard library only, and a refresh (tokenpath) never loads typer. These tests look at the
IMPORTS (not the time) in a fresh interpreter, and check that the output is the same as always.

The benchmark is benchmarks/bench_token.py.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import platformdirs
import pytest

from allegro_conn import paths
from allegro_conn.fastpath import parse_token_args
from allegro_conn.models import Account, Connection, OAuthClient, TokenSet
from allegro_conn.store import Store
from tests.conftest import Cli, allegro_conn_cmd
from tests.helpers_tokens import HEAVY_PREFIXES, Allegro, process_env, running, seed, stored

# what the console script does, plus a report on stderr: the heavy modules loaded, and
# whether the typer-free refresh path (tokenpath) ran
PROBE = (
    "import sys; from allegro_conn.entry import main; rc = main(sys.argv[1:]); "
    "print((sorted(m for m in sys.modules if m.split('.')[0] in "
    + repr(set(HEAVY_PREFIXES))
    + "), 'allegro_conn.tokenpath' in sys.modules), file=sys.stderr); raise SystemExit(rc)"
)
TOKEN = "AT-fast-0123456789abcdef"


class Probe:
    def __init__(self, done: subprocess.CompletedProcess[str]) -> None:
        self.exit_code = done.returncode
        self.stdout = done.stdout
        *lines, report = done.stderr.splitlines() or [""]
        self.stderr = "".join(line + "\n" for line in lines)
        heavy, tokenpath = ast.literal_eval(report) if report.startswith("(") else ([], False)
        self.heavy: list[str] = heavy
        self.tokenpath: bool = tokenpath

    @property
    def fast(self) -> bool:
        """Answered from the cache with the standard library only."""
        return not self.heavy and not self.tokenpath

    @property
    def without_typer(self) -> bool:
        """Answered by fastpath or tokenpath: typer (and pydantic, rich) never loaded."""
        return not {"typer", "rich", "pydantic", "questionary"} & {
            m.split(".")[0] for m in self.heavy
        }


def probe(*args: str, env: dict[str, str] | None = None) -> Probe:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        env=env if env is not None else process_env(),
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )
    return Probe(done)


def seed_offline(
    root: Path,
    name: str = "shop",
    *,
    expires_in: float = 3600,
    default: bool = True,
    refresh_issued_at: float | None = None,
    needs_reauth: str | None = None,
) -> TokenSet:
    """A connection with a cached token and no Allegro behind it."""
    store = Store(root)
    store.save_clients({"web": OAuthClient("web", "sandbox", "id", "secret", app_name="Shop")})
    connections = store.load_connections()
    connections[name] = Connection(name, "sandbox", "web", account=Account("1", "x"))
    store.save_connections(connections)
    tokens = TokenSet(
        access_token=TOKEN,
        refresh_token="RT-fast-0123456789",
        expires_at=time.time() + expires_in,
        refresh_issued_at=refresh_issued_at or time.time() - 86400,
        needs_reauth=needs_reauth,
    )
    store.write_tokens(name, tokens)
    if default:
        store.set_default(name)
    return tokens


@pytest.fixture
def allegro() -> Iterator[Allegro]:
    with running() as allegro:
        yield allegro


# -- the fast path ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["token", "shop"],
        ["token"],  # the default connection
        ["token", "shop", "--min-ttl", "600"],
        ["token", "--min-ttl=600", "shop"],
        ["token", "shop", "--min-ttl", "0"],
        ["--quiet", "token", "shop"],
    ],
    ids=["name", "default", "min-ttl", "min-ttl=", "min-ttl-0", "quiet"],
)
def test_a_cached_token_loads_no_heavy_module(config_dir: Path, args: list[str]) -> None:
    seed_offline(config_dir, expires_in=1000)

    result = probe(*args)

    assert result.heavy == []
    assert result.exit_code == 0
    assert result.stdout == TOKEN + "\n"
    assert result.stderr == ""


@pytest.mark.parametrize("form", ["separate", "joined"])
def test_config_dir_option_takes_the_fast_path(tmp_path: Path, form: str) -> None:
    root = tmp_path / "elsewhere"
    seed_offline(root)
    env = process_env(ALLEGRO_CONN_CONFIG_DIR=None)
    args = ["--config-dir", str(root)] if form == "separate" else [f"--config-dir={root}"]

    result = probe(*args, "token", "shop", env=env)

    assert result.heavy == []
    assert (result.exit_code, result.stdout, result.stderr) == (0, TOKEN + "\n", "")


def test_the_platform_config_dir_takes_the_fast_path(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = process_env(ALLEGRO_CONN_CONFIG_DIR=None, XDG_CONFIG_HOME=None, HOME=str(home))
    seed_offline(home / ".config" / "allegro-conn")

    result = probe("token", "shop", env=env)

    assert result.heavy == []
    assert (result.exit_code, result.stdout) == (0, TOKEN + "\n")


def test_the_console_script_itself_imports_nothing_heavy(config_dir: Path) -> None:
    seed_offline(config_dir)
    script = allegro_conn_cmd()
    if len(script) != 1:
        pytest.skip("the console script is not installed next to this interpreter")
    done = subprocess.run(
        [sys.executable, "-X", "importtime", script[0], "token", "shop"],
        env=process_env(),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0
    assert done.stdout == TOKEN + "\n"
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()}
    assert "allegro_conn.fastpath" in imported
    assert not {m for m in imported if m.split(".")[0] in HEAVY_PREFIXES}
    assert "json" not in imported


def test_the_fast_path_prints_what_the_full_app_prints(cli: Cli, config_dir: Path) -> None:
    seed_offline(config_dir)
    full = cli("token", "shop")
    fast = probe("token", "shop")
    assert fast.fast
    assert (fast.exit_code, fast.stdout, fast.stderr) == (full.exit_code, full.stdout, full.stderr)


# -- everything else takes the full app -------------------------------------------------------


def test_an_expiring_token_is_refreshed_without_typer(config_dir: Path, allegro: Allegro) -> None:
    seed(config_dir, allegro, expires_at=time.time() + 100)  # within the default 300 s

    result = probe("token", "shop", env=process_env(allegro.env))

    assert not result.fast and result.tokenpath and result.without_typer
    assert result.exit_code == 0, result.stderr
    assert result.stdout == stored(config_dir).access_token + "\n"
    assert result.stderr == ""
    assert allegro.refreshes() == 1
    assert allegro.api_status(result.stdout.strip()) == 200


def test_a_min_ttl_beyond_the_expiry_is_refreshed_without_typer(
    config_dir: Path, allegro: Allegro
) -> None:
    old = seed(config_dir, allegro, expires_at=time.time() + 1000)
    result = probe("token", "shop", "--min-ttl", "2000", env=process_env(allegro.env))
    assert result.tokenpath and result.without_typer
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() not in ("", old.access_token)
    assert allegro.refreshes() == 1


def test_force_refresh_takes_the_typer_free_path(config_dir: Path, allegro: Allegro) -> None:
    old = seed(config_dir, allegro)
    result = probe("token", "shop", "--force-refresh", env=process_env(allegro.env))
    assert result.tokenpath and result.without_typer
    assert result.exit_code == 0, result.stderr
    assert result.stdout == stored(config_dir).access_token + "\n"
    assert result.stdout.strip() != old.access_token
    assert allegro.refreshes() == 1


def test_json_takes_the_typer_free_path(config_dir: Path) -> None:
    tokens = seed_offline(config_dir)
    result = probe("token", "shop", "--json")
    assert result.tokenpath and result.without_typer
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["access_token"] == tokens.access_token


def test_a_connection_needing_consent_exits_4_from_the_typer_free_path(config_dir: Path) -> None:
    seed_offline(config_dir, needs_reauth="Allegro rejected the refresh token (invalid_grant)")
    result = probe("token", "shop")
    assert result.tokenpath and result.without_typer
    assert result.exit_code == 4
    assert result.stdout == ""
    assert "allegro-conn reauth shop" in result.stderr


def test_an_unknown_name_exits_2_from_the_typer_free_path(config_dir: Path) -> None:
    seed_offline(config_dir)
    result = probe("token", "nope")
    assert result.tokenpath and result.without_typer
    assert result.exit_code == 2
    assert result.stdout == ""
    assert "No connection named 'nope'" in result.stderr


@pytest.mark.parametrize(
    "content",
    [b'{"version": 1, "access_token": "AT-x", "expires_at": ', b"", b"[1, 2]", b"\xff\xfe{}"],
    ids=["truncated", "empty", "not-an-object", "not-utf8"],
)
def test_a_corrupt_token_file_exits_1_and_is_left_alone(config_dir: Path, content: bytes) -> None:
    seed_offline(config_dir)
    path = Store(config_dir).token_file("shop")
    path.write_bytes(content)

    result = probe("token", "shop")

    assert result.tokenpath and result.without_typer
    assert result.stdout == ""
    assert result.exit_code == 1
    assert str(path) in result.stderr
    assert path.read_bytes() == content


def test_a_token_file_of_a_newer_version_takes_the_typer_free_path(config_dir: Path) -> None:
    seed_offline(config_dir)
    path = Store(config_dir).token_file("shop")
    document = json.loads(path.read_text())
    path.write_text(json.dumps({**document, "version": 2}))
    result = probe("token", "shop")
    assert result.tokenpath and result.without_typer
    assert result.exit_code == 1
    assert "newer allegro-conn" in result.stderr


def test_an_old_refresh_token_takes_the_typer_free_path_for_its_warning(config_dir: Path) -> None:
    seed_offline(config_dir, refresh_issued_at=time.time() - 85 * 86400)
    result = probe("token", "shop")
    assert result.tokenpath and result.without_typer
    assert result.exit_code == 0
    assert result.stdout == TOKEN + "\n"
    assert result.stderr.startswith("warning: ") and "85 days old" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["token", "shop", "--min-ttl", "-5"],
        ["token", "shop", "--min-ttl", "nan"],
        ["token", "shop", "--min-ttl=inf"],
        ["token", "shop", "--min-ttl"],
        ["token", "shop", "other"],
        ["token", "--help"],
        ["--version", "token"],
    ],
    ids=["negative", "nan", "inf", "missing", "two-names", "help", "version"],
)
def test_anything_unusual_is_left_to_the_typer_app(args: list[str]) -> None:
    # not parsed here: typer answers these (help, usage errors), tested with the rest of the CLI
    assert parse_token_args(args) is None


def test_a_mistyped_flag_gets_typers_usage_error(config_dir: Path) -> None:
    seed_offline(config_dir)
    result = probe("token", "shop", "--min-tll", "5")
    assert result.exit_code == 2
    assert "--min-tll" in result.stderr
    assert result.stdout == ""


def test_no_default_connection_takes_the_typer_free_path(config_dir: Path) -> None:
    seed_offline(config_dir, default=False)
    result = probe("token")
    assert result.tokenpath and result.without_typer
    assert result.exit_code == 2
    assert "default" in result.stderr


# -- where the fast path looks -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("home", "xdg"),
    [
        ("{tmp}/home", None),
        ("{tmp}/home/", None),
        ("{tmp}/home", "{tmp}/xdg"),
        ("{tmp}/home", "relative/xdg"),
        ("{tmp}/home", ""),
        ("", None),
        ("relative/home", None),
        (None, None),
    ],
)
def test_quick_default_dir_is_platformdirs_on_this_os(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, home: str | None, xdg: str | None
) -> None:
    for var, value in (("HOME", home), ("XDG_CONFIG_HOME", xdg)):
        if value is None:
            monkeypatch.delenv(var, raising=False)
        else:
            monkeypatch.setenv(var, value.format(tmp=tmp_path))
    expected = platformdirs.user_config_dir("allegro-conn")
    if sys.platform.startswith(("win", "darwin")):
        assert paths.quick_default_dir(os.environ) is None
    else:
        assert paths.quick_default_dir(os.environ) == expected
    assert paths.default_dir(os.environ) == expected
