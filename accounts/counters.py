"""Atomic fixed-window counters in the database (``RateCounter``).

Every limit that protects a paid scrape or a password (login attempts, signups
per address, a requester's refresh budget) must hold when requests arrive at
the same time. Django's database cache implements ``incr`` as get + set, so
thirty parallel requests all read the same count; these counters are one
conditional ``UPDATE ... SET count = count + n`` per hit instead, and read back
inside the same transaction, so every caller sees its own position. That is
atomic on SQLite (one writer at a time) and PostgreSQL (the updated row stays
locked until commit) alike, and needs no other service.

A window starts at the first hit and lasts ``window`` seconds; an expired row
is reset by the next hit.
"""

from __future__ import annotations

import random
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import RateCounter

# One hit in this many also deletes expired rows, so the table stays small
# without a job of its own.
_PURGE_ONE_IN = 200


def counter_hit(key: str, *, window: int, amount: int = 1, limit: int | None = None) -> int | None:
    """Add ``amount`` to ``key``'s counter; return the new count.

    With ``limit``, the hit is taken only if the new count stays ``<= limit``:
    then None means "refused, nothing added" (a reservation that did not fit).
    """
    now = timezone.now()
    live = RateCounter.objects.filter(key=key, expires_at__gt=now)
    with transaction.atomic():
        bump = live if limit is None else live.filter(count__lte=limit - amount)
        if bump.update(count=F("count") + amount):
            return RateCounter.objects.filter(key=key).values_list("count", flat=True).get()
        if live.exists():
            return None  # live and over the limit
        if limit is not None and amount > limit:
            return None
        # Missing or expired: start a new window. Two first hits race on the
        # unique key; the loser counts on the winner's row.
        fresh = {"count": amount, "expires_at": now + timedelta(seconds=window)}
        if RateCounter.objects.filter(key=key, expires_at__lte=now).update(**fresh):
            return amount
        try:
            with transaction.atomic():
                RateCounter.objects.create(key=key, **fresh)
        except IntegrityError:
            bump = live if limit is None else live.filter(count__lte=limit - amount)
            if not bump.update(count=F("count") + amount):
                return None
            return RateCounter.objects.filter(key=key).values_list("count", flat=True).get()
    if random.randrange(_PURGE_ONE_IN) == 0:
        RateCounter.objects.filter(expires_at__lte=now).delete()
    return amount


def counter_value(key: str) -> int:
    """The count in the live window (0 when none)."""
    count = (
        RateCounter.objects.filter(key=key, expires_at__gt=timezone.now())
        .values_list("count", flat=True)
        .first()
    )
    return count or 0


def counter_refund(key: str, *, amount: int = 1) -> None:
    """Take back ``amount`` hits (a reservation that was not used); never below 0."""
    if amount > 0:
        RateCounter.objects.filter(key=key, count__gte=amount).update(count=F("count") - amount)


def counter_clear(key: str) -> None:
    RateCounter.objects.filter(key=key).delete()
