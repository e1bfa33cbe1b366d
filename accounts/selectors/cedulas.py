"""Reads for census lookups."""

from __future__ import annotations

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404

from accounts.models import CedulaChange, CedulaInfo, User
from accounts.selectors.network import network_contains, network_members


def cedula_info_for(*, user: User) -> CedulaInfo | None:
    return CedulaInfo.objects.filter(user=user).first()


def cedula_latest_change(*, user: User) -> CedulaChange | None:
    return CedulaChange.objects.filter(user=user).order_by("-changed_at").first()


def referral_for_leader(*, leader: User, user_id: int) -> User:
    """The member ``user_id`` of ``leader``'s network (direct or indirect referral).

    404 for an unknown id; PermissionDenied for someone else's member (the view
    turns it into 403), so a leader learns nothing about other members.
    """
    from django.core.exceptions import PermissionDenied

    target = get_object_or_404(User.objects.select_related("cedula_info"), pk=user_id)
    if not leader.is_leader or not (
        target.referred_by_id == leader.pk or network_contains(viewer=leader, member_id=target.pk)
    ):
        raise PermissionDenied("No puedes ver ni actualizar a este miembro.")
    return target


def referrals_by_ids(*, leader: User, user_ids: list[int]) -> QuerySet[User]:
    """The members of ``leader``'s network among ``user_ids``."""
    return network_members(viewer=leader).filter(pk__in=user_ids)
