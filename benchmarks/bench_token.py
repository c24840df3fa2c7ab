"""How fast `allegro-conn token` answers, next to the interpreter starting and doing nothing.

    python benchmarks/bench_token.py [--rounds 30] [--list-rounds 10] [--script PATH]

Commands, run as real processes, interleaved round by round (each round runs every command
once, starting at a different one), so that a change in machine load hits all of them alike:

    python -c pass          the interpreter of the installed console script
    token (cached)          the console script with a valid cached token: the fast path
    token (refresh)         an expired token, refreshed against an in-process emulator
    list, 10k (piped)       10,000 connections, tab-separated lines
    list, 10k (terminal)    the same as a rich table on a pseudo-terminal
    list --json, 10k

It prints the median of each, and its ratio to `python -c pass` both as medians and as the
median of the per-round ratios. The goal: cached `token` at most 2.0x `python -c pass`.
Nothing is written outside a temporary directory.
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import platform
import pty
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx

from allegro_conn.emulator import Emulator
from allegro_conn.models import Account, Connection, OAuthClient, TokenSet
from allegro_conn.store import SCHEMA_VERSION, Store

GOAL = 2.0
CLIENT_ID, CLIENT_SECRET = "bench-client", "bench-secret"
REDIRECT = "http://localhost:8976/callback"
SCOPES = ["allegro:api:profile:read", "allegro:api:orders:read"]


@dataclass
class Command:
    label: str
    argv: list[str]
    env: dict[str, str]
    tty: bool = False
    before: Callable[[], None] | None = None  # untimed preparation of each run
    check: Callable[[subprocess.CompletedProcess[bytes]], None] | None = None
    rounds: int = 0
    times: list[float] = field(default_factory=list)


def console_script(explicit: str | None) -> Path:
    if explicit:
        return Path(explicit)
    beside = Path(sys.executable).with_name("allegro-conn")
    found = str(beside) if beside.exists() else shutil.which("allegro-conn")
    if not found:
        sys.exit("allegro-conn is not installed: pip install -e . (or pass --script PATH)")
    return Path(found)


def interpreter_of(script: Path) -> str:
    """The interpreter in the console script's #! line (the one `python -c pass` must use)."""
    first = script.read_bytes().split(b"\n", 1)[0]
    if first.startswith(b"#!"):
        return first[2:].decode().strip().split()[0]
    return sys.executable


# -- fixtures ------------------------------------------------------------------------------------


def client() -> OAuthClient:
    return OAuthClient("web", "sandbox", CLIENT_ID, CLIENT_SECRET, "browser", REDIRECT, "Bench")


def grant(emu: Emulator) -> TokenSet:
    """A real token pair from the emulator, through the authorization-code flow."""
    params = {"response_type": "code", "client_id": CLIENT_ID, "redirect_uri": REDIRECT}
    with httpx.Client(base_url=emu.url) as http:
        location = http.get("/auth/oauth/authorize", params=params).headers["location"]
        code = parse_qs(urlsplit(location).query)["code"][0]
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}
        body = http.post("/auth/oauth/token", data=form, auth=(CLIENT_ID, CLIENT_SECRET)).json()
    now = time.time()
    return TokenSet(
        body["access_token"], body["refresh_token"], now + body["expires_in"], "bearer",
        body["scope"], now,
    )  # fmt: skip


def one_connection(root: Path, tokens: TokenSet) -> None:
    store = Store(root)
    store.save_clients({"web": client()})
    account = Account("44213570", "demo-seller")
    store.save_connections({"shop": Connection("shop", "sandbox", "web", [], SCOPES, account)})
    store.write_tokens("shop", tokens)
    store.set_default("shop")


def many_connections(root: Path, count: int) -> None:
    """`count` connections with tokens, in the store's format (files written without fsync:
    Store.write_tokens would fsync 10,000 times just to set the benchmark up)."""
    store = Store(root)
    store.save_clients({"web": client()})
    now = time.time()
    connections = {}
    for i in range(count):
        name = f"shop-{i:05d}"
        account = Account(str(10_000_000 + i), f"seller-{i}")
        connections[name] = Connection(
            name, "sandbox", "web", [], SCOPES, account, "2027-01-01T00:00:00Z"
        )
        # JWT-sized tokens, expiring at different times
        tokens = TokenSet("A" * 900, "R" * 900, now + 60 * (i % 720), refresh_issued_at=now)
        path = store.token_file(name)
        document = {"version": SCHEMA_VERSION, **tokens.to_dict()}
        path.write_bytes(json.dumps(document, indent=2).encode() + b"\n")
        path.chmod(0o600)
    store.save_connections(connections)
    store.set_default("shop-00000")


# -- running ---------------------------------------------------------------------------------------


def run_piped(command: Command) -> tuple[float, subprocess.CompletedProcess[bytes]]:
    started = time.perf_counter()
    done = subprocess.run(command.argv, env=command.env, capture_output=True)
    return time.perf_counter() - started, done


def run_on_tty(command: Command) -> tuple[float, subprocess.CompletedProcess[bytes]]:
    """stdout on a 160x50 pseudo-terminal, drained by a thread as a terminal would."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 160, 0, 0))
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the other side is closed
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    started = time.perf_counter()
    proc = subprocess.Popen(
        command.argv, env=command.env, stdin=subprocess.DEVNULL, stdout=slave,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    os.close(slave)
    _, err = proc.communicate()
    elapsed = time.perf_counter() - started
    reader.join(5)
    os.close(master)
    output = b"".join(chunks)
    return elapsed, subprocess.CompletedProcess(command.argv, proc.returncode, output, err)


def run_once(command: Command, timed: bool) -> None:
    if command.before:
        command.before()
    elapsed, done = (run_on_tty if command.tty else run_piped)(command)
    if done.returncode != 0:
        sys.exit(f"{command.label}: exit {done.returncode}\n{done.stderr.decode()}")
    if command.check:
        command.check(done)
    if timed:
        command.times.append(elapsed)


def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {model}, {platform.system()} {platform.release()}"


def install_kind(python: str) -> tuple[str, str]:
    """(Python version, how allegro-conn is installed) for `python`."""
    probe = "import allegro_conn, platform; print(platform.python_version(), allegro_conn.__file__)"
    answer = subprocess.run(  # not from here: the checkout would shadow the installed package
        [python, "-c", probe], capture_output=True, text=True, cwd=tempfile.gettempdir()
    ).stdout
    version, where = answer.strip().split(" ", 1)
    if "site-packages" in where or "dist-packages" in where:
        return version, f"regular install ({where})"
    return version, f"editable install ({where}); its finder is imported at every start"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=30, help="timed rounds (default 30)")
    parser.add_argument(
        "--list-rounds", type=int, default=10, help="rounds that include the list commands"
    )
    parser.add_argument("--connections", type=int, default=10_000)
    parser.add_argument("--script", help="the allegro-conn console script to measure")
    args = parser.parse_args()

    script = console_script(args.script)
    python = interpreter_of(script)
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("ALLEGRO_CONN_")}
    base_env["NO_COLOR"] = "1"

    with (
        tempfile.TemporaryDirectory(prefix="bench-allegro-conn-") as tmp,
        Emulator(port=0, auto_approve=True) as emu,
    ):
        emu.add_client(CLIENT_ID, CLIENT_SECRET, redirect_uris=[REDIRECT], app_name="Bench")
        cached_dir, refresh_dir, many_dir = (Path(tmp, d) for d in ("cached", "refresh", "many"))
        cached = grant(emu)
        one_connection(cached_dir, cached)
        one_connection(refresh_dir, grant(emu))
        print(f"setting up {args.connections:,} connections...", file=sys.stderr)
        many_connections(many_dir, args.connections)

        def env(root: Path) -> dict[str, str]:
            return {
                **base_env,
                "ALLEGRO_CONN_CONFIG_DIR": str(root),
                "ALLEGRO_CONN_AUTH_URL": emu.url,
                "ALLEGRO_CONN_API_URL": emu.url,
            }

        def expire() -> None:
            store = Store(refresh_dir)
            tokens = store.read_tokens("shop")
            assert tokens is not None
            store.write_tokens("shop", replace(tokens, expires_at=time.time() - 60))

        def is_cached(done: subprocess.CompletedProcess[bytes]) -> None:
            assert done.stdout == cached.access_token.encode() + b"\n", done.stdout[:80]

        def is_refreshed(done: subprocess.CompletedProcess[bytes]) -> None:
            tokens = Store(refresh_dir).read_tokens("shop")
            assert tokens and done.stdout == tokens.access_token.encode() + b"\n"

        def lists_all(done: subprocess.CompletedProcess[bytes]) -> None:
            assert done.stdout.count(b"shop-") >= args.connections, len(done.stdout)

        app = [str(script)]
        commands = [
            Command("python -c pass", [python, "-c", "pass"], base_env, rounds=args.rounds),
            Command(
                "token NAME (cached)", [*app, "token", "shop"], env(cached_dir),
                check=is_cached, rounds=args.rounds,
            ),
            Command(
                "token NAME (refresh)", [*app, "token", "shop"], env(refresh_dir),
                before=expire, check=is_refreshed, rounds=args.rounds,
            ),
            Command(
                f"list, {args.connections:,} (piped)", [*app, "list"], env(many_dir),
                check=lists_all, rounds=args.list_rounds,
            ),
            Command(
                f"list, {args.connections:,} (terminal)", [*app, "list"], env(many_dir), tty=True,
                check=lists_all, rounds=args.list_rounds,
            ),
            Command(
                f"list --json, {args.connections:,}", [*app, "list", "--json"], env(many_dir),
                check=lists_all, rounds=args.list_rounds,
            ),
        ]  # fmt: skip

        commands = [c for c in commands if c.rounds > 0]
        for command in commands:  # warm up: compiled bytecode, page cache
            run_once(command, timed=False)
        total = max(c.rounds for c in commands)
        for round_ in range(total):
            print(f"\rround {round_ + 1}/{total}", end="", file=sys.stderr, flush=True)
            due = [c for c in commands if round_ < c.rounds]
            shift = round_ % len(due)
            for command in due[shift:] + due[:shift]:
                run_once(command, timed=True)
        print(file=sys.stderr)
        refreshes = emu.count(grant_type="refresh_token")

    report(commands, script, python, refreshes)


def report(commands: list[Command], script: Path, python: str, refreshes: int) -> None:
    base = commands[0]
    base_median = statistics.median(base.times)
    version, kind = install_kind(python)
    print(f"machine:      {machine()}")
    print(f"python:       {python} ({version})")
    print(f"allegro-conn: {script}, {kind}")
    print(f"token (refresh) sent {refreshes} refresh requests to the emulator")
    print()
    header = (
        f"{'command':<30} {'runs':>4} {'median ms':>10} {'p10-p90 ms':>17} "
        f"{'x pass':>8} {'paired':>7}"
    )
    print(header)
    print("-" * len(header))
    for command in commands:
        times = sorted(command.times)
        median = statistics.median(times)
        p10, p90 = times[len(times) // 10], times[-1 - len(times) // 10]
        paired = statistics.median(t / b for t, b in zip(command.times, base.times, strict=False))
        print(
            f"{command.label:<30} {len(times):>4} {median * 1000:>10.1f} "
            f"{p10 * 1000:>8.1f}-{p90 * 1000:<8.1f} {median / base_median:>7.2f}x {paired:>6.2f}x"
        )
    cached = commands[1]
    ratio = statistics.median(cached.times) / base_median
    verdict = "met" if ratio <= GOAL else "NOT met"
    print(f"\ngoal: cached token <= {GOAL:.1f}x python -c pass: {ratio:.2f}x, {verdict}")


if __name__ == "__main__":
    main()
