"""Writes for the member's consent to the data policy (versioned)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import ConsentRecord, User
from accounts.services.audit import mask_ip

log = logging.getLogger(__name__)


def consent_is_current(*, user: User) -> bool:
    return user.data_policy_version == settings.DATA_POLICY_VERSION


@transaction.atomic
def consent_accept(*, user: User, ip: str | None, version: str | None = None) -> ConsentRecord:
    """Record that ``user`` accepted the policy ``version`` (the current one by default)."""
    version = version or settings.DATA_POLICY_VERSION
    now = timezone.now()
    record = ConsentRecord.objects.create(user=user, version=version, accepted_at=now, ip=ip or None)
    user.accepted_data_policy = True
    user.data_policy_accepted_at = now
    user.data_policy_version = version
    user.save(update_fields=["accepted_data_policy", "data_policy_accepted_at", "data_policy_version"])
    log.info("data policy accepted user_id=%s version=%s ip=%s", user.pk, version, mask_ip(ip))
    return record
