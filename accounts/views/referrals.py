"""Referidos: the member's referrals, the changes since the last visit, the CSV export."""

import csv
from collections.abc import Iterator
from datetime import datetime

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accounts.exports import CSV_SEPARATOR, Echo, csv_safe, referral_csv_rows
from accounts.forms import ReferralSearchForm
from accounts.models import AuditEntry
from accounts.selectors.users import REFERRALS_PER_PAGE, user_referral_count, user_referrals
from accounts.services.audit import audit_record
from accounts.services.users import user_referrals_mark_seen


@require_GET
def referrals(request: HttpRequest) -> HttpResponse:
    search = ReferralSearchForm(request.GET)
    query = search.cleaned_data["q"] if search.is_valid() else ""
    changed_only = request.GET.get("cambios") == "1"
    seen_at = _referrals_baseline(request)
    page = Paginator(
        user_referrals(user=request.user, query=query, changed_only=changed_only, changed_since=seen_at),
        REFERRALS_PER_PAGE,
    ).get_page(request.GET.get("page"))
    return render(
        request,
        "accounts/referrals.html",
        {
            "search": search,
            "query": query,
            "page": page,
            "referral_total": user_referral_count(user=request.user),
            "changed_only": changed_only,
            "seen_at": seen_at,
            "bulk_limit": settings.LOOKUP_BULK_REFRESH_LIMIT,
        },
    )


_BASELINE_KEY = "referrals_changes_since"


def _referrals_baseline(request: HttpRequest):
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
    search = ReferralSearchForm(request.GET)
    query = search.cleaned_data["q"] if search.is_valid() else ""
    writer = csv.writer(Echo(), delimiter=CSV_SEPARATOR)
    # Built before streaming starts: the lazy queryset runs inside the stream, but
    # the session (read by the baseline) is saved before the body is sent.
    referrals = user_referrals(
        user=request.user,
        query=query,
        changed_only=request.GET.get("cambios") == "1",
        changed_since=_referrals_baseline(request),
    )

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
