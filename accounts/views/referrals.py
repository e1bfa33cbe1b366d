"""Referidos: the member's network (a leader's whole tree, a member's direct referrals),
with filters in the URL, sorting, numbered pages, the changes since the last visit and
the CSV export."""

import csv
import hashlib
from collections.abc import Iterator
from datetime import datetime

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accounts.exports import CSV_SEPARATOR, Echo, csv_safe, referral_csv_rows
from accounts.models import AuditEntry
from accounts.pagination import window_page
from accounts.selectors.network import (
    LEVEL_LABELS,
    PAGE_FIELDS,
    NetworkFilter,
    Outcome,
    network_depth_for,
    network_filtered,
    network_level_totals,
    network_territory,
)
from accounts.selectors.users import REFERRALS_PER_PAGE, user_referral_count
from accounts.services.audit import audit_record
from accounts.services.users import user_referrals_mark_seen
from accounts.views.network_params import SIN_DATO, filters_from, sort_from


def _filtered(request: HttpRequest):
    filters = filters_from(request, changed_since=referrals_baseline(request))
    if not request.user.is_leader:
        # Census data of other members is for leaders: a member only searches and sorts.
        filters = NetworkFilter(query=filters.query)
    return filters, network_filtered(viewer=request.user, filters=filters, sort=sort_from(request))


def _place_options(request: HttpRequest, filters) -> dict[str, list[str]]:
    """Choices for the municipio and puesto filters, from the leader's own territory.

    Cached briefly: they cost a pass over the whole network and barely move.
    """
    if not request.user.is_leader:
        return {}
    municipio = filters.places.get("municipio")
    # Hashed: a municipio name has spaces and accents, unsafe in some cache backends' keys.
    digest = hashlib.sha256(repr(municipio).encode()).hexdigest()[:16]
    key = f"network-place-options:{request.user.pk}:{digest}"
    options = cache.get(key)
    if options is None:
        rows = network_territory(viewer=request.user, places={}, level="municipio")
        options = {"municipio": sorted(row.value for row in rows if row.value)}
        if municipio is not None:
            rows = network_territory(viewer=request.user, places={"municipio": municipio}, level="puesto")
            options["puesto"] = sorted(row.value for row in rows if row.value)
        cache.set(key, options, timeout=120)
    return options


def _level_totals(request: HttpRequest):
    """Per-level totals of the whole network: the same on every page and filter, so
    cached for a minute (a pass over the whole network at 100,000 members)."""
    key = f"network-levels:{request.user.pk}"
    levels = cache.get(key)
    if levels is None:
        levels = network_level_totals(viewer=request.user)
        cache.set(key, levels, timeout=60)
    return levels


@require_GET
def referrals(request: HttpRequest) -> HttpResponse:
    filters, members = _filtered(request)
    page = window_page(
        members.only(*PAGE_FIELDS), per_page=REFERRALS_PER_PAGE, number=request.GET.get("page")
    )
    leader = request.user.is_leader
    levels = _level_totals(request) if leader else []
    context = {
        "referral_total": sum(level.members for level in levels)
        if leader
        else user_referral_count(user=request.user),
        "filters": filters,
        "query": filters.query,
        "page": page,
        "page_range": page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1),
        "sort": sort_from(request),
        "changed_only": filters.changed_only,
        "seen_at": filters.changed_since,
        "bulk_limit": settings.LOOKUP_BULK_REFRESH_LIMIT,
        "outcomes": [(key, Outcome.LABELS[key]) for key in Outcome.ORDER],
        "levels": levels,
        "place_options": _place_options(request, filters),
        "place_labels": LEVEL_LABELS,
        "other_places": {k: v for k, v in filters.places.items() if k not in ("municipio", "puesto")},
        "sin_dato": SIN_DATO,
        "network_depth": network_depth_for(request.user),
        "filtered": bool(
            filters.query or filters.outcome or filters.depth or filters.places or filters.changed_only
        ),
    }
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, "accounts/partials/referrals_results.html", context)
    return render(request, "accounts/referrals.html", context)


_BASELINE_KEY = "referrals_changes_since"


def referrals_baseline(request: HttpRequest) -> datetime | None:
    """When the leader last looked at Referidos, before this session.

    The first visit of a session remembers the previous visit in the session (so
    marks and the filter stay put while the leader works) and records this one;
    the next session shows only what changed after it.
    """
    if _BASELINE_KEY not in request.session:
        previous = request.user.referrals_seen_at
        request.session[_BASELINE_KEY] = previous.isoformat() if previous else ""
        user_referrals_mark_seen(user=request.user)
    stored = request.session[_BASELINE_KEY]
    return datetime.fromisoformat(stored) if stored else None


@require_POST
def referrals_mark_seen(request: HttpRequest) -> HttpResponse:
    user_referrals_mark_seen(user=request.user)
    request.session[_BASELINE_KEY] = request.user.referrals_seen_at.isoformat()
    messages.success(request, "Listo: los cambios quedaron marcados como vistos.")
    return redirect("accounts:referrals")


@require_GET
def referrals_csv(request: HttpRequest) -> StreamingHttpResponse:
    writer = csv.writer(Echo(), delimiter=CSV_SEPARATOR)
    # Built before streaming starts: the lazy queryset runs inside the stream, but
    # the session (read by the baseline) is saved before the body is sent.
    _, referrals = _filtered(request)

    audit_record(
        actor=request.user,
        action=AuditEntry.Action.EXPORT_CSV,
        target=f"referrals of user:{request.user.pk}",
        filters=request.GET,
        row_count=referrals.count(),
    )

    def stream() -> Iterator[str]:
        yield "\ufeff"
        for row in referral_csv_rows(referrals, census=request.user.is_leader):
            yield writer.writerow([csv_safe(cell) for cell in row])

    filename = f"referidos-{timezone.localdate():%Y-%m-%d}.csv"
    response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response
