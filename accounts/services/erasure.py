"""The member deletes their own account (revoking consent, Ley 1581 art. 8 e)."""

from __future__ import annotations

import logging

from django.contrib.sessions.models import Session
from django.db import transaction
from django.utils import timezone

from accounts.models import (
    AuditEntry,
    CedulaChange,
    CedulaInfo,
    ConsentRecord,
    Contact,
    User,
    generate_referral_code,
)
from accounts.services.audit import audit_record

log = logging.getLogger(__name__)

TOMBSTONE_NAME = "Miembro eliminado"


def _tombstone_cedula(user: User) -> str:
    # Unique (the pk) and never a valid cédula (a letter), so nobody can sign up with it
    # and no lookup can run for it.
    return f"x{user.pk}"[:10]


def _end_sessions(user_id: int) -> int:
    """Delete every database session of ``user_id``; returns how many.

    The wiped password already invalidates them (the session's auth hash no longer
    matches), but deleting them frees the rows and ends them without waiting for
    the next request.
    """
    ended = 0
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if str(session.get_decoded().get("_auth_user_id")) == str(user_id):
            session.delete()
            ended += 1
    return ended


@transaction.atomic
def user_delete_account(*, user: User) -> User:
    """Erase the member's personal data and keep a tombstone row.

    The census row, its history and the consent records go. The user row stays,
    anonymised and inactive, so referrals keep their ``referred_by`` (shown as
    "Miembro eliminado") and a leader's network stays whole. Sessions end. The
    audit trail records the outcome with ids and counts only.
    """
    user = User.objects.select_for_update().get(pk=user.pk)
    referrals = User.objects.filter(referred_by=user).count()
    CedulaChange.objects.filter(user=user).delete()
    CedulaInfo.objects.filter(user=user).delete()
    ConsentRecord.objects.filter(user=user).delete()
    # The names and phones this member gave for their contacts are their data too; the
    # contacts' shared census rows stay for any other leader who holds the same cédula.
    Contact.objects.filter(leader=user).delete()
    user.cedula = _tombstone_cedula(user)
    user.nombre_completo = TOMBSTONE_NAME
    user.telefono = ""
    user.set_unusable_password()
    # A fresh code: old invitation links no longer credit the deleted member.
    user.referral_code = generate_referral_code()
    user.referral_goal = 0
    user.role = User.Role.USER
    user.is_active = False
    user.is_staff = False
    user.is_superuser = False
    user.accepted_data_policy = False
    user.data_policy_accepted_at = None
    user.data_policy_version = ""
    user.referrals_seen_at = None
    user.last_login = None
    user.deleted_at = timezone.now()
    user.save()
    user.groups.clear()
    user.user_permissions.clear()
    pk = user.pk
    sessions = _end_sessions(pk)
    log.info("account deleted user_id=%s sessions_ended=%s", pk, sessions)
    audit_record(
        actor=None,
        action=AuditEntry.Action.ACCOUNT_DELETED,
        target=f"user:{pk}",
        row_count=referrals,
        detail=f"referrals_kept={referrals} sessions_ended={sessions}",
    )
    return user
