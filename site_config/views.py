"""Project-level views: the health endpoint and the error pages settings point at.

Both are public and carry no personal data.
"""

from urllib.parse import urlsplit

from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from accounts.views.common import safe_target


@login_not_required
@never_cache
@require_GET
def health(request):
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        database = "ok"
    except Exception:  # noqa: BLE001 — a health check reports, it never raises
        database = "error"
    status = 200 if database == "ok" else 503
    return JsonResponse(
        {"status": "ok" if status == 200 else "degraded", "database": database}, status=status
    )


def _same_site_referer(request: HttpRequest) -> str:
    """The page the member came from, as a local path, or "" when absent or foreign."""
    referer = safe_target(request, request.META.get("HTTP_REFERER", ""))
    if not referer:
        return ""
    parts = urlsplit(referer)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: a stale tab or an expired session, explained in Spanish.

    Django already logs ``reason`` (django.security.csrf); the member only needs to
    reload the form, which gets a fresh token.
    """
    back = _same_site_referer(request)
    return render(
        request,
        "403_csrf.html",
        {"back_url": back or reverse("accounts:home"), "back_is_referer": bool(back)},
        status=403,
    )
