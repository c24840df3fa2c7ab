"""Options and arguments shared by several commands, with shell completion."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING, Annotated

import typer

from allegro_conn.models import CLIENT_TYPES, ENVIRONMENTS, FLOWS

if TYPE_CHECKING:
    from allegro_conn.store import Store


def _store_from(ctx: typer.Context) -> Store:
    """The store of the config dir the command line names (--config-dir, else the env)."""
    from allegro_conn import paths
    from allegro_conn.store import Store

    root = ctx.find_root()
    override = root.params.get("config_dir") if root.params else None
    return Store(paths.config_dir(override, os.environ))


def _matching(names: Iterable[str], incomplete: str, given: Iterable[str] = ()) -> list[str]:
    """Names starting with `incomplete` (typer keeps only those anyway), minus the ones
    already on the command line (compared ignoring case, as names are unique that way)."""
    skip = {g.casefold() for g in given}
    return [n for n in sorted(names) if n.startswith(incomplete) and n.casefold() not in skip]


def complete_connection(ctx: typer.Context, incomplete: str) -> list[str]:
    try:
        names = list(_store_from(ctx).load_connections())
    except Exception:  # completion must never fail loudly
        return []
    given = ctx.params.get("names") or ()  # `test a b`: offer the others
    return _matching(names, incomplete, given)


def complete_client(ctx: typer.Context, incomplete: str) -> list[str]:
    try:
        names = list(_store_from(ctx).load_clients())
    except Exception:  # completion must never fail loudly
        return []
    return _matching(names, incomplete)


def complete_scope(incomplete: str) -> list[tuple[str, str]]:
    from allegro_conn.scopes import SCOPES

    return [(s.name, s.description) for s in SCOPES if s.name.startswith(incomplete)]


def glue_colons(words: list[str], cword: int) -> tuple[list[str], str, str]:
    """Undo bash's word splitting at ':' (it is in COMP_WORDBREAKS), which cuts scope names
    such as allegro:api:sale:offers:read into pieces.

    Returns (words before the current one, the whole current word, the part of it before
    what bash takes as the current word: bash replaces only that last part).
    """
    merged: list[str] = []
    current_at = len(words) if cword >= len(words) else -1
    for i, word in enumerate(words[: cword + 1]):
        if len(merged) > 1 and (word == ":" or words[i - 1] == ":"):
            merged[-1] += word
        else:
            merged.append(word)
        if i == cword:
            current_at = len(merged) - 1
    if current_at >= len(merged):  # the cursor starts a new word
        return merged, "", ""
    whole = merged[current_at]
    return merged[:current_at], whole, whole[: len(whole) - len(words[cword])]


def use_completion_classes() -> None:
    """Install our bash completion class (typer's, with glue_colons) before completing."""
    from typer._click.shell_completion import CompletionItem, add_completion_class
    from typer._click.shell_completion import split_arg_string as split
    from typer._completion_classes import BashComplete

    class ColonSafeBashComplete(BashComplete):
        prefix = ""

        def get_completion_args(self) -> tuple[list[str], str]:
            words = split(os.environ.get("COMP_WORDS", ""))
            cword = int(os.environ.get("COMP_CWORD", "0") or 0)
            before, incomplete, self.prefix = glue_colons(words, cword)
            return before[1:], incomplete

        def format_completion(self, item: CompletionItem) -> str:
            value = str(item.value)
            if self.prefix and value.startswith(self.prefix):
                value = value[len(self.prefix) :]
            return value

    add_completion_class(ColonSafeBashComplete, "bash")


def _fixed(values: tuple[str, ...]):  # type: ignore[no-untyped-def]
    def complete(incomplete: str) -> list[str]:
        return [v for v in values if v.startswith(incomplete)]

    return complete


Json = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
Env = Annotated[
    str | None,
    typer.Option(
        "--env",
        metavar="ENV",
        help="production or sandbox.",
        autocompletion=_fixed(ENVIRONMENTS),
    ),
]
ClientId = Annotated[
    str | None, typer.Option("--client-id", metavar="ID", help="The app's Client ID.")
]
SecretStdin = Annotated[
    bool,
    typer.Option(
        "--client-secret-stdin",
        help="Read the client secret from one line of stdin (or set ALLEGRO_CONN_CLIENT_SECRET).",
    ),
]
ClientType = Annotated[
    str | None,
    typer.Option(
        "--type",
        metavar="browser|device",
        help="Allegro app type: browser (code flow) or device (no browser).",
        autocompletion=_fixed(CLIENT_TYPES),
    ),
]
RedirectUri = Annotated[
    str | None,
    typer.Option(
        "--redirect-uri",
        metavar="URI",
        help="http://localhost:PORT/PATH, exactly as registered (default "
        "http://localhost:8976/callback).",
    ),
]
AppName = Annotated[
    str | None,
    typer.Option(
        "--app-name",
        metavar="NAME",
        help="The app's name as registered on Allegro (used in the User-Agent).",
    ),
]
ClientName = Annotated[
    str,
    typer.Argument(metavar="NAME", help="The client's local name.", autocompletion=complete_client),
]
ConnName = Annotated[
    str,
    typer.Argument(
        metavar="NAME", help="The connection's name.", autocompletion=complete_connection
    ),
]
OptConnName = Annotated[
    str | None,
    typer.Argument(
        metavar="NAME",
        help="The connection's name (default: the default connection).",
        autocompletion=complete_connection,
    ),
]
Scope = Annotated[
    list[str] | None,
    typer.Option(
        "--scope",
        metavar="SCOPE",
        help="A scope to request (repeatable); see 'allegro-conn scopes'.",
        autocompletion=complete_scope,
    ),
]
AllScopes = Annotated[bool, typer.Option("--all-scopes", help="Request every scope.")]
Flow = Annotated[
    str | None,
    typer.Option(
        "--flow",
        metavar="browser|device|paste",
        help="How to authorize (default: browser, or device for device-type clients).",
        autocompletion=_fixed(FLOWS),
    ),
]
NoBrowser = Annotated[
    bool, typer.Option("--no-browser", help="Print the URL instead of opening a browser.")
]
Timeout = Annotated[
    float,
    typer.Option("--timeout", metavar="SECONDS", help="How long to wait for consent.", min=1),
]
OptNewName = Annotated[
    str | None,
    typer.Argument(metavar="NAME", help="A name for the new connection (asked when missing)."),
]
ClientOpt = Annotated[
    str | None,
    typer.Option(
        "--client",
        metavar="CLIENT",
        help="The OAuth client to use (see 'allegro-conn client list').",
        autocompletion=complete_client,
    ),
]
MinTtl = Annotated[
    float,
    typer.Option(
        "--min-ttl",
        metavar="SECONDS",
        min=0,
        help="The token stays valid at least this long (refreshed first when it would not).",
    ),
]
