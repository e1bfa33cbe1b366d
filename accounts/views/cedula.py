"""Census card and refresh by hand: members for themselves, leaders for their referrals."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.models import AuditEntry
from accounts.selectors.cedulas import referral_for_leader, referrals_by_ids
from accounts.services.audit import audit_record
from accounts.services.cedulas import (
    QUEUE_REFRESH,
    cedula_refresh_budget_left,
    cedula_refresh_many,
    cedula_refresh_request,
)
from accounts.services.network import refresh_report
from accounts.views.common import safe_target


def _back(request: HttpRequest, default: str) -> HttpResponse:
    return redirect(
        safe_target(request, request.POST.get("next", ""), request.headers.get("referer", "")) or default
    )


def _card(
    request: HttpRequest, *, notice: str = "", notice_level: str = "info", available_at=None
) -> HttpResponse:
    return render(
        request,
        "accounts/partials/cedula_card.html",
        {"cedula_notice": notice, "cedula_notice_level": notice_level, "cedula_available_at": available_at},
    )


@require_GET
def card(request: HttpRequest) -> HttpResponse:
    """The member's census card alone; htmx polls it while a lookup runs."""
    return _card(request)


@require_POST
def refresh_own(request: HttpRequest) -> HttpResponse:
    outcome = cedula_refresh_request(requester=request.user, target=request.user)
    level = "success" if outcome.accepted else "warning"
    if request.htmx:
        return _card(request, notice=outcome.message, notice_level=level, available_at=outcome.available_at)
    messages.add_message(request, messages.SUCCESS if outcome.accepted else messages.WARNING, outcome.message)
    return _back(request, default="accounts:home")


@require_POST
def refresh_referral(request: HttpRequest, user_id: int) -> HttpResponse:
    target = referral_for_leader(leader=request.user, user_id=user_id)
    outcome = cedula_refresh_request(requester=request.user, target=target)
    if request.htmx:
        target.refresh_from_db()
        return render(
            request,
            "accounts/partials/referral_cedula.html",
            {"referral": target, "cedula_notice": outcome.message, "accepted": outcome.accepted},
        )
    messages.add_message(request, messages.SUCCESS if outcome.accepted else messages.WARNING, outcome.message)
    return _back(request, default="accounts:referrals")


@require_POST
def refresh_referrals(request: HttpRequest) -> HttpResponse:
    """Refresh up to LOOKUP_BULK_REFRESH_LIMIT selected members of the leader's network at once."""
    if not request.user.is_leader:
        raise PermissionDenied("Solo los líderes pueden actualizar a sus referidos.")
    raw_ids = request.POST.getlist("ids")
    limit = settings.LOOKUP_BULK_REFRESH_LIMIT
    try:
        ids = sorted({int(value) for value in raw_ids})
    except (TypeError, ValueError):
        ids = []
    if not ids:
        messages.warning(request, "Selecciona al menos un referido para actualizar.")
    elif len(ids) > limit:
        messages.warning(request, f"Puedes actualizar hasta {limit} referidos a la vez.")
    else:
        targets = list(referrals_by_ids(leader=request.user, user_ids=ids))
        if len(targets) != len(ids):
            # Same rule as one referral: someone else's id and an unknown one get one 404.
            raise Http404("Referido inexistente.")
        budget = cedula_refresh_budget_left(requester=request.user)
        # Bulk refreshes wait on the refresh queue, never ahead of signups.
        outcomes = cedula_refresh_many(requester=request.user, targets=targets, queue=QUEUE_REFRESH)
        report = refresh_report(outcomes, budget=budget)
        accepted = sum(1 for outcome in outcomes.values() if outcome.accepted)
        audit_record(
            actor=request.user,
            action=AuditEntry.Action.BULK_REFRESH,
            target=f"referrals of user:{request.user.pk}",
            row_count=len(outcomes),
            detail=f"accepted={accepted} skipped={len(outcomes) - accepted}",
        )
        (messages.success if report.queued else messages.warning)(request, report.message)
    return _back(request, default="accounts:referrals")


@require_GET
def referral_status(request: HttpRequest, user_id: int) -> HttpResponse:
    """One referral's census cells; htmx polls it while that lookup runs."""
    target = referral_for_leader(leader=request.user, user_id=user_id)
    return render(request, "accounts/partials/referral_cedula.html", {"referral": target})
