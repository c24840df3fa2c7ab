"""HTML pages of the emulator: consent, device verification, Allegro's error page.

Self-contained (inline CSS, no scripts, no external resources); everything reflected is escaped.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape

DECISION_PATH = "/auth/oauth/authorize/decision"
DEVICE_PAGE_PATH = "/skojarz-aplikacje"

_STYLE = """
body{font-family:system-ui,sans-serif;background:#f5f5f5;margin:0;color:#222}
main{max-width:32rem;margin:3rem auto;background:#fff;padding:2rem;border-radius:8px;
box-shadow:0 1px 4px rgba(0,0,0,.15)}
h1{font-size:1.4rem;color:#ff5a00}
.note{color:#666;font-size:.85rem}
ul{padding-left:1.2rem}
code{background:#eee;padding:0 .2rem}
button{font-size:1rem;padding:.5rem 1.2rem;margin-right:.5rem;border-radius:4px;
border:1px solid #999}
button.allow{background:#ff5a00;color:#fff;border-color:#ff5a00}
input{font-size:1.1rem;padding:.4rem;letter-spacing:.1rem}
"""


def _layout(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="pl"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><main>{body}"
        '<p class="note">Allegro emulator (allegro-conn): a local stand-in, not allegro.pl.</p>'
        "</main></body></html>\n"
    )


def _scope_list(scopes: Iterable[str]) -> str:
    items = "".join(f"<li><code>{escape(s)}</code></li>" for s in scopes)
    return f"<ul>{items}</ul>" if items else "<p>(no scopes)</p>"


def error_page(error_number: str, hint: str) -> str:
    """Allegro's dead end: no redirect back to the application (§2.1, #3441)."""
    return _layout(
        "Nie możemy wyświetlić strony",
        "<h1>Nie możemy wyświetlić strony</h1>"
        "<p>We can't display the page.</p>"
        f"<p>Numer błędu: <code>{escape(error_number)}</code></p>"
        f'<p class="note">Emulator hint: {escape(hint)}</p>',
    )


def consent_page(
    *, app_name: str, client_id: str, user_login: str, scopes: Iterable[str], request_id: str
) -> str:
    return _layout(
        "Powiąż aplikację z kontem Allegro",
        f"<h1>Aplikacja {escape(app_name)} prosi o dostęp</h1>"
        f"<p>Zalogowano jako <strong>{escape(user_login)}</strong>. "
        f"Application <code>{escape(client_id)}</code> asks for:</p>"
        f"{_scope_list(scopes)}"
        f'<form method="post" action="{DECISION_PATH}">'
        f'<input type="hidden" name="request_id" value="{escape(request_id)}">'
        '<button class="allow" type="submit" name="decision" value="allow">Pozwól / Allow</button>'
        '<button type="submit" name="decision" value="deny">Anuluj / Deny</button>'
        "</form>",
    )


def device_entry_page(code: str = "", message: str | None = None) -> str:
    error = f"<p><strong>{escape(message)}</strong></p>" if message else ""
    return _layout(
        "Skojarz aplikację",
        "<h1>Skojarz aplikację z kontem</h1>"
        f"{error}<p>Wpisz kod wyświetlony przez aplikację / enter the code the app shows:</p>"
        f'<form method="get" action="{DEVICE_PAGE_PATH}">'
        f'<input name="code" value="{escape(code)}" autocomplete="off" autofocus> '
        '<button class="allow" type="submit">Dalej / Next</button></form>',
    )


def device_confirm_page(
    *, user_code: str, app_name: str, user_login: str, scopes: Iterable[str]
) -> str:
    return _layout(
        "Skojarz aplikację",
        f"<h1>Aplikacja {escape(app_name)} prosi o dostęp</h1>"
        f"<p>Kod: <code>{escape(user_code)}</code>. Zalogowano jako "
        f"<strong>{escape(user_login)}</strong>.</p>"
        f"{_scope_list(scopes)}"
        f'<form method="post" action="{DEVICE_PAGE_PATH}">'
        f'<input type="hidden" name="code" value="{escape(user_code)}">'
        '<button class="allow" type="submit" name="decision" value="allow">Pozwól / Allow</button>'
        '<button type="submit" name="decision" value="deny">Anuluj / Deny</button>'
        "</form>",
    )


def device_done_page(*, approved: bool, app_name: str) -> str:
    if approved:
        text = f"Aplikacja {escape(app_name)} została powiązana z kontem. You can close this page."
    else:
        text = f"Odmówiono dostępu aplikacji {escape(app_name)}. Access denied."
    return _layout("Skojarz aplikację", f"<h1>Gotowe</h1><p>{text}</p>")
