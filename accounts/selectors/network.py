"""Reads over a member's network: their referrals, the referrals of those, and so on.

The tree lives in ``User.referred_by``; ``User.network_path`` materialises it (the
ids above each member, root first), kept up to date on every save by
``accounts.signals`` / ``accounts.services.network``. A network is then one indexed
prefix scan, and depth is a subtraction of levels: at 100,000 members a recursive
walk per page view was several times the 300 ms budget (docs/benchmarks.md). The
recursive CTEs here (``network_ancestor_ids``, ``network_paths_from_tree``) read
``referred_by`` itself: the cycle guard and the rebuild/check of the paths. No query
walks the tree in Python.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection
from django.db.models import (
    Case,
    CharField,
    Count,
    ExpressionWrapper,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Length

from accounts.models import CedulaInfo, CedulaStatus, Contact, User

# Far deeper than any real organisation; a bound, not a policy.
NETWORK_MAX_DEPTH = 50


# ------------------------------------------------------------------------------
# Outcomes: the five groups the territory counts
# ------------------------------------------------------------------------------
class Outcome:
    CAN_VOTE = "puede_votar"
    NOT_REGISTERED = "no_inscrito"
    CANCELLED = "cancelada"
    PENDING = "pendiente"
    UNKNOWN = "sin_consultar"

    ORDER = (CAN_VOTE, NOT_REGISTERED, CANCELLED, PENDING, UNKNOWN)
    LABELS = {
        CAN_VOTE: "Puede votar",
        NOT_REGISTERED: "No inscrito",
        CANCELLED: "Cancelada",
        PENDING: "Pendiente",
        UNKNOWN: "Sin consultar / error",
    }
    STATUSES = {
        CAN_VOTE: (CedulaStatus.FOUND,),
        NOT_REGISTERED: (CedulaStatus.NOT_FOUND,),
        CANCELLED: (CedulaStatus.CANCELLED_DECEASED, CedulaStatus.CANCELLED_OTHER),
        PENDING: (CedulaStatus.PENDING_REGISTRADURIA,),
    }


def outcome_of(*, status: str | None, result_status: str | None = "") -> str:
    """The outcome of one census row, in Python (templates, tests).

    A row being looked up again keeps the outcome of its last answer: the nightly
    refresh puts thousands of rows in flight for hours, and the territory must not
    empty while it runs. Mirrors ``_outcome_expression``.
    """
    effective = status
    if status in CedulaStatus.in_flight() and result_status:
        effective = result_status
    for outcome, statuses in Outcome.STATUSES.items():
        if effective in statuses:
            return outcome
    return Outcome.UNKNOWN


def outcome_q(outcome: str) -> Q:
    """The members whose outcome is ``outcome``, as plain conditions (cheaper to filter than the CASE)."""
    in_flight = list(CedulaStatus.in_flight())
    if outcome == Outcome.UNKNOWN:
        known = [status for statuses in Outcome.STATUSES.values() for status in statuses]
        return Q(cedula_info__isnull=True) | (
            ~Q(cedula_info__status__in=known)
            & ~Q(cedula_info__status__in=in_flight, cedula_info__result_status__in=known)
        )
    statuses = list(Outcome.STATUSES[outcome])
    return Q(cedula_info__status__in=statuses) | Q(
        cedula_info__status__in=in_flight, cedula_info__result_status__in=statuses
    )


def _outcome_expression(prefix: str = "cedula_info__") -> Case:
    in_flight = list(CedulaStatus.in_flight())
    whens = []
    for outcome, statuses in Outcome.STATUSES.items():
        statuses = list(statuses)
        whens.append(
            When(
                Q(**{f"{prefix}status__in": statuses})
                | Q(**{f"{prefix}status__in": in_flight, f"{prefix}result_status__in": statuses}),
                then=Value(outcome),
            )
        )
    return Case(*whens, default=Value(Outcome.UNKNOWN), output_field=CharField())


# ------------------------------------------------------------------------------
# The network: a prefix of the materialised path
# ------------------------------------------------------------------------------
def network_prefix(user: User) -> str:
    """The ``network_path`` prefix shared by everyone below ``user``."""
    return f"{user.network_path}{user.pk}/"


def network_depth_for(user: User) -> int:
    """How deep a viewer sees: a leader their whole network, a member their direct referrals."""
    return NETWORK_MAX_DEPTH if user.is_leader else 1


def network_contacts(*, viewer: User, max_depth: int) -> QuerySet[Contact]:
    """The Contact rows of ``viewer``'s network: their own and those of the leaders below them.

    A contact hangs one level below the leader who brought them. Only persons still
    without an account count as contacts: once one registers, they are a member.
    """
    leaders = Q(leader_id=viewer.pk)
    if max_depth > 1:
        below = Q(leader__network_path__startswith=network_prefix(viewer), leader__deleted_at__isnull=True)
        if max_depth < NETWORK_MAX_DEPTH:
            below &= Q(leader__network_level__lte=viewer.network_level + max_depth - 1)
        leaders |= below
    return Contact.objects.filter(leaders, person__is_contact=True)


def network_has_contacts(*, viewer: User, max_depth: int) -> bool:
    """Whether any contact is in the network (cached on the viewer for the request).

    Without contacts every network query is exactly the members-only query it always was.
    """
    cache = viewer.__dict__.setdefault("_network_has_contacts", {})
    if max_depth not in cache:
        cache[max_depth] = network_contacts(viewer=viewer, max_depth=max_depth).exists()
    return cache[max_depth]


def _network_base(*, viewer: User, max_depth: int) -> QuerySet[User]:
    if max_depth == 1:
        # Direct referrals: the referrer column itself, so a member's view never
        # depends on the path being up to date.
        members = Q(referred_by_id=viewer.pk, deleted_at__isnull=True) & ~Q(pk=viewer.pk)
    else:
        # Tombstones (deleted members, issue 13) keep their place in the tree but are nobody's data.
        members = Q(network_path__startswith=network_prefix(viewer), deleted_at__isnull=True)
        if max_depth < NETWORK_MAX_DEPTH:
            members &= Q(network_level__lte=viewer.network_level + max_depth)
    if network_has_contacts(viewer=viewer, max_depth=max_depth):
        contacts = network_contacts(viewer=viewer, max_depth=max_depth).values("person_id")
        members |= Q(is_contact=True, pk__in=contacts)
    return User.objects.filter(members)


def _nearest_contact(*, viewer: User, max_depth: int) -> QuerySet[Contact]:
    # The contact row nearest the viewer (their own first), for depth, name and phone.
    return (
        network_contacts(viewer=viewer, max_depth=max_depth)
        .filter(person_id=OuterRef("pk"))
        .order_by("leader__network_level", "created_at", "pk")
    )


def network_members(*, viewer: User, max_depth: int | None = None) -> QuerySet[User]:
    """The people of ``viewer``'s network, annotated with ``depth`` (1 = direct) and ``outcome``.

    Members and contacts alike; a contact also gets ``contact_nombre`` and
    ``contact_telefono`` from the viewer's own side of the network (``shown_nombre``).
    ``max_depth`` defaults to what the viewer may see (``network_depth_for``).
    """
    depth = network_depth_for(viewer) if max_depth is None else max_depth
    member_depth = ExpressionWrapper(F("network_level") - viewer.network_level, output_field=IntegerField())
    qs = _network_base(viewer=viewer, max_depth=depth).select_related("cedula_info")
    if not network_has_contacts(viewer=viewer, max_depth=depth):
        return qs.annotate(depth=member_depth, outcome=_outcome_expression())
    nearest = _nearest_contact(viewer=viewer, max_depth=depth)
    contact_depth = ExpressionWrapper(
        Subquery(nearest.values("leader__network_level")[:1]) + 1 - viewer.network_level,
        output_field=IntegerField(),
    )
    return qs.annotate(
        depth=Case(
            When(is_contact=True, then=contact_depth), default=member_depth, output_field=IntegerField()
        ),
        outcome=_outcome_expression(),
        contact_nombre=Subquery(nearest.values("nombre")[:1]),
        contact_telefono=Subquery(nearest.values("telefono")[:1]),
        contact_since=Subquery(nearest.values("created_at")[:1]),
        sort_nombre=Coalesce(Subquery(nearest.values("nombre")[:1]), F("nombre_completo")),
    )


def network_contains(*, viewer: User, member_id: int) -> bool:
    """Whether ``member_id`` is inside what ``viewer`` may see."""
    depth = network_depth_for(viewer)
    return _network_base(viewer=viewer, max_depth=depth).filter(pk=member_id).exists()


def network_ancestor_ids(*, member_id: int) -> list[int]:
    """The ids above ``member_id`` (their referrer, the referrer's referrer, …), nearest first.

    Read from ``referred_by`` itself with a recursive CTE (PostgreSQL and SQLite), not
    from the materialised path, so the cycle guard holds even if a path were stale.
    Bounded, and stops when it meets ``member_id`` again: on a cycle written behind
    the services' back the list ends with ``member_id`` itself.
    """
    table = connection.ops.quote_name(User._meta.db_table)
    sql = (
        f"WITH RECURSIVE up(id, step) AS ("  # noqa: S608 (table name only, values bound)
        f" SELECT referred_by_id, 1 FROM {table} WHERE id = %s AND referred_by_id IS NOT NULL"
        f" UNION ALL"
        f" SELECT u.referred_by_id, up.step + 1 FROM {table} u INNER JOIN up ON u.id = up.id"
        f" WHERE u.referred_by_id IS NOT NULL AND up.step < %s AND up.id <> %s"
        f") SELECT id FROM up ORDER BY step"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [member_id, NETWORK_MAX_DEPTH + 1, member_id])
        return [row[0] for row in cursor.fetchall()]


def network_paths_from_tree() -> dict[int, tuple[str, int]]:
    """Every member's (path, level) computed from ``referred_by`` by a recursive CTE.

    Used to rebuild the materialised paths and to check them. Members caught in a
    cycle are unreachable from any root and are left out; the depth bound ends the
    recursion whatever the data.
    """
    table = connection.ops.quote_name(User._meta.db_table)
    sql = (
        f"WITH RECURSIVE tree(id, path, lvl) AS ("  # noqa: S608 (table name only, values bound)
        f" SELECT id, CAST('' AS VARCHAR(600)), 0 FROM {table} WHERE referred_by_id IS NULL"
        f" UNION ALL"
        f" SELECT u.id, CAST(tree.path || CAST(tree.id AS VARCHAR(20)) || '/' AS VARCHAR(600)), tree.lvl + 1"
        f" FROM {table} u INNER JOIN tree ON u.referred_by_id = tree.id WHERE tree.lvl < %s"
        f") SELECT id, path, lvl FROM tree"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [NETWORK_MAX_DEPTH])
        return {row[0]: (row[1], row[2]) for row in cursor.fetchall()}


# ------------------------------------------------------------------------------
# Filters and sorting (Referidos, exports, printable lists)
# ------------------------------------------------------------------------------
SORTS = {
    "fecha": ("date_joined", "pk"),
    "nombre": ("nombre_completo", "pk"),
    "cedula": ("cedula",),
    "nivel": ("depth", "nombre_completo", "pk"),
    "estado": ("outcome", "nombre_completo", "pk"),
    "municipio": ("cedula_info__municipio", "cedula_info__puesto", "nombre_completo", "pk"),
    "puesto": ("cedula_info__puesto", "cedula_info__mesa", "nombre_completo", "pk"),
    "mesa": ("cedula_info__mesa", "nombre_completo", "pk"),
}
DEFAULT_SORT = "-fecha"
# What a Referidos page shows: loading only these keeps the rows narrow enough for
# PostgreSQL to sort a 100,000-member network in memory (the census row also holds
# the raw reply and the operators' detail, which the page never shows).
PAGE_FIELDS = (
    "id",
    "nombre_completo",
    "cedula",
    "telefono",
    "is_contact",
    "role",
    "date_joined",
    "network_level",
    "referred_by_id",
    *(
        f"cedula_info__{name}"
        for name in (
            "id",
            "user_id",
            "status",
            "result_status",
            "departamento",
            "municipio",
            *(["zona"] if any(f.name == "zona" for f in CedulaInfo._meta.get_fields()) else []),
            "puesto",
            "mesa",
            "novedad",
            "queue",
            "changed_at",
        )
    ),
)


@dataclass(frozen=True)
class NetworkFilter:
    """What Referidos, the exports and the printable list narrow the network by.

    Place values are matched exactly; ``""`` is a real value ("sin dato") only for the
    place fields listed in ``blank_places``, because the territory links to those
    groups too.
    """

    query: str = ""
    outcome: str = ""
    depth: int | None = None
    changed_only: bool = False
    changed_since: datetime | None = None
    places: dict[str, str] = field(default_factory=dict)


def _place_q(name: str, value: str) -> Q:
    if value:
        return Q(**{f"cedula_info__{name}": value})
    # The territory's "Sin dato" group: an empty place, or no census row at all.
    return Q(**{f"cedula_info__{name}": ""}) | Q(cedula_info__isnull=True)


def network_filtered(*, viewer: User, filters: NetworkFilter, sort: str = DEFAULT_SORT) -> QuerySet[User]:
    from accounts.selectors.users import referral_search

    depth = network_depth_for(viewer)
    qs = network_members(viewer=viewer)
    with_contacts = network_has_contacts(viewer=viewer, max_depth=depth)
    if filters.outcome in Outcome.ORDER:
        qs = qs.filter(outcome_q(filters.outcome))
    if filters.depth:
        qs = qs.filter(depth=filters.depth)
    for name, value in filters.places.items():
        qs = qs.filter(_place_q(name, value))
    if filters.changed_only:
        qs = qs.filter(cedula_info__changed_at__isnull=False)
        if filters.changed_since:
            qs = qs.filter(cedula_info__changed_at__gt=filters.changed_since)
    contacts = network_contacts(viewer=viewer, max_depth=depth) if with_contacts else None
    qs = referral_search(qs, filters.query, contacts=contacts)
    return qs.order_by(*sort_fields(sort, contacts=with_contacts))


def sort_fields(sort: str, *, contacts: bool = False) -> tuple:
    """ORDER BY for ``sort``; members without a census row sort last either way on both
    databases (PostgreSQL and SQLite put NULLs at opposite ends by default)."""
    key = sort.lstrip("-")
    descending = sort.startswith("-")
    if key not in SORTS:
        key, descending = "fecha", True
    fields = []
    for name in SORTS[key]:
        if contacts and name == "nombre_completo":
            name = "sort_nombre"  # a contact's name is the viewer's Contact row's
        # Mesas are numbers written as text: shorter first puts "2" before "10".
        expressions = [Length(name), F(name)] if name.endswith("__mesa") else [F(name)]
        for expression in expressions:
            fields.append(expression.desc(nulls_last=True) if descending else expression.asc(nulls_last=True))
    return tuple(fields)


# ------------------------------------------------------------------------------
# Totals: per level, per sub-leader
# ------------------------------------------------------------------------------
@dataclass(frozen=True)
class LevelTotal:
    depth: int
    members: int
    can_vote: int

    @property
    def label(self) -> str:
        return level_label(self.depth)


def level_label(depth: int) -> str:
    if depth == 1:
        return "Nivel 1 · tus referidos directos"
    if depth == 2:
        return "Nivel 2 · referidos de tus referidos"
    return f"Nivel {depth}"


def network_level_totals(*, viewer: User) -> list[LevelTotal]:
    """Members and how many can vote, per level below ``viewer`` (one grouped pass)."""
    max_depth = network_depth_for(viewer)
    if network_has_contacts(viewer=viewer, max_depth=max_depth):
        # A contact's level is their leader's plus one: group by the annotated depth.
        base = network_members(viewer=viewer).annotate(network_level_seen=F("depth") + viewer.network_level)
        level_field = "network_level_seen"
    else:
        base, level_field = _network_base(viewer=viewer, max_depth=max_depth), "network_level"
    rows = (
        base.order_by()
        .values(level_field, status=F("cedula_info__status"), result_status=F("cedula_info__result_status"))
        .annotate(n=Count("pk"))
    )
    members: dict[int, int] = {}
    can_vote: dict[int, int] = {}
    for row in rows:
        depth = row[level_field] - viewer.network_level if viewer.is_leader else 1
        members[depth] = members.get(depth, 0) + row["n"]
        if outcome_of(status=row["status"], result_status=row["result_status"]) == Outcome.CAN_VOTE:
            can_vote[depth] = can_vote.get(depth, 0) + row["n"]
    return [LevelTotal(depth=d, members=members[d], can_vote=can_vote.get(d, 0)) for d in sorted(members)]


@dataclass(frozen=True)
class SubLeaderTotal:
    user: User
    depth: int
    direct: int
    network: int
    can_vote: int

    @property
    def goal(self) -> int:
        return max(self.user.referral_goal, 1)

    @property
    def goal_progress(self) -> int:
        return min(100, round(self.direct * 100 / self.goal))


def network_sub_leaders(*, viewer: User, limit: int = 200) -> list[SubLeaderTotal]:
    """The leaders inside the viewer's network (nearest first) with totals of their own networks.

    One small aggregate per sub-leader, each an index range scan of that sub-leader's
    path prefix; ``limit`` bounds the page.
    """
    if not viewer.is_leader:
        return []
    leaders = list(
        network_members(viewer=viewer)
        .filter(role=User.Role.LEADER)
        .order_by("depth", "nombre_completo", "pk")[:limit]
    )
    totals = []
    for leader in leaders:
        counts = (
            network_members(viewer=leader, max_depth=NETWORK_MAX_DEPTH)
            .order_by()
            .aggregate(
                network=Count("id"),
                direct=Count("id", filter=Q(referred_by_id=leader.pk)),
                can_vote=Count("id", filter=Q(outcome=Outcome.CAN_VOTE)),
            )
        )
        totals.append(
            SubLeaderTotal(
                user=leader,
                depth=leader.depth,
                direct=counts["direct"],
                network=counts["network"],
                can_vote=counts["can_vote"],
            )
        )
    return totals


# ------------------------------------------------------------------------------
# Territory
# ------------------------------------------------------------------------------
def _territory_levels() -> tuple[str, ...]:
    # "zona" joins the drill-down as soon as CedulaInfo has it (issue 15 adds it).
    names = {f.name for f in CedulaInfo._meta.get_fields()}
    return tuple(n for n in ("departamento", "municipio", "zona", "puesto", "mesa") if n in names)


TERRITORY_LEVELS = _territory_levels()
LEVEL_LABELS = {
    "departamento": "Departamento",
    "municipio": "Municipio",
    "zona": "Zona",
    "puesto": "Puesto",
    "mesa": "Mesa",
}


@dataclass
class TerritoryRow:
    value: str
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def territory_level(places: dict[str, str]) -> str | None:
    """The level shown under ``places``: the first territory level not yet chosen (None past mesa)."""
    for name in TERRITORY_LEVELS:
        if name not in places:
            return name
    return None


def network_territory(
    *, viewer: User, places: dict[str, str], level: str | None = None
) -> list[TerritoryRow]:
    """Counts per outcome at ``level`` under ``places`` (e.g. municipios of one departamento).

    ``level`` defaults to the next one down the drill-down. Members without a census
    row count under "" (sin dato) and as sin consultar.
    """
    level = level or territory_level(places)
    if level is None:
        return []
    qs = _network_base(viewer=viewer, max_depth=network_depth_for(viewer))
    for name, value in places.items():
        qs = qs.filter(_place_q(name, value))
    # Grouped by the raw status pair and mapped to outcomes here: a handful of groups
    # per place, and the database counts rows instead of evaluating a CASE per row.
    rows = (
        qs.order_by()
        .values(
            place=F(f"cedula_info__{level}"),
            status=F("cedula_info__status"),
            result_status=F("cedula_info__result_status"),
        )
        .annotate(n=Count("pk"))
    )
    merged: dict[str, dict[str, int]] = {}
    for row in rows:
        # NULL (no census row) and "" are the same group to a reader: sin dato.
        counts = merged.setdefault(row["place"] or "", dict.fromkeys(Outcome.ORDER, 0))
        counts[outcome_of(status=row["status"], result_status=row["result_status"])] += row["n"]
    return [TerritoryRow(value=value, counts=counts) for value, counts in merged.items()]
