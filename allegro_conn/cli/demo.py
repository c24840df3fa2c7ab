"""`emulator` (a local Allegro) and `demo` (the whole path against it, no account needed)."""

from __future__ import annotations

import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
from typing import Annotated

import typer

from allegro_conn.cli import render
from allegro_conn.errors import Failure
from allegro_conn.runtime import ENV_API_URL, ENV_AUTH_URL, Runtime

DEMO_CLIENT_ID = "demo-cli"
DEMO_SECRET = "demo-cli-secret"  # fake, valid only against the throw-away emulator
DEMO_APP = "allegro-conn demo"


def emulator(
    ctx: typer.Context,
    port: Annotated[
        int, typer.Option("--port", min=0, max=65535, help="Port (0: any free).")
    ] = 8977,
    auto_approve: Annotated[
        bool, typer.Option("--auto-approve", help="Approve every consent without a page.")
    ] = False,
) -> None:
    """Run a local stand-in for Allegro's OAuth and REST hosts until Ctrl-C.

    Example: allegro-conn emulator --port 8977, then in another terminal the printed exports.
    """
    from allegro_conn.emulator import serve_forever

    rt: Runtime = ctx.obj

    def emit(line: str) -> None:
        print(line, file=rt.out, flush=True)

    try:
        serve_forever(port, auto_approve, emit=emit)
    except OSError as exc:
        raise Failure(
            f"Cannot start the emulator on 127.0.0.1:{port}: {exc.strerror}.",
            "Pick another port with --port N (0 picks a free one).",
        ) from None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def demo(ctx: typer.Context) -> None:
    """Try everything without an Allegro account: a built-in emulator, a throw-away config.

    Runs client add, create (browser flow, with a built-in browser), test, token and api.

    Example: allegro-conn demo
    """
    from allegro_conn.emulator import Emulator

    rt: Runtime = ctx.obj
    config = tempfile.mkdtemp(prefix="allegro-conn-demo-")
    redirect = f"http://localhost:{_free_port()}/callback"
    try:
        with Emulator(port=0, auto_approve=True) as emu:
            emu.add_client(
                DEMO_CLIENT_ID,
                DEMO_SECRET,
                type="browser",
                redirect_uris=[redirect],
                app_name=DEMO_APP,
            )
            env = {k: v for k, v in os.environ.items() if not k.startswith("ALLEGRO_CONN_")}
            # the emulator and the redirect are on this machine: never through a proxy
            for var in ("NO_PROXY", "no_proxy"):
                env[var] = ",".join(filter(None, (env.get(var), "127.0.0.1,localhost,::1")))
            env.update(
                {
                    "ALLEGRO_CONN_CONFIG_DIR": config,
                    ENV_AUTH_URL: emu.url,
                    ENV_API_URL: emu.url,
                    "BROWSER": f"{shlex.quote(sys.executable)} -m allegro_conn.emulator.browser %s",
                }
            )
            render.info(rt, f"Demo: an Allegro emulator on {emu.url}, config in {config}")
            steps = [
                (
                    "Register the OAuth client (the secret comes on stdin, never in argv)",
                    [
                        "client",
                        "add",
                        "demo",
                        "--env",
                        "sandbox",
                        "--client-id",
                        DEMO_CLIENT_ID,
                        "--client-secret-stdin",
                        "--type",
                        "browser",
                        "--redirect-uri",
                        redirect,
                        "--app-name",
                        DEMO_APP,
                    ],
                    DEMO_SECRET + "\n",
                ),
                (
                    "Connect: consent in the (built-in) browser, the redirect caught on localhost",
                    ["create", "shop", "--client", "demo", "--all-scopes", "--timeout", "30"],
                    "",
                ),
                ("Prove it works: GET /me with the right headers", ["test", "shop"], ""),
                ("A valid access token for scripts", ["token", "shop"], ""),
                (
                    "An authenticated REST call",
                    ["api", "/sale/offers", "--conn", "shop", "-q", "limit=2"],
                    "",
                ),
            ]
            for title, args, stdin in steps:
                _step(rt, env, title, args, stdin)
    finally:
        shutil.rmtree(config, ignore_errors=True)
    render.info(rt, "\nDemo finished: every step worked. Now connect a real account:")
    render.info(rt, "  allegro-conn client add   # then: allegro-conn create")


def _step(rt: Runtime, env: dict[str, str], title: str, args: list[str], stdin: str) -> None:
    render.info(rt, f"\n== {title}\n$ allegro-conn {shlex.join(args)}")
    proc = subprocess.run(
        [sys.executable, "-m", "allegro_conn", *args],
        input=stdin,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if proc.stderr:
        rt.err.write(proc.stderr)
    out = proc.stdout
    if args[0] == "token":
        out = out.strip()[:24] + "... (shortened here)\n"
    rt.err.write(out)
    rt.err.flush()
    if proc.returncode != 0:
        raise Failure(f"Demo step 'allegro-conn {args[0]}' failed (exit {proc.returncode}).")


def register(app: typer.Typer) -> None:
    app.command("emulator")(emulator)
    app.command("demo")(demo)
