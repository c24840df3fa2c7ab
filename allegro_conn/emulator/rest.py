"""The REST host (allegro-api.md §8): a handful of endpoints behind Allegro's header rules."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from allegro_conn.emulator.responses import (
    VND_JSON,
    Response,
    errors_response,
    json_response,
    mask,
    oauth_error,
)
from allegro_conn.emulator.state import EmulatorState, RecordedRequest, TokenRecord

MAX_LIMIT = 1000
DEFAULT_LIMIT = 20
OFFER_ID_BASE = 7_700_000_000
CREATED_ID_BASE = 7_800_000_000

MARKETPLACES: list[dict[str, Any]] = [
    {
        "id": f"allegro-{country}",
        "languages": {"base": language, "supported": [language, "en-US"]},
        "currencies": {"base": currency, "supported": [currency]},
    }
    for country, language, currency in (
        ("pl", "pl-PL", "PLN"),
        ("cz", "cs-CZ", "CZK"),
        ("sk", "sk-SK", "EUR"),
        ("hu", "hu-HU", "HUF"),
    )
]
CATEGORIES: list[dict[str, Any]] = [
    {"id": cid, "name": name, "parent": None, "leaf": False, "options": {"advertisement": False}}
    for cid, name in (
        ("5", "Dom i Ogród"),
        ("11763", "Dziecko"),
        ("42540aec-367a-4e5e-b411-17c09b08e41f", "Elektronika"),
        ("4bd97d96-f0ff-46cb-a52c-2992bd972bb1", "Firma i usługi"),
        ("a408e75a-cede-4587-8526-54e9be600d9f", "Kultura i rozrywka"),
        ("3", "Motoryzacja"),
        ("20782", "Sport i turystyka"),
        ("1429", "Zdrowie"),
    )
]


@dataclass(frozen=True)
class Route:
    handler: Callable[[EmulatorState, RecordedRequest, TokenRecord, re.Match[str]], Response]
    scope: str | None = None  # §7: a missing scope gives 403
    user: bool = True  # §5: False = also for client_credentials tokens


def access_denied() -> Response:
    # §8.2 (#12136, #10913): missing scope or a token without user context.
    return errors_response(
        403, "AccessDenied", "Access is denied", user_message="No access to the specified resource."
    )


def not_found() -> Response:
    return errors_response(404, "NotFoundException", "Not found")  # §8.2 (ABOUT)


def offer(number: int) -> dict[str, Any]:
    """Offer ``number`` (1-based) of the deterministic list."""
    return {
        "id": str(OFFER_ID_BASE + number),
        "name": f"Offer {number}",
        "category": {"id": CATEGORIES[number % len(CATEGORIES)]["id"]},
        "sellingMode": {
            "format": "BUY_NOW",
            "price": {"amount": f"{9 + number % 90}.99", "currency": "PLN"},
        },
        "stock": {"available": number % 17, "unit": "UNIT"},
        "publication": {"status": "ACTIVE"},
    }


# --- endpoint handlers ----------------------------------------------------------------------
def _me(
    state: EmulatorState, req: RecordedRequest, token: TokenRecord, m: re.Match[str]
) -> Response:
    user = state.users.get(token.user_id or "")
    return json_response(200, user.to_me(), content_type=VND_JSON) if user else access_denied()


def _marketplaces(
    state: EmulatorState, req: RecordedRequest, token: TokenRecord, m: re.Match[str]
) -> Response:
    return json_response(200, {"marketplaces": MARKETPLACES}, content_type=VND_JSON)


def _int_param(
    req: RecordedRequest, name: str, default: int, low: int, high: int
) -> int | Response:
    raw = req.query.get(name)
    if raw is None:
        return default
    if raw.isascii() and raw.isdigit() and low <= int(raw) <= high:
        return int(raw)
    message = f"Invalid value of '{name}': must be an integer from {low} to {high}"
    return errors_response(422, "VALIDATION_ERROR", message, path=name)


def _list_offers(
    state: EmulatorState, req: RecordedRequest, token: TokenRecord, m: re.Match[str]
) -> Response:
    offset = _int_param(req, "offset", 0, 0, 10**9)
    if isinstance(offset, Response):
        return offset
    limit = _int_param(req, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    if isinstance(limit, Response):
        return limit
    total = state.offers_count
    page = [offer(n) for n in range(offset + 1, min(offset + limit, total) + 1)]
    body = {"offers": page, "count": len(page), "totalCount": total}
    return json_response(200, body, content_type=VND_JSON)


def _get_offer(
    state: EmulatorState, req: RecordedRequest, token: TokenRecord, m: re.Match[str]
) -> Response:
    offer_id = m.group("id")
    if offer_id in state.created_offers:
        return json_response(200, state.created_offers[offer_id], content_type=VND_JSON)
    number = int(offer_id) - OFFER_ID_BASE if offer_id.isdigit() else 0
    if 1 <= number <= state.offers_count:
        return json_response(200, offer(number), content_type=VND_JSON)
    return not_found()


def _create_offer(
    state: EmulatorState, req: RecordedRequest, token: TokenRecord, m: re.Match[str]
) -> Response:
    content_type = req.headers.get("content-type", "")
    if VND_JSON not in content_type:  # §8: the same media type as Content-Type on bodies
        message = f"Content type '{content_type}' not supported"
        return errors_response(415, "UnsupportedMediaTypeException", message)
    try:
        payload = json.loads(req.body)
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        return errors_response(422, "VALIDATION_ERROR", "The request body must be a JSON object")
    offer_id = str(CREATED_ID_BASE + len(state.created_offers) + 1)
    created = {**payload, "id": offer_id}
    state.created_offers[offer_id] = created
    headers = [("Location", f"{state.base_url}/sale/product-offers/{offer_id}")]
    return json_response(201, created, content_type=VND_JSON, headers=headers)


def _categories(
    state: EmulatorState, req: RecordedRequest, token: TokenRecord, m: re.Match[str]
) -> Response:
    return json_response(200, {"categories": CATEGORIES}, content_type=VND_JSON)


def _category(
    state: EmulatorState, req: RecordedRequest, token: TokenRecord, m: re.Match[str]
) -> Response:
    for category in CATEGORIES:
        if category["id"] == m.group("id"):
            return json_response(200, category, content_type=VND_JSON)
    return not_found()


OFFERS_READ = "allegro:api:sale:offers:read"
OFFERS_WRITE = "allegro:api:sale:offers:write"
ROUTES: list[tuple[re.Pattern[str], dict[str, Route]]] = [
    (re.compile(r"/me"), {"GET": Route(_me, "allegro:api:profile:read")}),
    (re.compile(r"/marketplaces"), {"GET": Route(_marketplaces)}),  # §8.1: no scope declared
    (
        re.compile(r"/sale/offers"),
        {"GET": Route(_list_offers, OFFERS_READ), "POST": Route(_create_offer, OFFERS_WRITE)},
    ),
    (re.compile(r"/sale/product-offers"), {"POST": Route(_create_offer, OFFERS_WRITE)}),
    (
        re.compile(r"/sale/(?:product-)?offers/(?P<id>[^/]+)"),
        {"GET": Route(_get_offer, OFFERS_READ)},
    ),
    (re.compile(r"/sale/categories"), {"GET": Route(_categories, user=False)}),
    (re.compile(r"/sale/categories/(?P<id>[^/]+)"), {"GET": Route(_category, user=False)}),
]


# --- the header rules -----------------------------------------------------------------------
def _bearer(state: EmulatorState, req: RecordedRequest) -> TokenRecord | Response:
    scheme, _, value = req.headers.get("authorization", "").partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value:
        return oauth_error(
            401, "unauthorized", "Full authentication is required to access this resource"
        )
    if state.signer.decode(value) is None:
        # §8.2: a token from elsewhere (e.g. sandbox vs production) is not even readable.
        return oauth_error(401, "invalid_token", "Cannot convert access token to JSON")
    record = state.live_token(value, "access")
    if record is None:
        # §3 / §8.2: expired, killed by a refresh or a password change; never echo the token.
        return oauth_error(401, "invalid_token", f"Access token expired: {mask(value)}")
    return record


def _user_agent_ok(state: EmulatorState, token: TokenRecord, user_agent: str) -> bool:
    """§8: ``<RegisteredAppName>/<version> ...``; spaces in the name may be ``-`` or ``_``."""
    client = state.clients.get(token.client_id)
    if client is None:
        return False
    name, sep, rest = user_agent.partition("/")
    return bool(sep) and name in client.user_agent_names() and bool(rest[:1].strip())


def handle(state: EmulatorState, req: RecordedRequest) -> Response:
    token = _bearer(state, req)
    if isinstance(token, Response):
        return token
    if VND_JSON not in req.headers.get("accept", ""):
        # §8: the vnd media type is required in Accept, otherwise 406.
        return errors_response(
            406, "NotAcceptableException", "Could not find acceptable representation"
        )
    if not _user_agent_ok(state, token, req.headers.get("user-agent", "")):
        # §8: mandatory since 2026-07-01. The exact status and code Allegro uses are UNVERIFIED.
        return errors_response(
            403,
            "InvalidUserAgent",
            "User-Agent must be '<RegisteredAppName>/<version> (+<url>)'",
            user_message="Invalid User-Agent header.",
        )
    for pattern, methods in ROUTES:
        match = pattern.fullmatch(req.path)
        if match is None:
            continue
        route = methods.get(req.method)
        if route is None:
            return errors_response(405, "MethodNotAllowedException", "Method not allowed")
        if (route.user and token.user_id is None) or (
            route.scope and route.scope not in token.scopes
        ):
            return access_denied()
        return route.handler(state, req, token, match)
    return not_found()
