"""Asks for whatever the flags left out, through the Prompter, and returns complete specs.

Without a terminal nothing is asked: a missing value is a usage error naming its flag.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from allegro_conn import service
from allegro_conn.cli import render
from allegro_conn.errors import Cancelled, UsageError
from allegro_conn.guide import registration_guide
from allegro_conn.models import DEFAULT_REDIRECT_URI, OAuthClient
from allegro_conn.prompts import Choice
from allegro_conn.runtime import Runtime
from allegro_conn.scopes import SCOPES, check_scopes
from allegro_conn.validate import (
    check_client_type,
    check_environment,
    check_redirect_uri,
    name_problem,
    redirect_uri_problem,
)

SECRET_ENV = "ALLEGRO_CONN_CLIENT_SECRET"

ENV_CHOICES = [
    Choice("Production  (https://allegro.pl/)", "production"),
    Choice("Sandbox     (https://allegro.pl.allegrosandbox.pl/)", "sandbox"),
]
TYPE_CHOICES = [
    Choice("browser: the user signs in in a web browser (code flow)", "browser"),
    Choice("device:  no browser here; the user types a code on another device", "device"),
]


def missing(what: str, flag: str) -> UsageError:
    return UsageError(
        f"Missing {what}.", f"Pass {flag} (stdin is not a terminal, so none is asked)."
    )


def read_secret(rt: Runtime, from_stdin: bool, ask: bool) -> str:
    """The client secret: one line of stdin, the environment, or a hidden prompt."""
    if from_stdin:
        secret = rt.inp.readline().rstrip("\r\n")
        if not secret:
            raise UsageError(
                "--client-secret-stdin read an empty line.",
                "Pipe the secret in, e.g. printf '%s\\n' \"$SECRET\" | allegro-conn client add ...",
            )
        return secret
    from_env = rt.env.get(SECRET_ENV, "")
    if from_env:
        return from_env
    if ask and rt.interactive:
        return rt.ask().secret("Client secret (hidden):")
    raise missing("client secret", f"--client-secret-stdin or set {SECRET_ENV}")


def _new_client_name_problem(rt: Runtime, answer: str) -> str | None:
    problem = name_problem(answer, "client")
    if problem:
        return problem
    for existing in rt.store.load_clients():
        if existing.casefold() == answer.casefold():
            return f"A client named {existing!r} already exists."
    return None


def ask_client(
    rt: Runtime,
    *,
    name: str | None,
    environment: str | None,
    client_id: str | None,
    secret_stdin: bool,
    kind: str | None,
    redirect_uri: str | None,
    app_name: str | None,
) -> service.ClientSpec:
    """Everything `client add` needs, asking for what is missing when we may."""
    # flags first, so that a bad one fails before any question
    environment = check_environment(environment) if environment else None
    kind = check_client_type(kind) if kind else None
    redirect_uri = check_redirect_uri(redirect_uri) if redirect_uri else None
    if name is not None:
        problem = _new_client_name_problem(rt, name)
        if problem:
            raise UsageError(problem, "Pick another name, or change it with 'client edit'.")
    asking = rt.interactive
    if name is None:
        if not asking:
            raise missing("client name", "NAME (e.g. allegro-conn client add shopapp)")
        name = rt.ask().text(
            "Client name (local):", validate=lambda a: _new_client_name_problem(rt, a)
        )
    if environment is None:
        if not asking:
            raise missing("environment", "--env production|sandbox")
        environment = rt.ask().select("Environment:", ENV_CHOICES)
    if kind is None:
        kind = (
            rt.ask().select("Application type:", TYPE_CHOICES, "browser") if asking else "browser"
        )
    if kind == "browser" and redirect_uri is None:
        redirect_uri = DEFAULT_REDIRECT_URI
        if asking:
            redirect_uri = rt.ask().text(
                "Redirect URI:", default=DEFAULT_REDIRECT_URI, validate=redirect_uri_problem
            )
    if asking:
        for line in registration_guide(environment, kind, redirect_uri):
            render.info(rt, line)
    if app_name is None and asking:
        app_name = rt.ask().text("Application name as registered on Allegro:", default=name)
    if client_id is None:
        if not asking:
            raise missing("client id", "--client-id")
        client_id = rt.ask().text(
            "Client ID:", validate=lambda a: None if a.strip() else "Paste the Client ID."
        )
    secret = read_secret(rt, secret_stdin, ask=True)
    return service.ClientSpec(
        name=name,
        environment=environment,
        client_id=client_id,
        client_secret=secret,
        type=kind,
        redirect_uri=redirect_uri if kind == "browser" else None,
        app_name=app_name or name,
    )


def ask_client_changes(rt: Runtime, current: OAuthClient) -> dict[str, Any]:
    """Interactive `client edit`: every field with its current value as the default."""
    ask = rt.ask()
    kind = ask.select("Application type:", TYPE_CHOICES, current.type)
    redirect = None
    if kind == "browser":
        redirect = ask.text(
            "Redirect URI:",
            default=current.redirect_uri or DEFAULT_REDIRECT_URI,
            validate=redirect_uri_problem,
        )
    app_name = ask.text("Application name as registered on Allegro:", default=current.app_name)
    client_id = ask.text("Client ID:", default=current.client_id)
    secret = ask.secret("Client secret (hidden; empty keeps the current one):")
    return {
        "type": kind,
        "redirect_uri": redirect,
        "app_name": app_name,
        "client_id": client_id,
        "client_secret": secret or None,
    }


# -- create: the connection form -------------------------------------------------------------

ADD_CLIENT = "__add_client__"
EDIT_CLIENT = "__edit_client__"
ALL_SCOPES_CHOICE = "all"
PICK_SCOPES_CHOICE = "pick"


@dataclass
class ConnectionAnswers:
    name: str
    client: OAuthClient
    scopes: list[str]  # empty: all scopes the app declares


def _new_connection_name_problem(rt: Runtime, answer: str) -> str | None:
    problem = name_problem(answer)
    if problem:
        return problem
    for existing in rt.store.load_connections():
        if existing.casefold() == answer.casefold():
            return f"A connection named {existing!r} already exists."
    return None


def _pick_client(rt: Runtime, environment: str) -> OAuthClient:
    """The OAuth client: an existing one, '+' a new one, or 'edit' one, as often as needed."""
    ask = rt.ask()
    while True:
        clients = [c for _, c in sorted(rt.store.load_clients().items())]
        here = [c for c in clients if c.environment == environment]
        choices = [Choice(f"{c.name}  ({c.type}, client id {c.client_id})", c.name) for c in here]
        choices.append(Choice("+ Add a new OAuth client", ADD_CLIENT))
        if here:
            choices.append(Choice("✎ Edit a client", EDIT_CLIENT))
        picked = ask.select("OAuth client:", choices, here[0].name if here else ADD_CLIENT)
        if picked == ADD_CLIENT:
            spec = ask_client(
                rt,
                name=None,
                environment=environment,
                client_id=None,
                secret_stdin=False,
                kind=None,
                redirect_uri=None,
                app_name=None,
            )
            added = service.add_client(rt.store, spec)
            render.info(
                rt, f"Added OAuth client {added.name!r} ({added.environment}, {added.type})."
            )
            return added
        if picked == EDIT_CLIENT:
            name = ask.select("Client to edit:", [Choice(c.name, c.name) for c in here])
            current = service.get_client(rt.store, name)
            service.edit_client(rt.store, name, ask_client_changes(rt, current))
            render.info(rt, f"Updated OAuth client {name!r}.")
            continue
        return service.get_client(rt.store, picked)


def scope_choices() -> list[Choice]:
    """Every scope, grouped under headings, with its description."""
    choices: list[Choice] = []
    group = None
    for scope in SCOPES:
        if scope.group != group:
            group = scope.group
            choices.append(Choice(f"── {group} ──", None, separator=True))
        choices.append(Choice(scope.name, scope.name, description=scope.description))
    return choices


def _pick_scopes(rt: Runtime) -> list[str]:
    ask = rt.ask()
    how = ask.select(
        "Scopes:",
        [
            Choice("» Add all scopes (everything the app declares)", ALL_SCOPES_CHOICE),
            Choice("> Choose scopes", PICK_SCOPES_CHOICE),
        ],
        ALL_SCOPES_CHOICE,
    )
    if how == ALL_SCOPES_CHOICE:
        return []
    picked: list[str] = ask.checkbox(
        "Choose scopes (space toggles, enter confirms):", scope_choices()
    )
    return picked


def ask_connection(
    rt: Runtime,
    *,
    name: str | None,
    environment: str | None,
    client_name: str | None,
    scopes: list[str] | None,
    all_scopes: bool,
) -> ConnectionAnswers:
    """Name, environment, OAuth client and scopes: flags first, questions for the rest."""
    environment = check_environment(environment) if environment else None
    if name is not None:
        service.check_new_connection_name(rt.store, name)
    checked_scopes = check_scopes(scopes or [])
    if all_scopes and checked_scopes:
        raise UsageError("--scope and --all-scopes exclude each other.", "Pass one of them.")
    client = service.get_client(rt.store, client_name) if client_name else None
    if client is not None:
        if environment is not None and environment != client.environment:
            raise UsageError(
                f"Client {client.name!r} belongs to {client.environment}, not {environment}.",
                "Pick a client of that environment, or drop --env.",
            )
        environment = client.environment
    asking = rt.interactive
    if name is None:
        if not asking:
            raise missing("connection name", "NAME (e.g. allegro-conn create shop ...)")
        name = rt.ask().text(
            "Connection name:", validate=lambda a: _new_connection_name_problem(rt, a)
        )
    if environment is None:
        if not asking:
            raise missing("environment", "--env production|sandbox (or --client)")
        environment = rt.ask().select("Environment:", ENV_CHOICES)
    if client is None:
        if not asking:
            raise missing("OAuth client", "--client NAME (see 'allegro-conn client list')")
        client = _pick_client(rt, environment)
    if not checked_scopes and not all_scopes:
        if not asking:
            raise missing("scopes", "--scope SCOPE (repeatable) or --all-scopes")
        checked_scopes = _pick_scopes(rt)
    return ConnectionAnswers(name=name, client=client, scopes=checked_scopes)


def confirm_summary(rt: Runtime, answers: ConnectionAnswers, flow: str) -> None:
    """On a terminal: show what will happen and ask before opening anything."""
    scopes = " ".join(answers.scopes) if answers.scopes else "all the app declares"
    for line in (
        f"  name:        {answers.name}",
        f"  environment: {answers.client.environment}",
        f"  client:      {answers.client.name} ({answers.client.client_id})",
        f"  scopes:      {scopes}",
        f"  flow:        {flow}",
    ):
        render.info(rt, line)
    if not rt.ask().confirm("Authorize this connection now?", True):
        # an OAuth client added on the way is kept: 'client delete' removes it
        raise Cancelled("No connection was saved.")
