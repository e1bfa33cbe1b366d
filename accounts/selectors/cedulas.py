"""Reads for census lookups."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from accounts.models import CedulaChange, CedulaInfo, User
from accounts.selectors.network import network_contains, network_members


def cedula_info_for(*, user: User) -> CedulaInfo | None:
    return CedulaInfo.objects.filter(user=user).first()


def cedula_latest_change(*, user: User) -> CedulaChange | None:
    return CedulaChange.objects.filter(user=user).order_by("-changed_at").first()


def referral_for_leader(*, leader: User, user_id: int) -> User:
    """The member ``user_id`` of ``leader``'s network (direct or indirect referral); Http404 otherwise.

    Another member's id and an id nobody has get the same 404, so ids cannot be
    counted by telling the two answers apart.
    """
    if not leader.is_leader:
        raise Http404("Referido inexistente.")
    target = get_object_or_404(User.objects.select_related("cedula_info"), pk=user_id)
    if not (target.referred_by_id == leader.pk or network_contains(viewer=leader, member_id=target.pk)):
        raise Http404("Referido inexistente.")
    return target


def referrals_by_ids(*, leader: User, user_ids: list[int]) -> QuerySet[User]:
    """The members of ``leader``'s network among ``user_ids``."""
    return network_members(viewer=leader).filter(pk__in=user_ids)
