"""Asks a signed-in member to accept the current data policy before anything else."""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from accounts.services.consent import consent_is_current

# Reachable without the current consent: the policy itself, accepting it, leaving, and
# the data rights (revoking consent must never require giving it first).
_EXEMPT_URL_NAMES = frozenset(
    {
        "accounts:data_policy",
        "accounts:accept_policy",
        "accounts:logout",
        "accounts:my_data",
        "accounts:my_data_json",
        "accounts:delete_account",
    }
)


class DataPolicyMiddleware:
    """Redirects to the acceptance page while ``user.data_policy_version`` is not current.

    Staff in the admin are not stopped (operators are not members reading the portal);
    an htmx request gets ``HX-Redirect`` so the whole page goes, not a fragment.
    """

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or consent_is_current(user=user):
            return None
        match = request.resolver_match
        if match is None or match.view_name in _EXEMPT_URL_NAMES or match.app_name == "admin":
            return None
        target = f"{reverse('accounts:accept_policy')}?{urlencode({'next': request.get_full_path()})}"
        if request.headers.get("HX-Request"):
            response = HttpResponse(status=204)
            response["HX-Redirect"] = target
            return response
        return redirect(target)
