"""Census card rendering shared by home, perfil and the refresh endpoints."""

from datetime import timedelta
from urllib.parse import quote_plus
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger
from django import template
from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
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
    CedulaStatus.UNREADABLE: "text-bg-warning",
}

# What the member reads for each source (scrapers.sources names are internal jargon).
SOURCE_LABELS = {
    "wsp": "Registraduría (consulta en línea)",
    "consultacenso": "Registraduría (consulta del censo electoral)",
    "eleccionescolombia": "Registraduría (portal Elecciones Colombia)",
}


@register.filter
def source_label(source: str) -> str:
    return SOURCE_LABELS.get(source or "", "Registraduría") if source else ""


def next_nightly_retry(info, *, now=None):
    """When the nightly refresh will next retry a failed row: the first run of
    REFRESH_CRON once the failure is REFRESH_ERROR_AGE_HOURS old (accounts.selectors.refresh)."""
    if info is None or info.status not in CedulaStatus.failures() or info.fetched_at is None:
        return None
    now = now or timezone.now()
    earliest = max(now, info.fetched_at + timedelta(hours=settings.REFRESH_ERROR_AGE_HOURS))
    trigger = CronTrigger.from_crontab(settings.REFRESH_CRON, timezone=ZoneInfo(settings.TIME_ZONE))
    # The fire time must be strictly after the age is reached (fetched_at__lt=cutoff).
    return trigger.get_next_fire_time(None, earliest + timedelta(seconds=1))


@register.filter
def cedula_badge(status: str) -> str:
    return BADGE_CLASSES.get(status, "text-bg-secondary")


def _row(info):
    """The CedulaInfo, or None for anything else.

    A member without a census row (created outside the signup flow, an imported
    contact) reaches templates as ``referral.cedula_info``, which Django renders
    as "" (string_if_invalid): every filter here must stand on that.
    """
    return info if isinstance(info, CedulaInfo) else None


@register.filter
def census(user) -> CedulaInfo | None:
    """``user``'s census row, or None when it has none (never raises)."""
    try:
        return _row(user.cedula_info)
    except (ObjectDoesNotExist, AttributeError):
        return None


@register.filter
def map_url(info) -> str:
    """A map search for the voting place (opens the member's map app on phones)."""
    info = _row(info)
    if info is None:
        return ""
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

    info = _row(info)
    return bool(info is not None and info.is_in_flight and info.queue == QUEUE_REFRESH and info.result_status)


@register.filter
def poll_every(info) -> str:
    """htmx polling interval for a row in flight: quick for a member's own request."""
    return "30s" if scheduled_refresh(info) else "2s"


@register.inclusion_tag("accounts/partials/cedula_card_body.html", takes_context=True)
def cedula_card(context):
    request = context["request"]
    user = request.user
    info = cedula_info_for(user=user)
    latest_change = cedula_latest_change(user=user) if info and info.changed_at else None
    return {
        "request": request,
        "csrf_token": context.get("csrf_token"),
        "info": info,
        "latest_change": latest_change,
        "place_changed": bool(latest_change and _place_changed(latest_change)),
        "next_retry": next_nightly_retry(info),
        "is_failure": bool(info and info.status in CedulaStatus.failures()),
        "cedula_available_at": context.get("cedula_available_at"),
        "in_flight": bool(info and info.is_in_flight),
        "scheduled": scheduled_refresh(info),
        "has_place": bool(info and info.puesto),
        "statuses": CedulaStatus,
        "cedula_notice": context.get("cedula_notice", ""),
        "cedula_notice_level": context.get("cedula_notice_level", "info"),
    }


def _place_changed(change) -> bool:
    """The change moved the member to a new voting place (they have one now)."""
    new, old = change.new or {}, change.old or {}
    return bool(new.get("puesto")) and any(
        (old.get(f) or "") != (new.get(f) or "") for f in ("departamento", "municipio", "puesto", "mesa")
    )


@register.filter
def changed_since(info, seen_at) -> bool:
    """True when the row's voting place or status changed after ``seen_at`` (or ever, if None)."""
    changed_at = getattr(_row(info), "changed_at", None)
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


@register.filter
def timeuntil_seconds(moment) -> int:
    """Whole seconds from now until ``moment`` (at least 1), for a countdown's first value."""
    if moment is None:
        return 0
    return max(1, int((moment - timezone.now()).total_seconds()) + 1)
