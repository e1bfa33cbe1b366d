"""The query string shared by Referidos, Territorio and their exports.

The filter state lives in the URL so a leader can bookmark or share a view. Place
parameters hold the exact value; ``SIN_DATO`` stands for an empty place (members
not looked up yet, or without that datum), because an empty form field means "any".
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpRequest, QueryDict

from accounts.selectors.network import (
    DEFAULT_SORT,
    NETWORK_MAX_DEPTH,
    SORTS,
    TERRITORY_LEVELS,
    NetworkFilter,
    Outcome,
)

SIN_DATO = "-"
FILTER_KEYS = ("q", "resultado", "nivel", "cambios", *TERRITORY_LEVELS)


def _text(value: str, limit: int) -> str:
    """A query-string value fit for the database: no NUL or other control characters
    (PostgreSQL refuses NUL in text), trimmed and bounded."""
    return "".join(ch for ch in value if ch.isprintable())[:limit].strip()


def places_from(params: QueryDict, *, drill_down: bool = False) -> dict[str, str]:
    """Place filters in the query string; ``drill_down`` keeps only an unbroken prefix of the levels."""
    places: dict[str, str] = {}
    for name in TERRITORY_LEVELS:
        raw = _text(params.get(name, ""), 200)
        if not raw:
            if drill_down:
                break
            continue
        places[name] = "" if raw == SIN_DATO else raw
    return places


def filters_from(request: HttpRequest, *, changed_since=None) -> NetworkFilter:
    params = request.GET if request.method == "GET" else request.POST
    try:
        depth = int(params.get("nivel", ""))
    except ValueError:
        depth = None
    if depth is not None and not 1 <= depth <= NETWORK_MAX_DEPTH:
        depth = None
    outcome = params.get("resultado", "")
    return NetworkFilter(
        query=_text(params.get("q", ""), 100),
        outcome=outcome if outcome in Outcome.ORDER else "",
        depth=depth,
        changed_only=params.get("cambios") == "1",
        changed_since=changed_since,
        places=places_from(params),
    )


def sort_from(request: HttpRequest) -> str:
    sort = request.GET.get("orden", DEFAULT_SORT)
    return sort if sort.lstrip("-") in SORTS else DEFAULT_SORT


def place_param(value: str) -> str:
    return value if value else SIN_DATO


def query_string(params: QueryDict, **changes) -> str:
    """``params`` with ``changes`` applied (None removes a key), for links that keep the filters."""
    merged = {key: params.get(key) for key in params if key not in ("page", "partial")}
    for key, value in changes.items():
        if value is None or value == "":
            merged.pop(key, None)
        else:
            merged[key] = value
    return urlencode({k: v for k, v in merged.items() if v not in (None, "")})
