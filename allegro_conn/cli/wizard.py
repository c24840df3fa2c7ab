"""Asks for whatever the flags left out, through the Prompter, and returns complete specs.

Without a terminal nothing is asked: a missing value is a usage error naming its flag.
"""

from __future__ import annotations

from typing import Any

from allegro_conn import service
from allegro_conn.cli import render
from allegro_conn.errors import UsageError
from allegro_conn.guide import registration_guide
from allegro_conn.models import DEFAULT_REDIRECT_URI, OAuthClient
from allegro_conn.prompts import Choice
from allegro_conn.runtime import Runtime
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
    existing = {n.casefold() for n in rt.store.load_clients()}
    if answer.casefold() in existing:
        return f"A client named {answer!r} already exists."
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
