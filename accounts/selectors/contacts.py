"""Reads for contacts and their imports (issue 14)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Count, F
from django.shortcuts import get_object_or_404
from django.utils import timezone

from accounts.models import CedulaInfo, ContactImport, ImportRow, User
from accounts.selectors.network import (
    NETWORK_MAX_DEPTH,
    Outcome,
    network_contacts,
    network_prefix,
    outcome_of,
)

_CHUNK = 500


def known_cedulas(*, leader: User, cedulas: Iterable[str]) -> tuple[set[str], set[str]]:
    """Of ``cedulas``: those already in ``leader``'s network, and those of members of another network.

    In the network: a member below the leader, or a contact of the leader or of a
    leader below them. Of another network: any other registered member (tombstones
    hold no real cédula). A contact of a leader elsewhere is neither: the cédula is
    shared and costs no second lookup.
    """
    cedulas = list(dict.fromkeys(cedulas))
    in_network: set[str] = set()
    other: set[str] = set()
    prefix = network_prefix(leader)
    contacts = network_contacts(viewer=leader, max_depth=NETWORK_MAX_DEPTH)
    for start in range(0, len(cedulas), _CHUNK):
        chunk = cedulas[start : start + _CHUNK]
        for cedula, path, is_contact in User.objects.filter(
            cedula__in=chunk, deleted_at__isnull=True
        ).values_list("cedula", "network_path", "is_contact"):
            if not is_contact:
                (in_network if path.startswith(prefix) else other).add(cedula)
        in_network.update(contacts.filter(person__cedula__in=chunk).values_list("person__cedula", flat=True))
    return in_network, other - in_network


def imports_in_flight(*, leader: User) -> int:
    return ContactImport.objects.filter(
        leader=leader, status__in=(ContactImport.Status.QUEUED, ContactImport.Status.RUNNING)
    ).count()


def imports_of(*, leader: User):
    # Never the staged rows (up to a few MB while an import runs).
    return ContactImport.objects.filter(leader=leader).defer("staged").order_by("-created_at", "-pk")


def import_of(*, leader: User, import_id: int) -> ContactImport:
    """The leader's own import; 404 alike for someone else's and for an unknown id."""
    return get_object_or_404(ContactImport.objects.defer("staged"), pk=import_id, leader=leader)


@dataclass(frozen=True)
class ImportProgress:
    contact_import: ContactImport
    lookups: dict[str, int]  # outcome → persons of the import
    looked_up: int
    to_look_up: int
    eta_seconds: int | None

    @property
    def rows_percent(self) -> int:
        total = self.contact_import.rows_total
        return 100 if not total else min(100, self.contact_import.rows_done * 100 // total)

    @property
    def lookups_percent(self) -> int:
        return 100 if not self.to_look_up else min(100, self.looked_up * 100 // self.to_look_up)

    @property
    def done(self) -> bool:
        return self.contact_import.status == ContactImport.Status.DONE and self.looked_up >= self.to_look_up

    @property
    def lookup_rows(self) -> list[tuple[str, str, int]]:
        return [(key, Outcome.LABELS[key], self.lookups.get(key, 0)) for key in Outcome.ORDER]


def import_progress(*, contact_import: ContactImport) -> ImportProgress:
    """Rows created, lookups done by outcome, and an ETA from the rate measured so far.

    The lookups counted are those of the import's created rows: a shared cédula whose
    answer was already known counts as done at once.
    """
    created = ImportRow.objects.filter(contact_import=contact_import, outcome=ImportRow.Outcome.CREATED)
    rows = CedulaInfo.objects.filter(user_id__in=created.values("person_id"))
    grouped = rows.order_by().values("status", r=F("result_status")).annotate(n=Count("pk"))
    lookups: dict[str, int] = {}
    looked_up = 0
    total = 0
    for row in grouped:
        total += row["n"]
        if row["status"] in ("pending", "processing"):
            continue
        looked_up += row["n"]
        key = outcome_of(status=row["status"], result_status=row["r"])
        lookups[key] = lookups.get(key, 0) + row["n"]
    to_look_up = max(total, contact_import.created)
    eta = None
    started = contact_import.started_at
    if started and looked_up < to_look_up and looked_up:
        # The lookups are the slow part (seconds each, rows take milliseconds): the rate
        # measured since the import started, applied to what is left.
        elapsed = max((timezone.now() - started).total_seconds(), 1.0)
        eta = int((to_look_up - looked_up) * elapsed / looked_up) + 1
    return ImportProgress(
        contact_import=contact_import,
        lookups=lookups,
        looked_up=looked_up,
        to_look_up=to_look_up,
        eta_seconds=eta,
    )


def eta_text(seconds: int | None) -> str:
    if seconds is None:
        return "calculando…"
    if seconds < 60:
        return "menos de un minuto"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"unos {minutes} minutos" if minutes > 1 else "un minuto"
    return f"unas {round(minutes / 60, 1):g} horas".replace(".", ",")


def imports_started_since(*, leader: User, hours: int = 24) -> int:
    return ContactImport.objects.filter(
        leader=leader, created_at__gte=timezone.now() - timedelta(hours=hours)
    ).count()
