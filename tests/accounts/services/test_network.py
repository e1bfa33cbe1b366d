"""Writes over the network: the tree stays a tree, paths follow moves, sub-leaders, refresh by filter."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils import timezone

from accounts.models import CedulaInfo, CedulaStatus, User
from accounts.selectors.network import (
    NetworkFilter,
    network_filtered,
    network_members,
    network_paths_from_tree,
)
from accounts.services.cedulas import QUEUE_REFRESH
from accounts.services.network import (
    ReferralCycleError,
    SubLeaderChangeRefused,
    network_rebuild_paths,
    network_refresh_filtered,
    user_check_referrer,
    user_make_sub_leader,
    user_remove_sub_leader,
)
from tests.fixtures.factories import LeaderFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def chain():
    """a (leader) -> b -> c -> d"""
    a = LeaderFactory()
    b = UserFactory(referred_by=a)
    c = UserFactory(referred_by=b)
    d = UserFactory(referred_by=c)
    return a, b, c, d


def _stored_paths():
    return {pk: (p, lvl) for pk, p, lvl in User.objects.values_list("pk", "network_path", "network_level")}


# --- Cycles ---------------------------------------------------------------------------
def test_saving_someone_below_as_referrer_is_refused(chain):
    a, b, _c, d = chain
    b.referred_by = d
    with pytest.raises(ReferralCycleError):
        b.save()
    b.refresh_from_db()
    assert b.referred_by_id == a.pk


def test_being_ones_own_referrer_is_refused(chain):
    _a, b, _c, _d = chain
    b.referred_by = b
    with pytest.raises(ReferralCycleError):
        b.save()


def test_the_admin_form_validation_explains_the_cycle_in_spanish(chain):
    _a, b, _c, d = chain
    b.referred_by = d
    with pytest.raises(ValidationError) as error:
        b.full_clean()
    assert "su propia red" in str(error.value)


def test_the_referrer_check_reads_the_tree_itself(chain):
    a, b, _c, d = chain
    with pytest.raises(ReferralCycleError):
        user_check_referrer(member_id=a.pk, referrer_id=d.pk)
    user_check_referrer(member_id=d.pk, referrer_id=a.pk)  # moving up is fine
    user_check_referrer(member_id=b.pk, referrer_id=None)


# --- Paths follow moves and deletions -----------------------------------------------------
def test_moving_a_member_moves_their_whole_network(chain):
    a, b, c, d = chain
    other = LeaderFactory()
    c.referred_by = other
    c.save()
    assert _stored_paths() == network_paths_from_tree()
    assert {m.pk for m in network_members(viewer=other)} == {c.pk, d.pk}
    assert {m.pk for m in network_members(viewer=a)} == {b.pk}


def test_moving_with_update_fields_still_writes_the_path(chain):
    a, b, c, d = chain
    c.referred_by = a
    c.save(update_fields=["referred_by"])
    assert _stored_paths() == network_paths_from_tree()
    assert {m.pk: m.depth for m in network_members(viewer=a)} == {b.pk: 1, c.pk: 1, d.pk: 2}


def test_deleting_a_member_makes_their_referrals_roots(chain):
    a, b, c, d = chain
    b.delete()
    assert _stored_paths() == network_paths_from_tree()
    assert list(network_members(viewer=a)) == []
    c.refresh_from_db()
    assert {m.pk for m in network_members(viewer=c)} == {d.pk}


def test_rebuild_repairs_paths_broken_by_raw_updates(chain):
    a, _b, c, _d = chain
    User.objects.filter(pk=c.pk).update(referred_by=a)  # skips the signals
    assert _stored_paths() != network_paths_from_tree()
    assert network_rebuild_paths() == 2  # c and d
    assert _stored_paths() == network_paths_from_tree()
    assert network_rebuild_paths() == 0


# --- Sub-leaders ------------------------------------------------------------------------
def test_a_leader_names_and_removes_a_sub_leader_anywhere_in_their_network(chain):
    a, _b, c, _d = chain
    assert user_make_sub_leader(leader=a, member_id=c.pk).role == User.Role.LEADER
    c.refresh_from_db()
    assert c.is_leader
    assert user_remove_sub_leader(leader=a, member_id=c.pk).role == User.Role.USER


def test_sub_leader_changes_outside_the_network_are_404_like_unknown_ids(chain):
    a, b, _c, _d = chain
    stranger = UserFactory(referred_by=LeaderFactory())
    for member_id in (stranger.pk, 99_999_999, a.pk):
        with pytest.raises(Http404):
            user_make_sub_leader(leader=a, member_id=member_id)
    # Upwards is outside too: b (once a leader) cannot demote a.
    b.role = User.Role.LEADER
    b.save()
    with pytest.raises(Http404):
        user_remove_sub_leader(leader=b, member_id=a.pk)


def test_a_plain_member_cannot_name_sub_leaders(chain):
    _a, b, c, _d = chain
    with pytest.raises(Http404):
        user_make_sub_leader(leader=b, member_id=c.pk)


def test_staff_accounts_are_left_to_the_admin(chain):
    a, b, _c, _d = chain
    User.objects.filter(pk=b.pk).update(is_staff=True, role=User.Role.LEADER)
    with pytest.raises(SubLeaderChangeRefused):
        user_remove_sub_leader(leader=a, member_id=b.pk)


# --- Refresh everything in a filter --------------------------------------------------------
def _settle(users, **fields):
    CedulaInfo.objects.filter(user__in=users).update(
        status=CedulaStatus.FOUND, requested_at=timezone.now() - timedelta(days=2), **fields
    )


def test_refresh_by_filter_queues_on_the_refresh_queue_and_explains_what_it_skipped(settings):
    settings.LOOKUP_REFRESH_RATE_LIMIT = 5
    leader = LeaderFactory()
    ready = [UserFactory(referred_by=leader) for _ in range(7)]
    busy = UserFactory(referred_by=leader)  # pending since signup
    recent = UserFactory(referred_by=ready[0])  # level 2, asked for a moment ago
    _settle(ready)
    _settle([recent])
    CedulaInfo.objects.filter(user=recent).update(requested_at=timezone.now())
    members = network_filtered(viewer=leader, filters=NetworkFilter())
    report = network_refresh_filtered(requester=leader, members=members)
    assert (report.total, report.queued, report.in_flight, report.cooldown, report.over_budget) == (
        9,
        5,
        1,
        1,
        2,
    )
    assert report.message == (
        "Enviamos 5 consultas a la cola de actualización. Omitimos 4: 1 ya estaba en consulta, "
        "1 se consultó hace menos de 30 segundos y 2 superan tu límite de 5 consultas por hora "
        "(te quedaban 5)."
    )
    queued = CedulaInfo.objects.filter(user__in=ready, status=CedulaStatus.PENDING)
    assert queued.count() == 5
    assert set(queued.values_list("queue", flat=True)) == {QUEUE_REFRESH}
    assert CedulaInfo.objects.get(user=busy).queue.endswith("lookups")  # left where signup put it
    # The budget is spent: a second click queues nothing and says why.
    again = network_refresh_filtered(requester=leader, members=members)
    assert again.queued == 0
    assert again.message.startswith("No enviamos ninguna consulta. Omitimos 9:")


def test_refresh_by_filter_of_nobody_says_so():
    leader = LeaderFactory()
    report = network_refresh_filtered(
        requester=leader, members=network_filtered(viewer=leader, filters=NetworkFilter())
    )
    assert report.message == "No hay nadie en este filtro para actualizar."
