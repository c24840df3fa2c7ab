"""The short guide to registering an application in Allegro's developer portal."""

from __future__ import annotations

from allegro_conn.models import APPS_PORTALS


def registration_guide(environment: str, kind: str, redirect_uri: str | None) -> list[str]:
    portal = APPS_PORTALS[environment]
    lines = [
        f"Register the application in Allegro's {environment} developer portal:",
        f"  1. Open {portal} and sign in"
        + (
            " (production needs two-step login, 2FA, on the account)."
            if environment == "production"
            else "."
        ),
        f"  2. Click 'Dodaj nową aplikację' ({portal}new) and give it a name (unique on Allegro).",
    ]
    if kind == "browser":
        lines += [
            "  3. Type: 'Aplikacja będzie posiadać dostęp do przeglądarki' (browser / code flow).",
            f"  4. Redirect URI: paste exactly {redirect_uri}",
        ]
    else:
        lines += [
            "  3. Type: 'Aplikacja działa bez przeglądarki' (device flow; cannot change later).",
            "  4. No redirect URI is needed.",
        ]
    lines += [
        "  5. Tick the scopes you need, accept the terms, save.",
        "  6. The app's page then shows its 'Client ID' and 'Client Secret': allegro-conn needs",
        "     both, and the app's name exactly as registered (it goes into the User-Agent).",
    ]
    return lines
