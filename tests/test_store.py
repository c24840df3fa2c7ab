"""The config store: versioned files, atomic writes, file modes, locks, corrupt files."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from allegro_conn.errors import ExitCode, Failure, StoreError
from allegro_conn.locks import file_lock
from allegro_conn.models import Account, Connection, LastTest, OAuthClient, TokenSet
from allegro_conn.store import SCHEMA_VERSION, Store, atomic_write


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def client(name: str = "shopapp") -> OAuthClient:
    return OAuthClient(
        name=name,
        environment="sandbox",
        client_id="id-" + name,
        client_secret="secret-" + name,
        app_name="Shop App",
    )


def connection(name: str = "shop") -> Connection:
    return Connection(
        name=name,
        environment="sandbox",
        client="shopapp",
        requested_scopes=["allegro:api:orders:read", "allegro:api:bids"],
        scopes=["allegro:api:orders:read"],
        account=Account("42", "seller"),
        created_at="2026-01-01T00:00:00Z",
        last_test=LastTest("2026-01-02T00:00:00Z", False, "HTTP 401"),
    )


def tokens(access: str = "AT-1") -> TokenSet:
    return TokenSet(
        access_token=access,
        refresh_token="RT-1",
        expires_at=1_800_000_000.5,
        scope="allegro:api:orders:read",
        refresh_issued_at=1_790_000_000.0,
    )


@pytest.fixture
def store(config_dir: Path) -> Store:
    return Store(config_dir)


@pytest.fixture
def umask_zero() -> Iterator[None]:
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


# -- atomic writes -------------------------------------------------------------------------------


def test_atomic_write_creates_a_0600_file(tmp_path: Path, umask_zero: None) -> None:
    target = tmp_path / "f.json"
    atomic_write(target, b"hello")
    assert target.read_bytes() == b"hello"
    assert mode(target) == 0o600


def test_atomic_write_replaces_and_tightens_an_existing_file(tmp_path: Path) -> None:
    target = tmp_path / "f.json"
    target.write_bytes(b"old contents that are longer")
    target.chmod(0o644)
    atomic_write(target, b"new")
    assert target.read_bytes() == b"new"
    assert mode(target) == 0o600


def test_atomic_write_leaves_no_temp_file(tmp_path: Path) -> None:
    atomic_write(tmp_path / "f.json", b"x")
    atomic_write(tmp_path / "f.json", b"y")
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]


def test_failed_atomic_write_keeps_the_old_file_and_removes_its_temp_file(
    tmp_path: Path,
) -> None:
    target = tmp_path / "f.json"
    target.write_bytes(b"old")
    with pytest.raises(TypeError):
        atomic_write(target, "not bytes")  # type: ignore[arg-type]
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]


# -- round trips ---------------------------------------------------------------------------------


def test_missing_files_read_as_empty(store: Store, config_dir: Path) -> None:
    assert store.load_clients() == {}
    assert store.load_connections() == {}
    assert store.default_name() is None
    assert store.read_tokens("shop") is None
    assert not config_dir.exists()


def test_clients_round_trip(store: Store) -> None:
    clients = {"shopapp": client(), "other": client("other")}
    store.save_clients(clients)
    assert store.load_clients() == clients


def test_connections_round_trip(store: Store) -> None:
    conns = {"shop": connection(), "bare": Connection("bare", "production", "x")}
    store.save_connections(conns)
    assert store.load_connections() == conns


def test_tokens_round_trip(store: Store) -> None:
    store.write_tokens("shop", tokens())
    assert store.read_tokens("shop") == tokens()
    assert store.read_tokens("other") is None


def test_default_round_trip(store: Store) -> None:
    store.set_default("shop")
    assert store.default_name() == "shop"
    store.set_default(None)
    assert store.default_name() is None


def test_every_file_carries_the_schema_version(store: Store) -> None:
    store.save_clients({"shopapp": client()})
    store.save_connections({"shop": connection()})
    store.write_tokens("shop", tokens())
    store.set_default("shop")
    for path in (
        store.clients_file,
        store.connections_file,
        store.token_file("shop"),
        store.settings_file,
    ):
        assert json.loads(path.read_text())["version"] == SCHEMA_VERSION


def test_rename_tokens_moves_the_file(store: Store) -> None:
    store.write_tokens("shop", tokens())
    store.rename_tokens("shop", "shop-pl")
    assert store.read_tokens("shop") is None
    assert store.read_tokens("shop-pl") == tokens()
    store.rename_tokens("missing", "whatever")  # nothing to move is fine


def test_delete_tokens(store: Store) -> None:
    store.write_tokens("shop", tokens())
    store.delete_tokens("shop")
    assert not store.token_file("shop").exists()
    store.delete_tokens("shop")  # already gone is fine


def test_token_files_of_awkward_names_stay_in_the_tokens_dir(store: Store) -> None:
    for name in ("..", ".hidden", "a b", "zażółć"):
        store.write_tokens(name, tokens(name))
        assert store.token_file(name).parent == store.tokens_dir
        assert store.read_tokens(name) == tokens(name)


# -- modes ---------------------------------------------------------------------------------------


def test_files_are_0600_and_dirs_0700_even_with_umask_zero(
    store: Store, config_dir: Path, umask_zero: None
) -> None:
    store.save_clients({"shopapp": client()})
    store.save_connections({"shop": connection()})
    store.write_tokens("shop", tokens())
    store.set_default("shop")
    with store.locked(), store.token_lock("shop", 1.0):
        pass
    assert mode(config_dir) == 0o700
    assert mode(store.tokens_dir) == 0o700
    files = [p for p in config_dir.rglob("*") if p.is_file()]
    assert len(files) >= 6  # four data files and two lock files
    assert {p.name: mode(p) for p in files} == {p.name: 0o600 for p in files}


def test_open_directories_are_tightened(store: Store, config_dir: Path) -> None:
    config_dir.mkdir(mode=0o755)
    config_dir.chmod(0o755)
    store.tokens_dir.mkdir(mode=0o777)
    store.tokens_dir.chmod(0o777)
    store.save_clients({"shopapp": client()})
    assert mode(config_dir) == 0o700
    assert mode(store.tokens_dir) == 0o700


def test_an_open_file_is_tightened_when_read(store: Store) -> None:
    store.save_clients({"shopapp": client()})
    store.clients_file.chmod(0o644)
    store.load_clients()
    assert mode(store.clients_file) == 0o600


def test_tightening_is_best_effort_on_a_file_that_cannot_be_changed(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read-only mount (say, a mounted secret) refuses chmod; the file is still read."""
    store.save_clients({"shopapp": client()})
    store.clients_file.chmod(0o644)

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(os, "chmod", refuse)
    assert store.load_clients() == {"shopapp": client()}


def test_an_unwritable_config_dir_is_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(StoreError) as info:
        Store(blocker / "config").save_clients({"shopapp": client()})
    assert str(blocker / "config") in info.value.message
    assert info.value.exit_code == ExitCode.FAILURE


# -- corrupt files -------------------------------------------------------------------------------

CORRUPT = {
    "truncated": b'{"version": 1, "clients": {"shopapp": {"name": "sh',
    "empty": b"",
    "not json": b"clients = []\n",
    "binary": b"\xff\xfe\x00garbage",
    "a list": b"[]",
    "a string": b'"clients"',
    "null": b"null",
    "no version": b'{"clients": {}, "connections": {}}',
    "version as text": b'{"version": "1", "clients": {}, "connections": {}}',
    "future version": b'{"version": 99, "clients": {}, "connections": {}}',
}


@pytest.mark.parametrize("content", CORRUPT.values(), ids=list(CORRUPT))
@pytest.mark.parametrize("which", ["clients", "connections", "settings", "tokens"])
def test_a_corrupt_file_is_a_store_error_naming_it_and_left_alone(
    store: Store, config_dir: Path, which: str, content: bytes
) -> None:
    target = {
        "clients": store.clients_file,
        "connections": store.connections_file,
        "settings": store.settings_file,
        "tokens": store.token_file("shop"),
    }[which]
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content)
    load = {
        "clients": store.load_clients,
        "connections": store.load_connections,
        "settings": store.default_name,
        "tokens": lambda: store.read_tokens("shop"),
    }[which]
    with pytest.raises(StoreError) as info:
        load()
    assert str(target) in info.value.message
    assert info.value.exit_code == ExitCode.FAILURE
    assert target.read_bytes() == content


def test_a_future_version_asks_for_an_upgrade(store: Store, config_dir: Path) -> None:
    config_dir.mkdir()
    store.clients_file.write_text('{"version": 2, "clients": {}}')
    with pytest.raises(StoreError) as info:
        store.load_clients()
    assert "newer" in info.value.message
    assert info.value.hint is not None and "Upgrade" in info.value.hint


MALFORMED_RECORDS = {
    "clients": [
        '{"version": 1, "clients": []}',
        '{"version": 1}',
        '{"version": 1, "clients": {"a": {"name": "a"}}}',
        '{"version": 1, "clients": {"a": "text"}}',
        '{"version": 1, "clients": {"a": null}}',
    ],
    "connections": [
        '{"version": 1, "connections": []}',
        '{"version": 1, "connections": {"a": {"name": "a", "environment": "sandbox"}}}',
        '{"version": 1, "connections": {"a": 5}}',
        '{"version": 1, "connections": {"a": {"name": "a", "environment": "sandbox", '
        '"client": "c", "account": {"id": "1", "surprise": 2}}}}',
        '{"version": 1, "connections": {"a": {"name": "a", "environment": "sandbox", '
        '"client": "c", "last_test": ["x"]}}}',
    ],
    "tokens": [
        '{"version": 1, "refresh_token": "RT"}',
        '{"version": 1, "access_token": "AT", "expires_at": "soon"}',
        '{"version": 1, "access_token": "AT", "expires_at": null}',
    ],
}


@pytest.mark.parametrize(
    ("which", "content"),
    [(which, content) for which, items in MALFORMED_RECORDS.items() for content in items],
)
def test_a_malformed_record_is_a_store_error(
    store: Store, config_dir: Path, which: str, content: str
) -> None:
    target = {
        "clients": store.clients_file,
        "connections": store.connections_file,
        "tokens": store.token_file("shop"),
    }[which]
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(content)
    load = {
        "clients": store.load_clients,
        "connections": store.load_connections,
        "tokens": lambda: store.read_tokens("shop"),
    }[which]
    with pytest.raises(StoreError) as info:
        load()
    assert str(target) in info.value.message
    assert target.read_text() == content


def test_a_corrupt_token_file_does_not_leak_its_contents(store: Store) -> None:
    store.tokens_dir.mkdir(parents=True)
    store.token_file("shop").write_text('{"version": 1, "access_token": "AT-SECRET-9"')
    with pytest.raises(StoreError) as info:
        store.read_tokens("shop")
    assert "AT-SECRET-9" not in f"{info.value.message} {info.value.hint}"


# -- locks ---------------------------------------------------------------------------------------


def test_a_held_lock_times_out_with_a_failure(tmp_path: Path) -> None:
    lock = str(tmp_path / "x.lock")
    with (
        file_lock(lock, 1.0, "the test"),
        pytest.raises(Failure) as info,
        file_lock(lock, 0.05, "the test"),
    ):
        pass
    assert "Timed out" in info.value.message
    assert info.value.exit_code == ExitCode.FAILURE
    with file_lock(lock, 0.05, "the test"):  # released again
        pass


def test_config_lock_and_token_locks_are_separate(store: Store) -> None:
    with store.locked(), store.token_lock("shop", 0.05), store.token_lock("other", 0.05):
        assert store.lock_file.exists()
        assert store.token_lock_file("shop").exists()


def test_stale_temp_files_of_killed_writers_are_removed(tmp_path: Path) -> None:
    target = tmp_path / "tokens.json"
    stale = tmp_path / ".tokens.json.dead.tmp"
    fresh = tmp_path / ".tokens.json.live.tmp"
    for leftover in (stale, fresh):
        leftover.write_bytes(b'{"access_token": "secret"')
    old = os.stat(stale).st_mtime - 3600
    os.utime(stale, (old, old))
    atomic_write(target, b"{}")
    assert not stale.exists()
    assert fresh.exists()  # a writer may still be using it


def test_a_token_file_with_a_string_time_is_a_store_error(store: Store) -> None:
    store.write_tokens("shop", TokenSet("a", "r", 1.0, refresh_issued_at=2.0))
    path = store.token_file("shop")
    data = json.loads(path.read_text())
    data["refresh_issued_at"] = "yesterday"
    path.write_text(json.dumps(data))
    with pytest.raises(StoreError) as caught:
        store.read_tokens("shop")
    assert str(path) in caught.value.message
