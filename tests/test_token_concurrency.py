"""`token` in real processes racing each other and being killed: one refresh however many
callers, and a token file that is always whole.

Every process is the installed console script; the emulator runs in the test process.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from allegro_conn.locks import file_lock
from allegro_conn.store import Store
from tests.helpers_tokens import (
    Allegro,
    command,
    process_env,
    run,
    running,
    seed,
    stored,
    token_document,
    token_file,
)

CALLERS = 20


@pytest.fixture
def allegro() -> Iterator[Allegro]:
    with running() as allegro:
        yield allegro


def spawn(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*command(), *args],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def has_open(pid: int, path: Path) -> bool:
    """Does process `pid` hold `path` open? (Linux /proc; False when it cannot tell.)"""
    fd_dir = Path(f"/proc/{pid}/fd")
    try:
        links = [os.readlink(fd_dir / fd) for fd in os.listdir(fd_dir)]
    except OSError:
        return False
    return str(path) in links


def wait_until(condition: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.01)


@contextmanager
def holding_token_lock(config_dir: Path, name: str = "shop") -> Iterator[Path]:
    """Hold the connection's refresh lock, as a refreshing allegro-conn would."""
    path = Store(config_dir).token_lock_file(name)
    with file_lock(str(path), 5, "test"):
        yield path


def wait_for_lock_waiters(procs: list[subprocess.Popen[str]], lock: Path) -> None:
    """Until every process waits for the lock (or, without /proc, a fixed while)."""
    if not Path("/proc/self/fd").is_dir():  # pragma: no cover - not Linux
        time.sleep(3)
        return
    for proc in procs:
        wait_until(lambda proc=proc: has_open(proc.pid, lock) or proc.poll() is not None)
    assert all(proc.poll() is None for proc in procs), "a process ended before the lock"


def test_twenty_processes_on_an_expired_token_refresh_once(
    config_dir: Path, allegro: Allegro
) -> None:
    old = seed(config_dir, allegro, expires_at=time.time() - 60)
    env = process_env(allegro.env)

    # all of them read the expired token and queue for the refresh lock before anyone refreshes
    with holding_token_lock(config_dir) as lock:
        procs = [spawn("token", "shop", env=env) for _ in range(CALLERS)]
        wait_for_lock_waiters(procs, lock)
    outcomes = [proc.communicate(timeout=60) for proc in procs]

    assert [proc.returncode for proc in procs] == [0] * CALLERS, outcomes
    assert [err for _, err in outcomes] == [""] * CALLERS
    printed = {out for out, _ in outcomes}
    assert len(printed) == 1
    token = printed.pop().removesuffix("\n")
    assert token != old.access_token
    assert allegro.refreshes() == 1
    assert allegro.api_status(token) == 200
    assert stored(config_dir).access_token == token


def test_processes_started_together_without_a_gate_refresh_once(
    config_dir: Path, allegro: Allegro
) -> None:
    # the natural race: some find the token already refreshed before they reach the lock
    seed(config_dir, allegro, expires_at=time.time() - 60)
    env = process_env(allegro.env)

    procs = [spawn("token", "shop", "--min-ttl", "60", env=env) for _ in range(6)]
    outcomes = [proc.communicate(timeout=60) for proc in procs]

    assert [proc.returncode for proc in procs] == [0] * len(procs), outcomes
    assert len({out for out, _ in outcomes}) == 1
    assert allegro.refreshes() == 1
    assert allegro.api_status(outcomes[0][0].strip()) == 200


# -- killed -------------------------------------------------------------------------------------


def test_killed_while_waiting_to_refresh_leaves_the_file_and_the_next_call_works(
    config_dir: Path, allegro: Allegro
) -> None:
    seed(config_dir, allegro, expires_at=time.time() - 60)
    before = token_file(config_dir).read_bytes()
    env = process_env(allegro.env)

    with holding_token_lock(config_dir) as lock:
        proc = spawn("token", "shop", env=env)
        wait_for_lock_waiters([proc], lock)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=10)

    assert token_file(config_dir).read_bytes() == before
    assert allegro.refreshes() == 0
    after = run("token", "shop", env=env)
    assert after.returncode == 0, after.stderr
    assert allegro.refreshes() == 1
    assert allegro.api_status(after.stdout.strip()) == 200


class StallingProxy:
    """Passes token requests on to the emulator, then never answers: the refresh happened on
    Allegro's side and its answer is lost when the client dies."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.forwarded = threading.Event()
        self.release = threading.Event()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {
                    "Authorization": self.headers["Authorization"],
                    "Content-Type": self.headers["Content-Type"],
                }
                httpx.post(proxy.target + self.path, content=body, headers=headers)
                proxy.forwarded.set()
                proxy.release.wait(30)
                self.send_error(502)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> StallingProxy:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.parametrize(
    ("grace", "expected"),
    [
        (60.0, 0),  # Allegro accepts the old refresh token 60 s after its first use (§3)
        (0.0, 4),  # later it does not: consent is needed again, and the message says how
    ],
)
def test_killed_after_allegro_refreshed_leaves_the_old_pair_and_the_next_call_behaves(
    config_dir: Path, grace: float, expected: int
) -> None:
    with running(refresh_grace=grace) as allegro, StallingProxy(allegro.url) as proxy:
        old = seed(config_dir, allegro, expires_at=time.time() - 60)
        env = process_env(allegro.env, ALLEGRO_CONN_AUTH_URL=proxy.url)

        proc = spawn("token", "shop", env=env)
        assert proxy.forwarded.wait(30), proc.communicate(timeout=30)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=10)

        assert allegro.refreshes() == 1  # Allegro rotated the pair; the answer was lost
        document = token_document(config_dir)  # the old pair, whole, marked as in doubt
        assert document["access_token"] == old.access_token
        assert document["refresh_token"] == old.refresh_token
        assert document["refresh_started_at"] is not None
        assert allegro.api_status(old.access_token) == 401

        after = run("token", "shop", env=process_env(allegro.env))
        listed = run("list", env=process_env(allegro.env))

    assert after.returncode == expected, after.stderr
    assert listed.returncode == 0
    assert listed.stdout.startswith("shop\t")
    if expected == 0:
        assert after.stderr == ""
        assert after.stdout.strip() == stored(config_dir).access_token
    else:
        assert after.stdout == ""
        assert "allegro-conn reauth shop" in after.stderr
        assert "needs reauth" in listed.stdout


def test_a_valid_token_whose_refresh_died_is_not_served_as_it_is(config_dir: Path) -> None:
    # the token still looks valid by its time, but the killed refresher's request reached
    # Allegro, which rotated the pair and killed it: a plain `token` must not print it
    with running() as allegro, StallingProxy(allegro.url) as proxy:
        old = seed(config_dir, allegro)
        env = process_env(allegro.env, ALLEGRO_CONN_AUTH_URL=proxy.url)
        proc = spawn("token", "shop", "--force-refresh", env=env)
        assert proxy.forwarded.wait(30), proc.communicate(timeout=30)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=10)
        assert allegro.api_status(old.access_token) == 401

        after = run("token", "shop", env=process_env(allegro.env))

        assert after.returncode == 0, after.stderr
        assert after.stdout.strip() != old.access_token
        assert allegro.api_status(after.stdout.strip()) == 200
        assert allegro.refreshes() == 2
        assert "refresh_started_at" not in token_document(config_dir) or (
            token_document(config_dir)["refresh_started_at"] is None
        )


def test_killed_at_random_points_the_token_file_always_parses(
    config_dir: Path, allegro: Allegro
) -> None:
    seed(config_dir, allegro)
    env = process_env(allegro.env)
    started = time.monotonic()
    full = run("token", "shop", "--force-refresh", env=env)
    took = time.monotonic() - started
    assert full.returncode == 0, full.stderr
    rng = random.Random(4)

    for _ in range(6):
        proc = spawn("token", "shop", "--force-refresh", env=env)
        time.sleep(rng.uniform(0.5, 1.1) * took)  # mostly while refreshing and saving
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=10)
        document = token_document(config_dir)  # one whole JSON document every time
        assert set(document) >= {"version", "access_token", "refresh_token", "expires_at"}
        assert stored(config_dir).refresh_token

    # A kill after Allegro rotated the pair leaves an access token Allegro has killed; the
    # mark set before the request tells the next call to refresh (within the 60 s grace).
    after = run("token", "shop", env=env)
    assert after.returncode == 0, after.stderr
    assert allegro.api_status(after.stdout.strip()) == 200
