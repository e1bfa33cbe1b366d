"""Error pages Django renders outside the URL routing (settings point at these)."""

from urllib.parse import urlsplit

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from accounts.redirects import safe_target


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
