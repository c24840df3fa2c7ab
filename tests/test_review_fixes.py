"""Edge cases found in review: long names, a failed rename, shared directories, values in
error messages, malformed host overrides."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from allegro_conn import paths, service
from allegro_conn.errors import StoreError, UsageError
from allegro_conn.models import Account, Connection, OAuthClient, TokenSet
from allegro_conn.store import Store
from allegro_conn.validate import check_base_url
from tests.conftest import Cli

LONG = "ż" * 64  # 64 characters: allowed, and 768 bytes once %XX-encoded


def _seed(store: Store, name: str) -> None:
    store.save_connections({name: Connection(name, "sandbox", "web", account=Account("1"))})
    store.write_tokens(name, TokenSet("AT-x", "RT-x", 2e9, refresh_issued_at=1.9e9))


def test_token_file_names_stay_under_the_file_system_limit() -> None:
    for name in (LONG, "%" * 64, "a" * 64, "ż" * 63 + "x"):
        assert len(paths.token_file_name(name).encode()) <= 210
    assert paths.token_file_name(LONG) != paths.token_file_name("ż" * 63 + "x")
    assert paths.token_file_name("shop") == "shop.json"


def test_a_long_non_ascii_name_can_be_stored_renamed_and_read(config_dir: Path) -> None:
    store = Store(config_dir)
    _seed(store, "shop")
    service.rename_connection(store, "shop", LONG)
    tokens = store.read_tokens(LONG)
    assert tokens is not None and tokens.access_token == "AT-x"


def test_a_rename_that_cannot_save_puts_the_tokens_back(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store(config_dir)
    _seed(store, "shop")

    def fail(self: Store, connections: object) -> None:
        raise StoreError("disk full")

    monkeypatch.setattr(Store, "save_connections", fail)
    with pytest.raises(StoreError):
        service.rename_connection(store, "shop", "shop2")
    assert store.token_file("shop").exists()
    assert not store.token_file("shop2").exists()


def test_a_shared_directory_is_refused_and_left_as_it_was(cli: Cli, tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "someone-elses.txt").write_text("x")
    shared.chmod(0o1777)
    result = cli(
        "--config-dir", str(shared), "client", "add", "web", "--env", "sandbox",
        "--client-id", "id", "--client-secret-stdin", input="secret\n",
    )  # fmt: skip
    assert result.exit_code == 1
    assert "shared" in result.stderr and str(shared) in result.stderr
    assert stat.S_IMODE(shared.stat().st_mode) == 0o1777
    assert sorted(os.listdir(shared)) == ["someone-elses.txt"]


def test_our_own_loose_directory_is_tightened(cli: Cli, tmp_path: Path) -> None:
    own = tmp_path / "own"
    own.mkdir()
    own.chmod(0o755)
    result = cli(
        "--config-dir", str(own), "client", "add", "web", "--env", "sandbox",
        "--client-id", "id", "--client-secret-stdin", input="secret\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert stat.S_IMODE(own.stat().st_mode) == 0o700


def test_a_malformed_field_is_named_without_its_value(cli: Cli, config_dir: Path) -> None:
    store = Store(config_dir)
    _seed(store, "shop")
    path = store.token_file("shop")
    document = json.loads(path.read_text())
    document["expires_at"] = "RT-secret-in-the-wrong-field"
    path.write_text(json.dumps(document))
    result = cli("show", "shop")
    assert result.exit_code == 1
    assert str(path) in result.stderr
    assert "RT-secret" not in result.stderr + result.stdout


@pytest.mark.parametrize("url", ["http://[::1", "http://127.0.0.1:99999", "ftp://x"])
def test_a_malformed_host_override_is_a_usage_error(url: str) -> None:
    with pytest.raises(UsageError) as caught:
        check_base_url(url, "ALLEGRO_CONN_API_URL")
    assert "ALLEGRO_CONN_API_URL" in caught.value.message


def test_test_all_reports_a_corrupt_token_file_and_still_tests_the_rest(
    cli: Cli, config_dir: Path
) -> None:
    store = Store(config_dir)
    store.save_connections(
        {n: Connection(n, "sandbox", "web", account=Account("1")) for n in ("bad", "good")}
    )
    store.save_clients({"web": OAuthClient("web", "sandbox", "id", "secret", app_name="Shop")})
    for name in ("bad", "good"):
        store.write_tokens(name, TokenSet("AT-x", "RT-x", 2e9, refresh_issued_at=1.9e9))
    store.token_file("bad").write_text("garbage")
    closed = {
        "ALLEGRO_CONN_API_URL": "http://127.0.0.1:9",
        "ALLEGRO_CONN_AUTH_URL": "http://127.0.0.1:9",
    }
    result = cli("test", "--all", "--json", env=closed)
    results = {r["name"]: r for r in json.loads(result.stdout)}
    assert set(results) == {"bad", "good"}
    assert str(store.token_file("bad")) in results["bad"]["error"]
    assert results["good"]["error"] and "Cannot reach" in results["good"]["error"]
    assert result.exit_code == 5  # the worst of the two: Allegro unreachable
