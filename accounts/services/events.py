"""Rally ("evento") sign-up links: a leader opens one for a few hours with a higher limit."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.counters import counter_hit, counter_refund
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


def event_signup_reserve(*, link: EventLink, ip: str) -> bool:
    """Reserve one sign-up on the link for this address; False when its limit or cap is spent.

    Atomic like the general limit (accounts/counters.py): the per-address count is a
    conditional UPDATE, and so is the link's total, so parallel sign-ups through one
    link cannot overrun either. ``event_signup_release`` gives both back.
    """
    window, limit = settings.SIGNUP_THROTTLE_WINDOW_SECONDS, settings.SIGNUP_EVENT_IP_MAX
    if counter_hit(_event_key(link, ip), window=window, limit=limit) is None:
        return False
    taken = EventLink.objects.filter(pk=link.pk, signups__lt=F("max_signups")).update(
        signups=F("signups") + 1
    )
    if not taken:
        counter_refund(_event_key(link, ip))
        return False
    return True


def event_signup_release(*, link: EventLink, ip: str) -> None:
    """Give back a reservation whose sign-up did not happen."""
    counter_refund(_event_key(link, ip))
    EventLink.objects.filter(pk=link.pk, signups__gt=0).update(signups=F("signups") - 1)
