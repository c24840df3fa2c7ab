"""Real processes racing on one config directory, and writers killed mid-write."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from allegro_conn.errors import StoreError
from allegro_conn.store import Store
from tests.conftest import allegro_conn_cmd

PYTHON = sys.executable
ROOT = str(Path(__file__).resolve().parent.parent)


def start_python(code: str, *args: str) -> subprocess.Popen[str]:
    """A child Python running `code`; it reads one line of stdin first (the start signal)."""
    return subprocess.Popen(
        [PYTHON, "-c", textwrap.dedent(code), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


def go(procs: list[subprocess.Popen[str]], line: str = "go\n") -> None:
    """Release every waiting child at (nearly) the same moment."""
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write(line)
        proc.stdin.flush()


def finish(proc: subprocess.Popen[str], timeout: float = 60) -> tuple[int, str, str]:
    stdout, stderr = proc.communicate(timeout=timeout)
    return proc.returncode, stdout, stderr


def test_ten_processes_adding_ten_clients_at_once_store_all_ten(config_dir: Path) -> None:
    env = dict(os.environ, ALLEGRO_CONN_CONFIG_DIR=str(config_dir))
    procs = [
        subprocess.Popen(
            [
                *allegro_conn_cmd(),
                "client",
                "add",
                f"app{i}",
                "--env",
                "sandbox",
                "--client-id",
                f"id{i}",
                "--client-secret-stdin",
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for i in range(10)
    ]
    # each one blocks reading its secret, so they all race for the lock once released
    for i, proc in enumerate(procs):
        assert proc.stdin is not None
        proc.stdin.write(f"secret{i}\n")
        proc.stdin.flush()
    results = [finish(proc) for proc in procs]
    assert [code for code, _, _ in results] == [0] * 10, [err for _, _, err in results]
    clients = Store(config_dir).load_clients()
    assert sorted(clients) == sorted(f"app{i}" for i in range(10))
    assert {c.client_secret for c in clients.values()} == {f"secret{i}" for i in range(10)}


RMW_CHILD = """
    import sys
    from allegro_conn.models import Connection
    from allegro_conn.store import Store

    store, me, count = Store(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    sys.stdin.readline()
    for i in range(count):
        with store.locked():
            conns = store.load_connections()
            conns[f"{me}-{i}"] = Connection(f"{me}-{i}", "sandbox", "c")
            store.save_connections(conns)
"""


def test_concurrent_read_modify_write_loses_nothing_and_readers_see_whole_files(
    config_dir: Path,
) -> None:
    writers, per_writer = 4, 25
    procs = [
        start_python(RMW_CHILD, str(config_dir), f"w{n}", str(per_writer)) for n in range(writers)
    ]
    go(procs)
    store = Store(config_dir)
    reads = 0
    while any(proc.poll() is None for proc in procs):
        try:
            store.load_connections()  # readers take no lock: they must never see half a file
        except StoreError as exc:  # pragma: no cover - the failure being tested for
            raise AssertionError(f"a reader saw a broken file: {exc.message}") from None
        reads += 1
    results = [finish(proc) for proc in procs]
    assert [code for code, _, _ in results] == [0] * writers, [err for _, _, err in results]
    names = set(store.load_connections())
    assert len(names) == writers * per_writer
    assert names == {f"w{n}-{i}" for n in range(writers) for i in range(per_writer)}
    assert reads > 0


KILLED_CHILD = """
    import json, sys
    from pathlib import Path
    from allegro_conn.store import atomic_write

    SIZE = int(sys.argv[2])
    payloads = [
        json.dumps({"n": n, "fill": chr(97 + n) * SIZE}).encode() for n in range(4)
    ]
    target = Path(sys.argv[1])
    sys.stdin.readline()
    print("writing", flush=True)
    n = 0
    while True:
        atomic_write(target, payloads[n % 4])
        n += 1
"""


def test_a_writer_killed_mid_write_leaves_a_whole_file(tmp_path: Path) -> None:
    size = 1_000_000
    target = tmp_path / "clients.json"
    target.write_text(json.dumps({"n": 0, "fill": "a" * size}))
    rng = random.Random(1234)
    kills = mid_write = 0
    while mid_write < 3 and kills < 25:
        before = set(tmp_path.iterdir())
        proc = start_python(KILLED_CHILD, str(target), str(size))
        go([proc])
        assert proc.stdout is not None
        assert proc.stdout.readline() == "writing\n"
        time.sleep(rng.uniform(0.0, 0.08))
        proc.send_signal(signal.SIGKILL)
        finish(proc)
        assert proc.returncode == -signal.SIGKILL
        kills += 1
        data = json.loads(target.read_bytes())
        assert set(data) == {"n", "fill"}
        assert data["fill"] == chr(97 + data["n"]) * size
        mid_write += bool(set(tmp_path.iterdir()) - before)  # a temp file was being written
    assert mid_write >= 1, "no kill landed in the middle of a write"
    leftovers = [p.name for p in tmp_path.iterdir() if p != target]
    assert all(name.startswith(".clients.json.") for name in leftovers), leftovers


def test_a_killed_writer_does_not_keep_the_lock(config_dir: Path) -> None:
    holder = start_python(
        """
        import sys, time
        from allegro_conn.store import Store
        sys.stdin.readline()
        with Store(sys.argv[1]).locked():
            print("locked", flush=True)
            time.sleep(60)
        """,
        str(config_dir),
    )
    go([holder])
    assert holder.stdout is not None
    assert holder.stdout.readline() == "locked\n"
    holder.send_signal(signal.SIGKILL)
    finish(holder)
    started = time.monotonic()
    with Store(config_dir).locked():
        pass
    assert time.monotonic() - started < 2
