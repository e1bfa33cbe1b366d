"""Census card rendering shared by home, perfil and the refresh endpoints."""

from urllib.parse import quote_plus

from django import template
from django.utils import timezone
from django.utils.timesince import timesince

from accounts.models import CedulaInfo, CedulaStatus
from accounts.selectors.cedulas import cedula_info_for, cedula_latest_change

register = template.Library()

BADGE_CLASSES = {
    CedulaStatus.PENDING: "text-bg-secondary",
    CedulaStatus.PROCESSING: "text-bg-info",
    CedulaStatus.FOUND: "text-bg-success",
    CedulaStatus.NOT_FOUND: "text-bg-warning",
    CedulaStatus.CANCELLED_DECEASED: "text-bg-dark",
    CedulaStatus.CANCELLED_OTHER: "text-bg-dark",
    CedulaStatus.PENDING_REGISTRADURIA: "text-bg-warning",
    CedulaStatus.ERROR: "text-bg-danger",
    CedulaStatus.TIMEOUT: "text-bg-danger",
    CedulaStatus.BLOCKED: "text-bg-danger",
}


@register.filter
def cedula_badge(status: str) -> str:
    return BADGE_CLASSES.get(status, "text-bg-secondary")


@register.filter
def map_url(info) -> str:
    """A map search for the voting place (opens the member's map app on phones)."""
    parts = [info.puesto, info.direccion, info.municipio, info.departamento, "Colombia"]
    query = ", ".join(part for part in parts if part)
    return f"https://www.google.com/maps/search/?api=1&query={quote_plus(query)}"


@register.filter
def scheduled_refresh(info) -> bool:
    """In flight only because of the nightly refresh, with an earlier answer to show.

    Such a row may wait hours in the bulk queue: the card keeps showing the last
    answer, polls slowly, and lets the member ask for an immediate lookup.
    """
    from accounts.services.cedulas import QUEUE_REFRESH

    # A member without a census row reaches templates as "" (missing reverse one-to-one).
    if not isinstance(info, CedulaInfo):
        return False
    return bool(info.is_in_flight and info.queue == QUEUE_REFRESH and info.result_status)


@register.filter
def poll_every(info) -> str:
    """htmx polling interval for a row in flight: quick for a member's own request."""
    return "30s" if scheduled_refresh(info) else "2s"


@register.inclusion_tag("accounts/partials/cedula_card_body.html", takes_context=True)
def cedula_card(context):
    request = context["request"]
    user = request.user
    info = cedula_info_for(user=user)
    return {
        "request": request,
        "csrf_token": context.get("csrf_token"),
        "info": info,
        "latest_change": cedula_latest_change(user=user) if info and info.changed_at else None,
        "in_flight": bool(info and info.is_in_flight),
        "scheduled": scheduled_refresh(info),
        "has_place": bool(info and info.puesto),
        "statuses": CedulaStatus,
        "cedula_notice": context.get("cedula_notice", ""),
        "cedula_notice_level": context.get("cedula_notice_level", "info"),
    }


@register.filter
def changed_since(info, seen_at) -> bool:
    """True when the row's voting place or status changed after ``seen_at`` (or ever, if None)."""
    changed_at = getattr(info, "changed_at", None)
    if changed_at is None:
        return False
    return seen_at is None or changed_at > seen_at


@register.filter
def consulted_ago(moment) -> str:
    """'hace un momento' under a minute, else 'hace 3 minutos' (Spanish via the active locale)."""
    if moment is None:
        return ""
    if (timezone.now() - moment).total_seconds() < 60:
        return "hace un momento"
    return f"hace {timesince(moment)}"
