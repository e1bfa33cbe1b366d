"""Writes over a leader's network: naming sub-leaders, keeping the referral tree a tree."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.models import CedulaStatus, User
from accounts.selectors.network import network_ancestor_ids, network_members
from accounts.services.cedulas import QUEUE_REFRESH, cedula_refresh_budget_left, cedula_refresh_many

log = logging.getLogger(__name__)


class ReferralCycleError(ValueError):
    """The change would make a member their own referrer, directly or through others."""


def user_check_referrer(*, member_id: int, referrer_id: int | None) -> None:
    """Refuse a referrer that is the member or someone below them in the tree.

    The referral tree must stay a tree: every network query relies on it (and
    also guards itself, see ``accounts.selectors.network``).
    """
    if referrer_id is None:
        return
    if referrer_id == member_id or member_id in network_ancestor_ids(member_id=referrer_id):
        raise ReferralCycleError("Este miembro no puede quedar referido por alguien de su propia red.")


def _member_in_network(*, leader: User, member_id: int) -> User:
    """The member ``member_id`` of ``leader``'s network, locked for the update.

    Http404 alike for an unknown id and for someone outside the network, so ids
    cannot be probed.
    """
    if not leader.is_leader or not network_members(viewer=leader).filter(pk=member_id).exists():
        raise Http404("No encontramos a esa persona en tu red.")
    return User.objects.select_for_update().get(pk=member_id)


@transaction.atomic
def user_make_sub_leader(*, leader: User, member_id: int) -> User:
    """Name ``member_id``, of ``leader``'s network, a sub-leader (role LEADER)."""
    member = _member_in_network(leader=leader, member_id=member_id)
    if member.role != User.Role.LEADER:
        member.role = User.Role.LEADER
        member.save(update_fields=["role"])
        log.info("sub-leader named: member=%s by leader=%s", member.pk, leader.pk)
    return member


class SubLeaderChangeRefused(Exception):
    """The change is not for a leader to make in the portal (staff accounts)."""


@transaction.atomic
def user_remove_sub_leader(*, leader: User, member_id: int) -> User:
    """Undo ``user_make_sub_leader``: ``member_id`` goes back to a plain member.

    Staff accounts are managed in the admin only.
    """
    member = _member_in_network(leader=leader, member_id=member_id)
    if member.is_staff or member.is_superuser:
        raise SubLeaderChangeRefused("Las cuentas del equipo se administran desde la administración.")
    if member.role != User.Role.USER:
        member.role = User.Role.USER
        member.save(update_fields=["role"])
        log.info("sub-leader removed: member=%s by leader=%s", member.pk, leader.pk)
    return member


# ------------------------------------------------------------------------------
# Refresh everything in a filter
# ------------------------------------------------------------------------------
@dataclass(frozen=True)
class FilteredRefreshReport:
    total: int
    queued: int
    in_flight: int
    cooldown: int
    over_budget: int
    budget: int

    @property
    def skipped(self) -> int:
        return self.total - self.queued

    @property
    def message(self) -> str:
        """One Spanish sentence (or two) a leader reads after the click."""
        if not self.total:
            return "No hay nadie en este filtro para actualizar."
        queued = (
            f"Enviamos {_n(self.queued, 'consulta', 'consultas')} a la cola de actualización"
            if self.queued
            else "No enviamos ninguna consulta"
        )
        reasons = []
        if self.in_flight:
            reasons.append(f"{_n(self.in_flight, 'ya estaba', 'ya estaban')} en consulta")
        if self.cooldown:
            seconds = settings.LOOKUP_REFRESH_COOLDOWN_SECONDS
            reasons.append(
                f"{_n(self.cooldown, 'se consultó', 'se consultaron')} hace menos de {seconds} segundos"
            )
        if self.over_budget:
            reasons.append(
                f"{_n(self.over_budget, 'supera', 'superan')} tu límite de "
                f"{settings.LOOKUP_REFRESH_RATE_LIMIT} consultas por hora (te quedaban {self.budget})"
            )
        if not reasons:
            return f"{queued}: las {self.total} personas del filtro."
        return f"{queued}. Omitimos {self.skipped}: {_join(reasons)}."


def _n(count: int, singular: str, plural: str) -> str:
    return f"{count} {singular if count == 1 else plural}"


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " y " + parts[-1]


def network_refresh_filtered(*, requester: User, members: QuerySet[User]) -> FilteredRefreshReport:
    """Queue a refresh for every member in ``members`` (already limited to the requester's network).

    Same rules as a refresh by hand: rows in flight and rows asked for during the
    cooldown are skipped, and no more than the requester's remaining budget is
    sent, oldest answers first. Everything goes on the refresh queue, behind signups.
    """
    now = timezone.now()
    cooldown_since = now - timedelta(seconds=settings.LOOKUP_REFRESH_COOLDOWN_SECONDS)
    members = members.order_by()
    total = members.count()
    in_flight_q = Q(cedula_info__status__in=list(CedulaStatus.in_flight()))
    in_flight = members.filter(in_flight_q).count()
    cooldown_q = Q(cedula_info__requested_at__gt=cooldown_since)
    cooldown = members.exclude(in_flight_q).filter(cooldown_q).count()
    budget = cedula_refresh_budget_left(requester=requester)
    eligible = members.exclude(in_flight_q).exclude(cooldown_q)
    # Never looked up first, then the oldest answers.
    eligible = eligible.order_by(F("cedula_info__fetched_at").asc(nulls_first=True), "pk")
    targets = list(eligible[:budget]) if budget else []
    over_budget = total - in_flight - cooldown - len(targets)
    outcomes = (
        cedula_refresh_many(requester=requester, targets=targets, queue=QUEUE_REFRESH) if targets else {}
    )
    queued = sum(1 for outcome in outcomes.values() if outcome.accepted)
    # A row taken by someone else between the counts and the update is skipped as in flight.
    in_flight += len(targets) - queued
    return FilteredRefreshReport(
        total=total,
        queued=queued,
        in_flight=in_flight,
        cooldown=cooldown,
        over_budget=over_budget,
        budget=budget,
    )
