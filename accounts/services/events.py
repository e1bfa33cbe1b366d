"""Rally ("evento") sign-up links: a leader opens one for a few hours with a higher limit."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import AuditEntry, EventLink, User
from accounts.services.audit import audit_record
from accounts.throttling import ip_bucket


@transaction.atomic
def event_link_open(*, leader: User, name: str, hours: int) -> EventLink:
    """Open a sign-up link for a rally lasting ``hours`` (1..EVENT_LINK_MAX_HOURS); logged."""
    if not leader.is_leader:
        raise PermissionDenied("Solo los líderes pueden abrir enlaces de evento.")
    if not 1 <= hours <= settings.EVENT_LINK_MAX_HOURS:
        raise ValidationError({"hours": f"Elige entre 1 y {settings.EVENT_LINK_MAX_HOURS} horas."})
    link = EventLink.objects.create(
        leader=leader,
        name=name.strip()[:80],
        expires_at=timezone.now() + timedelta(hours=hours),
        max_signups=settings.EVENT_LINK_MAX_SIGNUPS,
    )
    audit_record(
        actor=leader,
        action=AuditEntry.Action.EVENT_LINK_OPENED,
        target=f"eventlink:{link.pk}",
        detail=f"hours={hours} max_signups={link.max_signups}",
    )
    return link


def event_link_for(*, token: str | None) -> EventLink | None:
    """The open link with ``token`` (not expired, not full), or None."""
    token = (token or "").strip()
    if not token or len(token) > 32:
        return None
    link = EventLink.objects.select_related("leader").filter(token=token).first()
    return link if link is not None and link.is_open and link.leader.is_active else None


def _event_key(link: EventLink, ip: str) -> str:
    return f"signup:event:{link.pk}:ip:{ip_bucket(ip)}"


def event_signup_is_blocked(*, link: EventLink, ip: str) -> bool:
    return int(cache.get(_event_key(link, ip), 0)) >= settings.SIGNUP_EVENT_IP_MAX


def event_signup_record(*, link: EventLink, ip: str) -> None:
    """Count one sign-up against the link's per-IP window and its total cap."""
    key, window = _event_key(link, ip), settings.SIGNUP_THROTTLE_WINDOW_SECONDS
    cache.add(key, 0, timeout=window)  # the window starts at the first sign-up
    try:
        cache.incr(key)
    except ValueError:  # expired between add() and incr()
        cache.set(key, 1, timeout=window)
    EventLink.objects.filter(pk=link.pk).update(signups=F("signups") + 1)
