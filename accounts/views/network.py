"""Territorio (where the leader's network votes), its printable lists and exports,
naming sub-leaders and refreshing everything in a filter.

Leaders only: a plain member sees their direct referrals in Referidos and never the
territory, census data or lists of anyone else (403).
"""

from __future__ import annotations

import csv
import dataclasses
import logging
from collections.abc import Iterator
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accounts.counters import counter_hit
from accounts.exports import CSV_SEPARATOR, Echo, csv_safe, network_rows, xlsx_response
from accounts.models import AuditEntry
from accounts.selectors.network import (
    LEVEL_LABELS,
    TERRITORY_LEVELS,
    NetworkFilter,
    Outcome,
    network_filtered,
    network_level_totals,
    network_sub_leaders,
    network_territory,
    territory_level,
)
from accounts.services.audit import audit_record
from accounts.services.network import (
    SubLeaderChangeRefused,
    network_refresh_filtered,
    user_make_sub_leader,
    user_remove_sub_leader,
)
from accounts.validators import fold_accents
from accounts.views.common import safe_target
from accounts.views.network_params import SIN_DATO, filters_from, place_param, places_from, query_string
from accounts.views.referrals import referrals_baseline

log = logging.getLogger(__name__)

PRINT_LIST_MAX = 5000
LEVEL_PLURALS = {
    "departamento": "Departamentos",
    "municipio": "Municipios",
    "zona": "Zonas",
    "puesto": "Puestos",
    "mesa": "Mesas",
}
TERRITORY_SORTS = ("total", "nombre", *Outcome.ORDER)
CHART_ROWS = 10


def _leader_only(request: HttpRequest) -> None:
    if not request.user.is_leader:
        raise PermissionDenied("El territorio es para líderes: tú ves a tus referidos directos en Referidos.")


def _export_allowed(request: HttpRequest) -> bool:
    """Charge one export to the leader's budget; False (and a message) when it is spent."""
    # An atomic counter (accounts/counters.py): parallel downloads cannot overrun it.
    used = counter_hit(
        f"network-export-budget:{request.user.pk}",
        window=settings.NETWORK_EXPORT_RATE_WINDOW_SECONDS,
        limit=settings.NETWORK_EXPORT_RATE_LIMIT,
    )
    if used is not None:
        return True
    log.warning("territory export refused: leader=%s over the export budget", request.user.pk)
    messages.warning(
        request,
        f"Ya descargaste {settings.NETWORK_EXPORT_RATE_LIMIT} archivos en la última hora. "
        "Espera un rato e inténtalo de nuevo.",
    )
    return False


def _back(request: HttpRequest, default: str) -> HttpResponse:
    return redirect(safe_target(request, request.POST.get("next", "")) or default)


# ------------------------------------------------------------------------------
# Territorio
# ------------------------------------------------------------------------------
def _breadcrumbs(places: dict[str, str]) -> list[tuple[str, str, str]]:
    """(label, value shown, url query) for each chosen level, for going back up."""
    crumbs, chosen = [], {}
    for name, value in places.items():
        chosen[name] = place_param(value)
        crumbs.append((LEVEL_LABELS[name], value or "Sin dato", "?" + _encode(chosen)))
    return crumbs


def _encode(params: dict[str, str]) -> str:
    return urlencode(params)


def _sorted_rows(rows, sort: str):
    key, descending = sort.lstrip("-"), sort.startswith("-")
    if key == "nombre":
        order = lambda r: (r.value == "", r.value.casefold())  # noqa: E731 ("Sin dato" last)
    elif key in Outcome.ORDER:
        order = lambda r: (r.counts[key], r.total)  # noqa: E731
    else:
        order = lambda r: (r.total, r.value)  # noqa: E731
    return sorted(rows, key=order, reverse=descending)


@require_GET
def territory(request: HttpRequest) -> HttpResponse:
    _leader_only(request)
    places = places_from(request.GET, drill_down=True)
    level = territory_level(places)
    if level is None:
        # Past the last level (a mesa): its people are the list.
        return redirect(
            f"{reverse('accounts:territory_list')}?{_encode({k: place_param(v) for k, v in places.items()})}"
        )
    sort = request.GET.get("orden", "-total")
    if sort.lstrip("-") not in TERRITORY_SORTS:
        sort = "-total"
    rows = _sorted_rows(network_territory(viewer=request.user, places=places), sort)
    totals = dict.fromkeys(Outcome.ORDER, 0)
    for row in rows:
        for outcome, count in row.counts.items():
            totals[outcome] += count
    grand_total = sum(totals.values())
    base = {name: place_param(value) for name, value in places.items()}
    table = []
    for row in rows:
        group = {**base, level: place_param(row.value)}
        drill = "?" + _encode(group) if territory_level({**places, level: row.value}) else ""
        table.append(
            {
                "row": row,
                "label": row.value or "Sin dato",
                "drill": drill,
                "people": _encode(group),
                "cells": [
                    (outcome, row.counts[outcome], _encode({**group, "resultado": outcome}))
                    for outcome in Outcome.ORDER
                ],
                "list": "?" + _encode(group) if level in ("puesto", "mesa") else "",
            }
        )
    top = sorted(rows, key=lambda r: r.total, reverse=True)[:CHART_ROWS]
    top_max = max((r.total for r in top), default=0)
    context = {
        "level": level,
        "level_label": LEVEL_LABELS[level],
        "level_plural": LEVEL_PLURALS[level],
        "places": places,
        "breadcrumbs": _breadcrumbs(places),
        "table": table,
        "totals": totals,
        "grand_total": grand_total,
        "outcomes": [(key, Outcome.LABELS[key]) for key in Outcome.ORDER],
        "sort": sort,
        "group_query": _encode(base),
        "places_query": list(base.items()),
        "chart_split": _split_segments(totals, grand_total),
        "chart_top": [
            {"label": r.value or "Sin dato", "total": r.total, "segments": _split_segments(r.counts, top_max)}
            for r in top
        ],
        "sin_dato": SIN_DATO,
    }
    return render(request, "accounts/territory.html", context)


def _split_segments(counts: dict[str, int], scale: int) -> list[dict]:
    """Stacked-bar segments in percent of ``scale``: x offset, width, outcome, count."""
    segments, x = [], 0.0
    for outcome in Outcome.ORDER:
        count = counts.get(outcome, 0)
        width = (count * 100 / scale) if scale else 0
        if count:
            # Strings: templates would localise floats with the Spanish decimal comma,
            # which SVG reads as garbage (zero-width bars).
            segments.append({"outcome": outcome, "count": count, "x": f"{x:.3f}", "width": f"{width:.3f}"})
        x += width
    return segments


def _group_filter(request: HttpRequest) -> NetworkFilter:
    filters = filters_from(request)
    return NetworkFilter(
        outcome=filters.outcome, places=filters.places, query=filters.query, depth=filters.depth
    )


@require_GET
def territory_list(request: HttpRequest) -> HttpResponse:
    """A printable list of one puesto (or mesa): name, cédula, teléfono, mesa."""
    _leader_only(request)
    filters = _group_filter(request)
    if "puesto" not in filters.places and "mesa" not in filters.places:
        messages.warning(request, "Elige un puesto en el territorio para imprimir su lista.")
        return redirect("accounts:territory")
    members = network_filtered(viewer=request.user, filters=filters, sort="mesa")
    total = members.count()
    log.info("territory list viewed: leader=%s rows=%s", request.user.pk, total)
    return render(
        request,
        "accounts/territory_list.html",
        {
            "members": members[:PRINT_LIST_MAX],
            "total": total,
            "truncated": total > PRINT_LIST_MAX,
            "max_rows": PRINT_LIST_MAX,
            "places": [(LEVEL_LABELS[k], v or "Sin dato") for k, v in filters.places.items()],
            "outcome_label": Outcome.LABELS.get(filters.outcome, ""),
            "group_query": query_string(request.GET),
            "printed_at": timezone.localtime(),
        },
    )


def _export_name(filters: NetworkFilter, extension: str) -> str:
    parts = [v for v in filters.places.values() if v][-1:]
    # ASCII only, so the plain filename= form is used (every browser reads it).
    name = fold_accents(parts[0] if parts else "red")
    slug = "".join(ch if ch.isascii() and ch.isalnum() else "-" for ch in name).strip("-")[:40]
    return f"territorio-{slug or 'red'}-{timezone.localdate():%Y-%m-%d}.{extension}"


def _audit_export(request: HttpRequest, action: str, members) -> None:
    """Who exported which part of the network, with the filter and the row count (issue 13)."""
    audit_record(
        actor=request.user,
        action=action,
        target=f"network of user:{request.user.pk}",
        filters=request.GET,
        row_count=members.count() if hasattr(members, "count") else len(members),
    )


@require_GET
def territory_csv(request: HttpRequest) -> HttpResponse:
    _leader_only(request)
    if not _export_allowed(request):
        return redirect(f"{reverse('accounts:territory')}?{query_string(request.GET)}")
    filters = _group_filter(request)
    members = network_filtered(viewer=request.user, filters=filters, sort="puesto")
    writer = csv.writer(Echo(), delimiter=CSV_SEPARATOR)
    log.info("territory export: leader=%s format=csv", request.user.pk)
    _audit_export(request, AuditEntry.Action.EXPORT_CSV, members)

    def stream() -> Iterator[str]:
        yield "\ufeff"
        for row in network_rows(members):
            yield writer.writerow([csv_safe(cell) for cell in row])

    response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{_export_name(filters, "csv")}"'
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
def territory_xlsx(request: HttpRequest) -> HttpResponse:
    _leader_only(request)
    if not _export_allowed(request):
        return redirect(f"{reverse('accounts:territory')}?{query_string(request.GET)}")
    filters = _group_filter(request)
    members = network_filtered(viewer=request.user, filters=filters, sort="puesto")
    log.info("territory export: leader=%s format=xlsx", request.user.pk)
    _audit_export(request, AuditEntry.Action.EXPORT_XLSX, members)
    return xlsx_response(network_rows(members), _export_name(filters, "xlsx"))


# ------------------------------------------------------------------------------
# Sub-leaders and refresh by filter
# ------------------------------------------------------------------------------
@require_POST
def sub_leader(request: HttpRequest, user_id: int) -> HttpResponse:
    _leader_only(request)
    # The leader sees the change on Tu red at once (its totals are cached).
    cache.delete(f"network-sub-leaders:{request.user.pk}")
    action = request.POST.get("accion")
    if action == "nombrar":
        member = user_make_sub_leader(leader=request.user, member_id=user_id)
        messages.success(request, f"Listo: {member.nombre_completo} ahora es sublíder y ve su propia red.")
    elif action == "quitar":
        try:
            member = user_remove_sub_leader(leader=request.user, member_id=user_id)
        except SubLeaderChangeRefused as exc:
            messages.warning(request, str(exc))
        else:
            messages.success(request, f"Listo: {member.nombre_completo} ya no es sublíder.")
    else:
        messages.warning(request, "No entendimos qué querías hacer. Intenta de nuevo desde Referidos.")
    return _back(request, default="accounts:referrals")


@require_POST
def refresh_filtered(request: HttpRequest) -> HttpResponse:
    """Refresh everything the current Referidos filter shows, within the budget and cooldown."""
    _leader_only(request)
    filters = filters_from(request)
    if filters.changed_only:
        filters = dataclasses.replace(filters, changed_since=referrals_baseline(request))
    members = network_filtered(viewer=request.user, filters=filters)
    report = network_refresh_filtered(requester=request.user, members=members)
    log.info(
        "refresh by filter: leader=%s queued=%s skipped=%s", request.user.pk, report.queued, report.skipped
    )
    audit_record(
        actor=request.user,
        action=AuditEntry.Action.BULK_REFRESH,
        target=f"network of user:{request.user.pk}",
        filters={k: v for k, v in request.POST.items() if k != "csrfmiddlewaretoken"},
        row_count=report.total,
        detail=f"accepted={report.queued} skipped={report.skipped}",
    )
    (messages.success if report.queued else messages.warning)(request, report.message)
    params = {
        k: v
        for k, v in request.POST.items()
        if k in (*TERRITORY_LEVELS, "q", "resultado", "nivel", "cambios")
    }
    target = reverse("accounts:referrals")
    return redirect(f"{target}?{_encode(params)}" if params else target)


def _sub_leaders(request: HttpRequest):
    """Each sub-leader's totals cost a scan of their own network: cached for two minutes."""
    key = f"network-sub-leaders:{request.user.pk}"
    totals = cache.get(key)
    if totals is None:
        totals = network_sub_leaders(viewer=request.user)
        cache.set(key, totals, timeout=120)
    return totals


@require_GET
def network_overview(request: HttpRequest) -> HttpResponse:
    """Tu red: members and who can vote per level, and each sub-leader's own network."""
    _leader_only(request)
    levels = network_level_totals(viewer=request.user)
    return render(
        request,
        "accounts/network.html",
        {
            "levels": levels,
            "total": sum(level.members for level in levels),
            "can_vote": sum(level.can_vote for level in levels),
            "sub_leaders": _sub_leaders(request),
        },
    )
