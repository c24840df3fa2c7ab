"""Where the config lives: --config-dir > ALLEGRO_CONN_CONFIG_DIR > platformdirs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import platformdirs
import pytest

from allegro_conn import paths
from tests.conftest import Cli

FILE_KEYS = {"config_dir", "clients", "connections", "settings", "tokens"}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fake home directory, no XDG_CONFIG_HOME and no ALLEGRO_CONN_CONFIG_DIR."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.delenv("ALLEGRO_CONN_CONFIG_DIR", raising=False)
    return home


def paths_json(cli: Cli, *args: str) -> dict[str, str]:
    result = cli(*args, "paths", "--json")
    assert result.exit_code == 0, result.stderr
    data: dict[str, str] = json.loads(result.stdout)
    return data


def test_paths_json_names_every_file_below_the_env_dir(cli: Cli, config_dir: Path) -> None:
    data = paths_json(cli)
    assert set(data) == FILE_KEYS
    assert data["config_dir"] == str(config_dir)
    assert data["clients"] == str(config_dir / "clients.json")
    assert data["connections"] == str(config_dir / "connections.json")
    assert data["settings"] == str(config_dir / "settings.json")
    assert data["tokens"] == str(config_dir / "tokens")


def test_config_dir_flag_wins_over_the_environment(cli: Cli, tmp_path: Path) -> None:
    other = tmp_path / "other"
    assert paths_json(cli, "--config-dir", str(other))["config_dir"] == str(other)
    assert paths_json(cli, f"--config-dir={other}")["clients"] == str(other / "clients.json")


def test_config_dir_flag_is_made_absolute(
    cli: Cli, tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert paths_json(cli, "--config-dir", "rel")["config_dir"] == str(tmp_path / "rel")
    assert paths_json(cli, "--config-dir", "~/conf")["config_dir"] == str(home / "conf")


def test_environment_variable_is_used_without_the_flag(
    cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALLEGRO_CONN_CONFIG_DIR", str(tmp_path / "from-env"))
    assert paths_json(cli)["config_dir"] == str(tmp_path / "from-env")


def test_paths_plain_prints_the_dir_on_stdout_and_the_modes_on_stderr(
    cli: Cli, config_dir: Path
) -> None:
    result = cli("paths")
    assert result.exit_code == 0
    assert str(config_dir) in result.stdout
    assert "0600" in result.stderr and "0700" in result.stderr
    assert "0600" not in result.stdout


def test_paths_does_not_create_the_directory(cli: Cli, config_dir: Path) -> None:
    assert cli("paths").exit_code == 0
    assert not config_dir.exists()


def test_default_dir_is_platformdirs_user_config_dir(cli: Cli, home: Path) -> None:
    expected = platformdirs.user_config_dir("allegro-conn")
    assert expected.startswith(str(home))
    assert paths_json(cli)["config_dir"] == expected


def test_default_dir_follows_xdg_config_home(
    cli: Cli, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    expected = platformdirs.user_config_dir("allegro-conn")
    assert expected == str(tmp_path / "xdg" / "allegro-conn")
    assert paths_json(cli)["config_dir"] == expected


def test_blank_environment_variable_means_the_default(
    cli: Cli, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALLEGRO_CONN_CONFIG_DIR", "  ")
    assert paths_json(cli)["config_dir"] == platformdirs.user_config_dir("allegro-conn")


@pytest.mark.parametrize("xdg", [None, "/abs/xdg", "relative/xdg", ""])
def test_quick_default_dir_agrees_with_platformdirs(
    home: Path, monkeypatch: pytest.MonkeyPatch, xdg: str | None
) -> None:
    if xdg is not None:
        monkeypatch.setenv("XDG_CONFIG_HOME", xdg)
    quick = paths.quick_default_dir(os.environ)
    assert quick == platformdirs.user_config_dir("allegro-conn")
    assert paths.default_dir(os.environ) == quick


@pytest.mark.parametrize(
    "name",
    ["shop", "Shop-PL_2.0", "..", ".hidden", "a b", "zażółć", "%2F", "a%2Fb", "con:1", "-x"],
)
def test_token_file_name_is_one_plain_file_name(name: str) -> None:
    file_name = paths.token_file_name(name)
    assert file_name.endswith(".json")
    assert "/" not in file_name and "\\" not in file_name
    assert not file_name.startswith(".")
    assert all(ch.isascii() and ch.isprintable() and ch != " " for ch in file_name)


def test_token_file_names_of_different_connections_differ() -> None:
    names = ["shop", "Shop", "a b", "a%20b", "a_b", ".x", "%2Ex", "zażółć", "a:b", "a%3Ab"]
    file_names = [paths.token_file_name(n) for n in names]
    assert len(set(file_names)) == len(names)


def test_token_file_name_keeps_safe_names_readable() -> None:
    assert paths.token_file_name("shop-pl_2.0") == "shop-pl_2.0.json"
