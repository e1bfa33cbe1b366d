"""Writes over a leader's network: naming sub-leaders, keeping the referral tree a tree."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import CharField, F, Q, QuerySet, Value
from django.db.models.functions import Concat, Substr
from django.http import Http404
from django.utils import timezone

from accounts.models import CedulaStatus, User
from accounts.selectors.network import network_ancestor_ids, network_members, network_paths_from_tree
from accounts.services.cedulas import (
    QUEUE_REFRESH,
    RefreshRefusal,
    cedula_refresh_budget_left,
    cedula_refresh_many,
)

log = logging.getLogger(__name__)


class ReferralCycleError(ValueError):
    """The change would make a member their own referrer, directly or through others."""


def user_check_referrer(*, member_id: int, referrer_id: int | None) -> None:
    """Refuse a referrer that is the member or someone below them in the tree.

    Reads ``referred_by`` with a recursive CTE (not the materialised path), for the
    admin's form validation. The save itself is guarded too (``network_before_save``).
    """
    if referrer_id is None:
        return
    if referrer_id == member_id or member_id in network_ancestor_ids(member_id=referrer_id):
        raise ReferralCycleError(CYCLE_MESSAGE)


CYCLE_MESSAGE = "Este miembro no puede quedar referido por sí mismo ni por alguien de su propia red."


# ------------------------------------------------------------------------------
# The materialised path (User.network_path / network_level), on every save
# ------------------------------------------------------------------------------
def _path_under(parent_id: int | None) -> tuple[str, int]:
    if parent_id is None:
        return "", 0
    parent = User.objects.filter(pk=parent_id).values_list("network_path", "network_level").first()
    if parent is None:  # the referrer is being deleted in the same transaction
        return "", 0
    return f"{parent[0]}{parent_id}/", parent[1] + 1


def network_before_save(*, member: User, update_fields) -> None:
    """Set ``member``'s path from their referrer; refuse a referrer that would close a cycle.

    Called by the pre_save signal. Remembers the old path so ``network_after_save``
    can move the member's whole network along with them.
    """
    if update_fields is not None and "referred_by" not in update_fields:
        return
    path, level = _path_under(member.referred_by_id)
    if member.pk is not None:
        if member.referred_by_id == member.pk or f"/{member.pk}/" in f"/{path}":
            raise ReferralCycleError(CYCLE_MESSAGE)
        old = User.objects.filter(pk=member.pk).values_list("network_path", "network_level").first()
        if old is not None and old != (path, level):
            member._network_moved_from = old
    member.network_path, member.network_level = path, level


def network_after_save(*, member: User, update_fields) -> None:
    """Rewrite the paths below a member whose referrer changed (admin only: not a portal action)."""
    old = member.__dict__.pop("_network_moved_from", None)
    if old is None:
        return
    old_path, old_level = old
    if update_fields is not None:
        # The save wrote only the listed columns: write the member's own path too.
        User.objects.filter(pk=member.pk).update(
            network_path=member.network_path, network_level=member.network_level
        )
    _move_subtree(
        old_prefix=f"{old_path}{member.pk}/",
        new_prefix=f"{member.network_path}{member.pk}/",
        level_delta=member.network_level - old_level,
    )
    log.info("network moved: member=%s level %s -> %s", member.pk, old_level, member.network_level)


def network_after_delete(*, member: User) -> None:
    """A deleted member's referrals become roots (``on_delete=SET_NULL``): so do their paths."""
    _move_subtree(
        old_prefix=f"{member.network_path}{member.pk}/",
        new_prefix="",
        level_delta=-(member.network_level + 1),
    )


def _move_subtree(*, old_prefix: str, new_prefix: str, level_delta: int) -> None:
    User.objects.filter(network_path__startswith=old_prefix).update(
        network_path=Concat(
            Value(new_prefix), Substr("network_path", len(old_prefix) + 1), output_field=CharField()
        ),
        network_level=F("network_level") + level_delta,
    )


@transaction.atomic
def network_rebuild_paths() -> int:
    """Recompute every path from ``referred_by`` (migration, repairs); returns how many changed."""
    expected = network_paths_from_tree()
    changed = 0
    stored = User.objects.values_list("pk", "network_path", "network_level").iterator(chunk_size=5000)
    batch: list[User] = []
    for pk, path, level in stored:
        target = expected.get(pk)
        if target is not None and target != (path, level):
            batch.append(User(pk=pk, network_path=target[0], network_level=target[1]))
    for start in range(0, len(batch), 1000):
        changed += User.objects.bulk_update(batch[start : start + 1000], ["network_path", "network_level"])
    return changed


def _member_in_network(*, leader: User, member_id: int) -> User:
    """The member ``member_id`` of ``leader``'s network, locked for the update.

    Http404 alike for an unknown id and for someone outside the network, so ids
    cannot be probed.
    """
    # A contact (no account) cannot be named anything: answered like a stranger.
    members = network_members(viewer=leader).filter(is_contact=False)
    if not leader.is_leader or not members.filter(pk=member_id).exists():
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


def refresh_report(outcomes: dict, *, budget: int) -> FilteredRefreshReport:
    """The report of a refresh of chosen members (``cedula_refresh_many`` outcomes)."""
    refusals = [outcome.refusal for outcome in outcomes.values() if not outcome.accepted]
    return FilteredRefreshReport(
        total=len(outcomes),
        queued=len(outcomes) - len(refusals),
        in_flight=refusals.count(RefreshRefusal.IN_FLIGHT),
        cooldown=refusals.count(RefreshRefusal.COOLDOWN),
        over_budget=refusals.count(RefreshRefusal.RATE_LIMITED),
        budget=budget,
    )


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
