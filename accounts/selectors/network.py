"""Reads over a member's network: their referrals, the referrals of those, and so on.

The tree lives in ``User.referred_by``. Every query here starts from one recursive
CTE (``_network_cte``) that the database walks, on PostgreSQL and SQLite alike; no
query walks the tree in Python. The CTE carries each member's depth below the viewer
(1 = direct referral) and stops at ``NETWORK_MAX_DEPTH`` and at the viewer, so even a
cycle written behind the services' back (raw SQL, a bad import) cannot loop it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection
from django.db.models import Case, CharField, Count, F, IntegerField, Q, QuerySet, Value, When
from django_cte import CTE, with_cte
from django_cte.raw import raw_cte_sql

from accounts.models import CedulaInfo, CedulaStatus, User

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
# The recursive CTE
# ------------------------------------------------------------------------------
def _net_body_sql() -> str:
    """The body of the ``net`` CTE; its parameters are (root, root, max_depth, root)."""
    table = connection.ops.quote_name(User._meta.db_table)
    # UNION ALL: a member has one referrer, so each is reached once; the viewer is
    # never re-entered (cycle guard) and the depth bound is a second, blunt guard.
    # Only the table name (from the model, quoted) is formatted in; values are bound.
    sql = (
        f"SELECT u.id AS id, 1 AS depth FROM {table} u WHERE u.referred_by_id = %s AND u.id <> %s "  # noqa: S608
        f"UNION ALL "
        f"SELECT u.id, net.depth + 1 FROM {table} u INNER JOIN net ON u.referred_by_id = net.id "
        f"WHERE net.depth < %s AND u.id <> %s"
    )
    return sql


def _net_params(*, root_id: int, max_depth: int) -> list[int]:
    return [root_id, root_id, max_depth, root_id]


def _network_cte(*, root_id: int, max_depth: int) -> CTE:
    sql = _net_body_sql()
    return CTE(
        raw_cte_sql(
            sql,
            _net_params(root_id=root_id, max_depth=max_depth),
            {"id": IntegerField(), "depth": IntegerField()},
        ),
        name="net",
    )


def network_depth_for(user: User) -> int:
    """How deep a viewer sees: a leader their whole network, a member their direct referrals."""
    return NETWORK_MAX_DEPTH if user.is_leader else 1


def network_members(*, viewer: User, max_depth: int | None = None) -> QuerySet[User]:
    """The members of ``viewer``'s network, annotated with ``depth`` (1 = direct) and ``outcome``.

    ``max_depth`` defaults to what the viewer may see (``network_depth_for``).
    """
    depth = network_depth_for(viewer) if max_depth is None else max_depth
    cte = _network_cte(root_id=viewer.pk, max_depth=depth)
    qs = cte.join(User.objects.select_related("cedula_info"), id=cte.col.id).annotate(
        depth=cte.col.depth, outcome=_outcome_expression()
    )
    return with_cte(cte, select=qs)


def network_contains(*, viewer: User, member_id: int) -> bool:
    """Whether ``member_id`` is inside what ``viewer`` may see."""
    return network_members(viewer=viewer).filter(pk=member_id).exists()


def network_ancestor_ids(*, member_id: int) -> list[int]:
    """The ids above ``member_id`` (their referrer, the referrer's referrer, …), nearest first.

    Bounded like the network, and stops if it meets ``member_id`` again (a cycle).
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

    qs = network_members(viewer=viewer)
    if filters.outcome in Outcome.ORDER:
        qs = qs.filter(outcome=filters.outcome)
    if filters.depth:
        qs = qs.filter(depth=filters.depth)
    for name, value in filters.places.items():
        qs = qs.filter(_place_q(name, value))
    if filters.changed_only:
        qs = qs.filter(cedula_info__changed_at__isnull=False)
        if filters.changed_since:
            qs = qs.filter(cedula_info__changed_at__gt=filters.changed_since)
    qs = referral_search(qs, filters.query)
    return qs.order_by(*sort_fields(sort))


def sort_fields(sort: str) -> tuple[str, ...]:
    descending = sort.startswith("-")
    fields = SORTS.get(sort.lstrip("-")) or SORTS["fecha"]
    if sort.lstrip("-") not in SORTS:
        descending = True
    return tuple(f"-{f}" if descending else f for f in fields)


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
    rows = (
        network_members(viewer=viewer)
        .order_by()
        .values("depth")
        .annotate(members=Count("id"), can_vote=Count("id", filter=Q(outcome=Outcome.CAN_VOTE)))
        .order_by("depth")
    )
    return [LevelTotal(depth=r["depth"], members=r["members"], can_vote=r["can_vote"]) for r in rows]


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


def network_sub_leaders(*, viewer: User) -> list[SubLeaderTotal]:
    """Every leader inside the viewer's network with the size of their own network.

    One query: a second recursive CTE starts at each sub-leader and carries that
    sub-leader's id down as ``root``, so all their networks are counted at once.
    """
    if not viewer.is_leader:
        return []
    user_table = connection.ops.quote_name(User._meta.db_table)
    info_table = connection.ops.quote_name(CedulaInfo._meta.db_table)
    found = CedulaStatus.FOUND
    in_flight = sorted(CedulaStatus.in_flight())
    net_sql = _net_body_sql()
    can_vote = "ci.status = %s OR (ci.status IN (%s, %s) AND ci.result_status = %s)"
    sql = (
        f"WITH RECURSIVE net(id, depth) AS ({net_sql}), "  # noqa: S608 (table names only, values bound)
        f"sub(root, id, depth) AS ("
        f" SELECT net.id, net.id, 0 FROM net INNER JOIN {user_table} u ON u.id = net.id WHERE u.role = %s"
        f" UNION ALL SELECT sub.root, u.id, sub.depth + 1 FROM {user_table} u"
        f" INNER JOIN sub ON u.referred_by_id = sub.id WHERE sub.depth < %s AND u.id <> sub.root"
        f") SELECT sub.root,"
        f" SUM(CASE WHEN sub.depth = 1 THEN 1 ELSE 0 END),"
        f" SUM(CASE WHEN sub.depth >= 1 THEN 1 ELSE 0 END),"
        f" SUM(CASE WHEN sub.depth >= 1 AND ({can_vote}) THEN 1 ELSE 0 END)"
        f" FROM sub LEFT JOIN {info_table} ci ON ci.user_id = sub.id GROUP BY sub.root"
    )
    params = [
        *_net_params(root_id=viewer.pk, max_depth=NETWORK_MAX_DEPTH),
        User.Role.LEADER,
        NETWORK_MAX_DEPTH,
        found,
        *in_flight,
        found,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        totals = {root: (direct, size, can_vote) for root, direct, size, can_vote in cursor.fetchall()}
    leaders = network_members(viewer=viewer).filter(pk__in=list(totals)).order_by("depth", "nombre_completo")
    return [
        SubLeaderTotal(
            user=leader,
            depth=leader.depth,
            direct=int(totals[leader.pk][0] or 0),
            network=int(totals[leader.pk][1] or 0),
            can_vote=int(totals[leader.pk][2] or 0),
        )
        for leader in leaders
    ]


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
    qs = network_members(viewer=viewer)
    for name, value in places.items():
        qs = qs.filter(_place_q(name, value))
    annotations = {outcome: Count("id", filter=Q(outcome=outcome)) for outcome in Outcome.ORDER}
    rows = qs.order_by().annotate(place=F(f"cedula_info__{level}")).values("place").annotate(**annotations)
    merged: dict[str, dict[str, int]] = {}
    for row in rows:
        # NULL (no census row) and "" are the same group to a reader: sin dato.
        counts = merged.setdefault(row["place"] or "", dict.fromkeys(Outcome.ORDER, 0))
        for outcome in Outcome.ORDER:
            counts[outcome] += row[outcome]
    return [TerritoryRow(value=value, counts=counts) for value, counts in merged.items()]
