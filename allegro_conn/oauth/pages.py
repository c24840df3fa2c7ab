"""The small pages the browser sees after the redirect: nothing loaded from elsewhere."""

from __future__ import annotations

from html import escape

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:36em;margin:4em auto;padding:0 1em;
color:#222}}h1{{font-size:1.4em}}.bad{{color:#b00020}}.ok{{color:#1b7f3a}}</style>
</head><body><h1 class="{css}">{title}</h1><p>{body}</p></body></html>
"""


def page(title: str, body: str, ok: bool) -> bytes:
    """Everything given is HTML-escaped here, so callers may pass what the request carried."""
    html = _PAGE.format(title=escape(title), body=escape(body), css="ok" if ok else "bad")
    return html.encode("utf-8")
