"""The network queries against a brute-force walk of the same tree (SQLite and PostgreSQL)."""

import pytest

from accounts.models import CedulaInfo
from accounts.selectors.network import (
    TERRITORY_LEVELS,
    NetworkFilter,
    Outcome,
    network_ancestor_ids,
    network_filtered,
    network_level_totals,
    network_members,
    network_paths_from_tree,
    network_sub_leaders,
    network_territory,
)
from tests.fixtures.factories import LeaderFactory, UserFactory
from tests.fixtures.network import (
    brute_descendants,
    brute_place,
    brute_rows,
    build_network,
    rows_for_a_module,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def network(django_db_setup, django_db_blocker):
    # Built once for the module (rolled back at its end); each test's changes are undone.
    with rows_for_a_module(django_db_blocker):
        net = build_network(size=70, depth=6, seed=12)
        # Someone else's network next to it: never counted.
        build_network(size=15, depth=3, seed=99)
        yield net


def test_network_depths_match_a_walk_of_the_tree(network):
    expected = brute_descendants(brute_rows(), network.root.pk)
    got = {member.pk: member.depth for member in network_members(viewer=network.root)}
    assert got == expected
    assert max(got.values()) == 6
    assert network.root.pk not in got


def test_a_plain_member_sees_only_direct_referrals(network):
    rows = brute_rows()
    member = next(m for m in network.members if m.role == "USER" and brute_descendants(rows, m.pk, 1))
    member.refresh_from_db()
    got = {m.pk: m.depth for m in network_members(viewer=member)}
    assert got == {pk: 1 for pk, row in rows.items() if row["referred_by_id"] == member.pk}


def test_a_sub_leader_sees_only_their_own_branch(network):
    rows = brute_rows()
    sub = next(m for m in network.members if m.role == "LEADER" and brute_descendants(rows, m.pk))
    sub.refresh_from_db()
    assert {m.pk: m.depth for m in network_members(viewer=sub)} == brute_descendants(rows, sub.pk)


def test_outcomes_follow_the_issue_and_keep_the_last_answer_while_in_flight(network):
    rows = brute_rows()
    got = {m.pk: m.outcome for m in network_members(viewer=network.root)}
    assert got == {pk: rows[pk]["outcome"] for pk in got}
    # The fixture really has in-flight rows with an earlier answer and rows without census.
    infos = [rows[pk]["info"] for pk in got]
    assert any(i and i["status"] == "pending" and i["result_status"] for i in infos)
    assert any(i is None for i in infos)


def test_level_totals_match_brute_force(network):
    rows = brute_rows()
    below = brute_descendants(rows, network.root.pk)
    expected = {}
    for pk, depth in below.items():
        members, can_vote = expected.get(depth, (0, 0))
        expected[depth] = (members + 1, can_vote + (rows[pk]["outcome"] == "puede_votar"))
    got = {t.depth: (t.members, t.can_vote) for t in network_level_totals(viewer=network.root)}
    assert got == expected


def test_sub_leader_totals_match_brute_force(network):
    rows = brute_rows()
    below = brute_descendants(rows, network.root.pk)
    subs = network_sub_leaders(viewer=network.root)
    expected_ids = {pk for pk in below if rows[pk]["role"] == "LEADER"}
    assert {s.user.pk for s in subs} == expected_ids
    assert len(expected_ids) >= 3
    for sub in subs:
        theirs = brute_descendants(rows, sub.user.pk)
        assert sub.network == len(theirs)
        assert sub.direct == sum(1 for d in theirs.values() if d == 1)
        assert sub.can_vote == sum(1 for pk in theirs if rows[pk]["outcome"] == "puede_votar")
        assert sub.depth == below[sub.user.pk]
        assert sub.goal_progress == min(100, round(sub.direct * 100 / max(sub.user.referral_goal, 1)))


def test_a_plain_member_has_no_sub_leader_totals(network):
    member = next(m for m in network.members if m.role == "USER")
    assert network_sub_leaders(viewer=member) == []


def _brute_territory(rows, below, places, level):
    counts = {}
    for pk in below:
        row = rows[pk]
        if any(brute_place(row, name) != value for name, value in places.items()):
            continue
        bucket = counts.setdefault(brute_place(row, level), dict.fromkeys(Outcome.ORDER, 0))
        bucket[row["outcome"]] += 1
    return counts


def test_territory_counts_match_brute_force_at_every_level(network):
    rows = brute_rows()
    below = brute_descendants(rows, network.root.pk)
    checked = 0
    frontier = [{}]
    for level in TERRITORY_LEVELS:
        next_frontier = []
        for places in frontier:
            got = {r.value: r.counts for r in network_territory(viewer=network.root, places=places)}
            assert got == _brute_territory(rows, below, places, level), (places, level)
            checked += 1
            next_frontier += [{**places, level: value} for value in got]
        frontier = next_frontier
    assert checked > 10
    # Everyone is counted once at the top.
    top = network_territory(viewer=network.root, places={})
    assert sum(r.total for r in top) == len(below)


@pytest.mark.parametrize(
    "filters",
    [
        NetworkFilter(outcome="puede_votar"),
        NetworkFilter(outcome="sin_consultar"),
        NetworkFilter(outcome="cancelada"),
        NetworkFilter(depth=2),
        NetworkFilter(depth=6),
        NetworkFilter(places={"municipio": "MEDELLÍN"}),
        NetworkFilter(places={"municipio": "MEDELLÍN", "puesto": "COLISEO"}, outcome="puede_votar"),
        NetworkFilter(places={"departamento": ""}),
        NetworkFilter(places={"puesto": "CORFERIAS", "mesa": "2"}),
    ],
)
def test_filters_match_brute_force(network, filters):
    rows = brute_rows()
    below = brute_descendants(rows, network.root.pk)
    expected = {
        pk
        for pk, depth in below.items()
        if (not filters.outcome or rows[pk]["outcome"] == filters.outcome)
        and (not filters.depth or depth == filters.depth)
        and all(brute_place(rows[pk], name) == value for name, value in filters.places.items())
    }
    got = {m.pk for m in network_filtered(viewer=network.root, filters=filters)}
    assert got == expected
    assert expected  # the case really selects someone


def test_name_search_finds_accented_names_anywhere_in_the_network(network):
    deep = max(network_members(viewer=network.root), key=lambda m: m.depth)
    deep.nombre_completo = "José Núñez Güiza"
    deep.save()
    got = network_filtered(viewer=network.root, filters=NetworkFilter(query="nunez JOSE"))
    assert [m.pk for m in got] == [deep.pk]


@pytest.mark.parametrize(
    ("sort", "key", "reverse"),
    [
        ("nombre", lambda m: (m.nombre_completo, m.pk), False),
        ("-nombre", lambda m: (m.nombre_completo, m.pk), True),
        ("nivel", lambda m: (m.depth, m.nombre_completo, m.pk), False),
        ("-fecha", lambda m: (m.date_joined, m.pk), True),
        ("cedula", lambda m: m.cedula, False),
    ],
)
def test_sorting_orders_the_whole_network(network, sort, key, reverse):
    got = list(network_filtered(viewer=network.root, filters=NetworkFilter(), sort=sort))
    assert got == sorted(got, key=key, reverse=reverse)
    assert len(got) == 70


def test_sorting_by_puesto_puts_each_puesto_together_and_no_census_last(network):
    CedulaInfo.objects.filter(user=network.members[0]).delete()
    got = list(network_filtered(viewer=network.root, filters=NetworkFilter(), sort="puesto"))
    infos = [getattr(m, "cedula_info", None) for m in got]
    assert infos[-1] is None  # NULLs last on SQLite and PostgreSQL alike
    puestos = [info.puesto for info in infos if info is not None]
    assert puestos == sorted(puestos)


# ------------------------------------------------------------------------------
# Cycles and the materialised path
# ------------------------------------------------------------------------------
def test_ancestors_come_nearest_first():
    a = LeaderFactory()
    b = UserFactory(referred_by=a)
    c = UserFactory(referred_by=b)
    assert network_ancestor_ids(member_id=c.pk) == [b.pk, a.pk]


def test_queries_stay_finite_with_a_cycle_written_behind_the_services_back():
    from accounts.models import User

    a = LeaderFactory()
    b = UserFactory(referred_by=a)
    c = LeaderFactory(referred_by=b)
    # A raw UPDATE skips every guard: a -> b -> c -> a.
    User.objects.filter(pk=a.pk).update(referred_by=c)
    # The walk up ends where it meets c again, c included: the cycle shows.
    assert network_ancestor_ids(member_id=c.pk) == [b.pk, a.pk, c.pk]
    tree = network_paths_from_tree()  # terminates; the cycle hangs from no root
    assert not {a.pk, b.pk, c.pk} & set(tree)
    a.refresh_from_db()
    assert {m.pk for m in network_members(viewer=a)} == {b.pk, c.pk}


def test_paths_kept_by_the_signals_equal_the_tree(network):
    from accounts.models import User

    expected = network_paths_from_tree()
    stored = {
        pk: (path, level)
        for pk, path, level in User.objects.values_list("pk", "network_path", "network_level")
    }
    assert stored == expected


def test_members_without_a_census_row_count_as_sin_dato(network):
    CedulaInfo.objects.filter(user__in=network.members[:5]).delete()
    top = {r.value: r.counts for r in network_territory(viewer=network.root, places={})}
    rows = brute_rows()
    below = brute_descendants(rows, network.root.pk)
    assert top == _brute_territory(rows, below, {}, "departamento")
    assert top[""]["sin_consultar"] >= 5


def test_mesas_sort_as_numbers():
    leader = LeaderFactory()
    for mesa in ("10", "2", "1"):
        member = UserFactory(referred_by=leader)
        CedulaInfo.objects.filter(user=member).update(status="found", puesto="P", mesa=mesa)
    got = network_filtered(viewer=leader, filters=NetworkFilter(), sort="mesa")
    assert [m.cedula_info.mesa for m in got] == ["1", "2", "10"]
