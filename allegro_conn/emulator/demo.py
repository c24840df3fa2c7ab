"""What ``allegro-conn emulator`` and ``allegro-conn demo`` need: demo apps and a banner."""

from __future__ import annotations

from collections.abc import Callable

from allegro_conn.emulator.core import Emulator
from allegro_conn.emulator.state import EmulatorClient

DEFAULT_PORT = 8977
DEMO_APP_NAME = "allegro-conn demo"
DEMO_REDIRECT_URI = "http://localhost:8976/callback"
# Fake credentials, valid only against this emulator: printing them is fine.
DEMO_WEB = ("demo-web", "demo-web-secret")
DEMO_DEVICE = ("demo-device", "demo-device-secret")


def demo_clients(emu: Emulator) -> list[EmulatorClient]:
    """Register the two demo applications (browser and device) and return them."""
    return [
        emu.add_client(
            *DEMO_WEB, type="browser", redirect_uris=[DEMO_REDIRECT_URI], app_name=DEMO_APP_NAME
        ),
        emu.add_client(*DEMO_DEVICE, type="device", app_name=DEMO_APP_NAME),
    ]


def banner_lines(emu: Emulator) -> list[str]:
    """The lines ``allegro-conn emulator`` prints once the server is up."""
    user = emu.current_user
    lines = [
        f"Allegro emulator listening on {emu.url} (auth and REST host)"
        + (" - consent is auto-approved" if emu.auto_approve else ""),
        "",
        "Point allegro-conn at it:",
        f"  export ALLEGRO_CONN_AUTH_URL={emu.url}",
        f"  export ALLEGRO_CONN_API_URL={emu.url}",
        "",
        "Demo applications (fake credentials, valid only for this emulator):",
    ]
    for client in emu.clients.values():
        extra = f"  redirect_uri={client.redirect_uris[0]}" if client.redirect_uris else ""
        lines.append(
            f"  {client.client_id:<12} type={client.type:<8} secret={client.client_secret}"
            f"  app name={client.app_name!r}{extra}"
        )
    lines += [
        "",
        f"Signed-in Allegro user: {user.login} (id {user.id})",
        f"Device codes are entered at {emu.url}/skojarz-aplikacje",
        "Press Ctrl-C to stop.",
    ]
    return lines


def serve_forever(
    port: int = DEFAULT_PORT,
    auto_approve: bool = False,
    *,
    host: str = "127.0.0.1",
    emit: Callable[[str], None] = print,
) -> None:
    """Run an emulator with the demo clients until Ctrl-C; ``emit`` gets the banner lines."""
    emu = Emulator(host=host, port=port, auto_approve=auto_approve)
    demo_clients(emu)
    emu.start()
    try:
        for line in banner_lines(emu):
            emit(line)
        while emu.running:
            emu.wait(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        emu.stop()
