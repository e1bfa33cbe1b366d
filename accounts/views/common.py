"""Small helpers shared by the portal's views."""

from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme

from accounts.models import User


def safe_target(request: HttpRequest, *candidates: str) -> str:
    """The first candidate URL that stays on this host (and on HTTPS when we are), or ""."""
    for candidate in candidates:
        if candidate and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return candidate
    return ""


def safe_next(request: HttpRequest) -> str:
    """Where to go after login: a local ``next`` (POST or GET), else the default page."""
    target = safe_target(request, request.POST.get("next", ""), request.GET.get("next", ""))
    return target or reverse(settings.LOGIN_REDIRECT_URL)


def referral_link(request: HttpRequest, user: User) -> str:
    """The absolute sign-up link that credits ``user`` as referrer."""
    return request.build_absolute_uri(f"{reverse('accounts:register')}?ref={user.referral_code}")


@lru_cache(maxsize=512)
def referral_qr_svg(link: str) -> str:
    """The referral link as an inline SVG QR code (generated here: no third-party image service sees it).

    Cached per link (a link never changes its code): encoding the QR is ~15 ms, half of the
    home page's time, and the page is opened again and again by the same members.
    """
    import segno
    from django.utils.safestring import mark_safe

    qr = segno.make(link, error="m")
    # segno writes the SVG itself from the link's bits; nothing user-typed goes in raw.
    return mark_safe(qr.svg_inline(scale=4, dark="#000", light="#fff", title="Código QR de tu enlace"))  # noqa: S308
