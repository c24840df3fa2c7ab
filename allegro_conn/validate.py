"""Checks on what users type: names, environments, redirect URIs, URLs."""

from __future__ import annotations

import ipaddress
import unicodedata
from urllib.parse import urlsplit

from allegro_conn.errors import UsageError
from allegro_conn.models import CLIENT_TYPES, ENVIRONMENTS

MAX_NAME = 64


def name_problem(name: str, what: str = "connection") -> str | None:
    """Why `name` cannot name a connection or client, or None when it can."""
    if not name:
        return f"A {what} name cannot be empty."
    if len(name) > MAX_NAME:
        return f"A {what} name has at most {MAX_NAME} characters ({len(name)} given)."
    if "/" in name:
        return f"A {what} name cannot contain '/'."
    if any(unicodedata.category(ch) == "Cc" for ch in name):  # C0, DEL and C1
        return f"A {what} name cannot contain control characters."
    if name != name.strip():
        return f"A {what} name cannot start or end with spaces."
    return None


def check_name(name: str, what: str = "connection") -> str:
    problem = name_problem(name, what)
    if problem:
        raise UsageError(problem, "Use 1 to 64 characters without '/' or control characters.")
    return name


def check_no_controls(value: str, what: str, flag: str) -> str:
    """Refuse control characters (a newline would break HTTP headers and piped output)."""
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        raise UsageError(f"The {what} cannot contain control characters.", f"Check {flag}.")
    return value


def check_environment(value: str) -> str:
    env = value.strip().lower()
    if env in ("prod", "production", "allegro.pl"):
        return "production"
    if env in ("sandbox", "allegrosandbox", "allegro.pl.allegrosandbox.pl"):
        return "sandbox"
    raise UsageError(f"Unknown environment {value!r}.", f"Use one of: {', '.join(ENVIRONMENTS)}.")


def check_client_type(value: str) -> str:
    kind = value.strip().lower()
    if kind not in CLIENT_TYPES:
        raise UsageError(f"Unknown client type {value!r}.", "Use 'browser' or 'device'.")
    return kind


def redirect_uri_problem(uri: str) -> str | None:
    """Why Allegro (or our listener) would not accept `uri`, or None when it is fine.

    Allegro rejects every 127.0.0.0/8 redirect URI since 2020 (allegro-api.md §6), so the
    only loopback form that works is http://localhost:PORT/PATH, which we also listen on.
    """
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        return f"{uri!r} is not a valid URL."
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("http", "https") or not host:
        return f"{uri!r} is not an absolute http:// URL."
    if host != "localhost":
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            return (
                f"The redirect URI must point at this machine (http://localhost:PORT/PATH), "
                f"not {host!r}."
            )
        if ip.is_loopback:
            return (
                "Allegro rejects 127.0.0.0/8 and ::1 redirect URIs (since 2020); "
                "use http://localhost:PORT/PATH instead."
            )
        return "The redirect URI must be http://localhost:PORT/PATH (private and public IPs fail)."
    if parts.scheme == "https":
        return "Use http:// for localhost: the local listener does not speak TLS."
    if not port:
        return "The redirect URI needs an explicit port, e.g. http://localhost:8976/callback."
    if parts.fragment:
        return "A redirect URI cannot have a #fragment."
    return None


def check_redirect_uri(uri: str) -> str:
    problem = redirect_uri_problem(uri)
    if problem:
        raise UsageError(problem, "Example: --redirect-uri http://localhost:8976/callback")
    return uri


def check_base_url(url: str, variable: str) -> str:
    """An override of Allegro's hosts: https anywhere, plain http only for loopback."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        raise UsageError(
            f"{variable}={url} is not a valid URL.", "Example: http://127.0.0.1:9000"
        ) from None
    if parts.scheme == "https" and host:
        return url.rstrip("/")
    if parts.scheme == "http" and host:
        loopback = host == "localhost"
        if not loopback:
            try:
                loopback = ipaddress.ip_address(host).is_loopback
            except ValueError:
                loopback = False
        if loopback:
            return url.rstrip("/")
        raise UsageError(
            f"{variable}={url} uses plain http:// for a host that is not loopback.",
            "Use https://, or http:// only with localhost, 127.0.0.1 or [::1].",
        )
    raise UsageError(f"{variable}={url} is not an http(s) URL.", "Example: http://127.0.0.1:9000")
