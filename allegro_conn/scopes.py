"""Every Allegro scope, with a one-line description and a group (allegro-api.md §7).

The single source for the wizard, for `--scope` validation and for `allegro-conn scopes`.
"""

from __future__ import annotations

from typing import NamedTuple

from allegro_conn.errors import UsageError


class Scope(NamedTuple):
    name: str
    group: str
    description: str


SCOPES: tuple[Scope, ...] = (
    Scope(
        "allegro:api:profile:read", "account", "Read account data: login, name, company, ratings"
    ),
    Scope("allegro:api:profile:write", "account", "Change account data: additional e-mails"),
    Scope("allegro:api:sale:offers:read", "offers", "Read offers, offer events, products, fees"),
    Scope("allegro:api:sale:offers:write", "offers", "Create, edit, publish and end offers"),
    Scope("allegro:api:orders:read", "orders", "Read orders, order events and shipment details"),
    Scope("allegro:api:orders:write", "orders", "Add waybills, change order status, shipments"),
    Scope("allegro:api:shipments:read", "shipments", "Read 'Wysyłam z Allegro' shipments, labels"),
    Scope("allegro:api:shipments:write", "shipments", "Create shipments and order pickups"),
    Scope("allegro:api:payments:read", "payments", "Read payment history and refunds"),
    Scope("allegro:api:payments:write", "payments", "Refund payments to buyers"),
    Scope("allegro:api:billing:read", "billing", "Read balance, Allegro fees and fees per offer"),
    Scope("allegro:api:ratings", "ratings", "Read buyer ratings, answer, ask for removal"),
    Scope("allegro:api:disputes", "disputes", "View and answer disputes and attachments"),
    Scope("allegro:api:messaging", "messaging", "Message Center: threads, messages, attachments"),
    Scope("allegro:api:sale:settings:read", "settings", "Read shipping rates, policies, settings"),
    Scope("allegro:api:sale:settings:write", "settings", "Edit shipping rates, policies, settings"),
    Scope("allegro:api:campaigns", "campaigns", "Deals zone, badge campaigns, Allegro Prices"),
    Scope("allegro:api:fulfillment:read", "fulfillment", "One Fulfillment: ASNs, stock, products"),
    Scope(
        "allegro:api:fulfillment:write", "fulfillment", "One Fulfillment: create and submit ASNs"
    ),
    Scope("allegro:api:affiliate:read", "affiliate", "Read Allegro Affiliate Business data"),
    Scope("allegro:api:affiliate:write", "affiliate", "Manage Allegro Affiliate Business data"),
    Scope("allegro:api:bids", "bids", "Place bids in auctions, view own bids"),
)
SCOPE_NAMES: tuple[str, ...] = tuple(s.name for s in SCOPES)
# Seen in tokens of older apps but documented nowhere: accepted, never offered.
LEGACY_SCOPES = ("allegro:api:ads",)
PROFILE_READ = "allegro:api:profile:read"


def check_scopes(names: list[str]) -> list[str]:
    """Validate `--scope` values (short forms like `orders:read` are accepted), keep order."""
    known = set(SCOPE_NAMES) | set(LEGACY_SCOPES)
    result: list[str] = []
    for raw in names:
        for part in raw.replace(",", " ").split():
            name = part if part.startswith("allegro:api:") else f"allegro:api:{part}"
            if name not in known:
                raise UsageError(
                    f"Unknown scope {part!r}.",
                    "Run 'allegro-conn scopes' to see every scope, or use --all-scopes.",
                )
            if name not in result:
                result.append(name)
    return result
