"""The User-Agent Allegro requires on REST calls (allegro-api.md §8)."""

from __future__ import annotations

import httpx

from allegro_conn import __version__
from allegro_conn.allegro import api_headers, user_agent
from allegro_conn.models import OAuthClient


def _client(app_name: str) -> OAuthClient:
    return OAuthClient("shop", "sandbox", "id", "secret", app_name=app_name)


def test_user_agent_is_app_name_version_and_url() -> None:
    ua = user_agent(_client("Shop App"))
    assert ua.startswith(f"Shop-App/{__version__} (+https://")
    assert ua.endswith(")")


def test_non_ascii_app_names_become_a_valid_header() -> None:
    ua = user_agent(_client("Mój Sklep Łódź"))
    assert ua.startswith("Moj-Sklep-Lodz/")
    request = httpx.Request("GET", "http://127.0.0.1/me", headers=api_headers(_client("Mój"), "t"))
    assert request.headers["User-Agent"].startswith("Moj/")
