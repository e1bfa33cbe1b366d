"""Where a POST may send the member back to: only pages of this site."""

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme


def safe_target(request: HttpRequest, *candidates: str) -> str:
    """The first candidate URL that stays on this host (and on HTTPS when we are), or ""."""
    for candidate in candidates:
        if candidate and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        ):
            return candidate
    return ""
