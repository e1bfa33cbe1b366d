"""The audit trail of access to other people's personal data (AuditEntry).

Every export, bulk refresh by a leader and admin view of a member writes one row
here. Filters are stored as typed, except that any run of digits long enough to be
a cédula or a phone is masked (a leader may search Referidos by cédula).
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Mapping

from accounts.models import AuditEntry, User
from scrapers.masking import mask_cedula

log = logging.getLogger(__name__)

_LONG_DIGITS = re.compile(r"\d[\d.\s-]{4,}\d")


def mask_digits(text: str) -> str:
    """Mask every run of 6+ digits (with cédula separators) in ``text``."""

    def _mask(match: re.Match) -> str:
        digits = re.sub(r"\D", "", match.group(0))
        return mask_cedula(digits) if len(digits) >= 6 else match.group(0)

    return _LONG_DIGITS.sub(_mask, text)


def mask_ip(ip: str | None) -> str:
    """``190.24.8.77`` → ``190.24.8.x``; an IPv6 address keeps its /48."""
    try:
        address = ipaddress.ip_address((ip or "").strip())
    except ValueError:
        return "-"
    if address.version == 4:
        return ".".join([*str(address).split(".")[:3], "x"])
    return str(ipaddress.ip_network(f"{address}/48", strict=False).network_address) + "/48"


# PostgreSQL's jsonb and text refuse NUL; other control characters are junk in a filter.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _printable(text: str) -> str:
    return _CONTROL.sub("", text)


def _clean_filters(filters: Mapping[str, object] | None) -> dict[str, str]:
    cleaned = {}
    for key, value in (filters or {}).items():
        text = _printable("" if value is None else str(value))
        if text:
            cleaned[_printable(str(key))[:40]] = mask_digits(text)[:200]
    return cleaned


def audit_record(
    *,
    actor: User | None,
    action: str,
    target: str = "",
    filters: Mapping[str, object] | None = None,
    row_count: int | None = None,
    detail: str = "",
) -> AuditEntry:
    """Append one row to the audit trail; returns it.

    ``target`` names what was accessed by ids only ("user:12"); ``filters`` are
    masked (``mask_digits``) before they are stored; ``detail`` must carry no
    personal data.
    """
    actor_id = actor.pk if actor is not None and actor.is_authenticated else None
    entry = AuditEntry.objects.create(
        actor_id=actor_id,
        action=action,
        target=_printable(target)[:100],
        filters=_clean_filters(filters),
        row_count=row_count,
        detail=mask_digits(_printable(detail))[:255],
    )
    log.info(
        "audit action=%s actor_id=%s target=%s rows=%s",
        action,
        actor_id or "-",
        entry.target or "-",
        "-" if row_count is None else row_count,
    )
    return entry
