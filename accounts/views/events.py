"""Evento: a leader opens a short-lived sign-up link for a rally."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from accounts.forms import EventLinkForm
from accounts.models import EventLink
from accounts.services.events import event_link_open


@require_http_methods(["GET", "POST"])
def event_links(request: HttpRequest) -> HttpResponse:
    if not request.user.is_leader:
        raise PermissionDenied("Solo los líderes pueden abrir enlaces de evento.")
    max_hours = settings.EVENT_LINK_MAX_HOURS
    form = EventLinkForm(request.POST or None, max_hours=max_hours)
    if request.method == "POST" and form.is_valid():
        link = event_link_open(
            leader=request.user, name=form.cleaned_data["name"], hours=form.cleaned_data["hours"]
        )
        messages.success(
            request,
            f"Abriste el enlace del evento «{link.name}»; sirve hasta las "
            f"{timezone.localtime(link.expires_at):%H:%M}.",
        )
        return redirect("accounts:event_links")
    register = request.build_absolute_uri(reverse("accounts:register"))
    links = [
        {"link": link, "url": f"{register}?ref={request.user.referral_code}&evento={link.token}"}
        for link in EventLink.objects.filter(leader=request.user, expires_at__gt=timezone.now())
    ]
    return render(
        request,
        "accounts/event_links.html",
        {"form": form, "links": links, "event_ip_max": settings.SIGNUP_EVENT_IP_MAX},
    )
