"""Mis datos: the member's rights under Ley 1581 (know, revoke, delete) and policy acceptance."""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout as auth_logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods

from accounts.forms import AcceptPolicyForm, DeleteAccountForm
from accounts.selectors.my_data import user_data_export
from accounts.services.consent import consent_accept
from accounts.services.erasure import user_delete_account
from accounts.throttling import client_ip
from accounts.views.common import safe_next


@never_cache
@require_GET
def my_data(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/my_data.html", {"data": user_data_export(user=request.user)})


@never_cache
@require_GET
def my_data_json(request: HttpRequest) -> HttpResponse:
    body = json.dumps(user_data_export(user=request.user), ensure_ascii=False, indent=2)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="mis-datos-{timezone.localdate():%Y-%m-%d}.json"'
    return response


@sensitive_post_parameters("password")
@never_cache
@require_http_methods(["GET", "POST"])
def delete_account(request: HttpRequest) -> HttpResponse:
    form = DeleteAccountForm(request, data=request.POST if request.method == "POST" else None)
    if form.is_valid():
        user_delete_account(user=request.user)
        auth_logout(request)
        messages.info(request, "Eliminamos tu cuenta y tus datos. Gracias por haber sido parte.")
        return redirect(settings.LOGOUT_REDIRECT_URL)
    return render(request, "accounts/delete_account.html", {"form": form})


@never_cache
@require_http_methods(["GET", "POST"])
def accept_policy(request: HttpRequest) -> HttpResponse:
    form = AcceptPolicyForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        consent_accept(user=request.user, ip=client_ip(request))
        messages.success(request, "Gracias: aceptaste la versión vigente de la política de datos.")
        return redirect(safe_next(request))
    return render(
        request,
        "accounts/accept_policy.html",
        {
            "form": form,
            "next": request.GET.get("next", ""),
            "previous": request.user.data_policy_version,
            "policy_version": settings.DATA_POLICY_VERSION,
        },
    )
