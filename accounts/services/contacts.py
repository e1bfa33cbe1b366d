"""Writes about contacts: people in a leader's network without an account (issue 14).

One ``User`` row per cédula (``is_contact=True`` while the person has no account)
holds the census result (``CedulaInfo``) that every leader with that cédula shares,
so two leaders importing the same cédula cost one lookup. Each leader's name and
phone for the person are their own ``Contact`` row: neither sees the other's.
When the person registers, that same row becomes the member, so the census row and
its change history stay and no second lookup runs while the answer is fresh.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import CedulaInfo, CedulaStatus, ConsentRecord, Contact, ContactImport, User
from accounts.services.cedulas import STATUS_MESSAGES, cedula_lookup_send, pending_fields
from accounts.validators import fold_accents
from actors.queues import QUEUE_LOOKUPS, QUEUE_REFRESH
from scrapers.masking import mask_cedula

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ContactRow:
    cedula: str
    nombre: str
    telefono: str = ""


@dataclass(frozen=True)
class BatchResult:
    persons: dict[str, int]  # cédula → person id, for every row of the batch
    created: set[str]  # cédulas that got a new Contact row
    members: set[str]  # cédulas that belong to registered members (no contact for them)
    to_look_up: list[int]  # new persons, marked pending on the refresh queue


def _new_person(cedula: str) -> User:
    # Never active and with no usable password: this row is not an account.
    return User(
        cedula=cedula,
        nombre_completo="",
        is_contact=True,
        is_active=False,
        password=f"!{secrets.token_urlsafe(24)}",
    )


@transaction.atomic
def contacts_create_batch(
    *, leader: User, rows: list[ContactRow], source_import: ContactImport | None = None
) -> BatchResult:
    """Create ``leader``'s contacts for ``rows`` (already validated); returns what happened.

    Cédulas nobody holds get a new person row and a census row marked pending on the
    refresh queue (``to_look_up``: the caller sends them after commit). A cédula that
    another leader's contact already holds only gets this leader's Contact row: the
    census result is shared and no second lookup runs. Safe against a concurrent
    import of the same cédulas (conflicts are ignored and the rows read back).
    """
    cedulas = [row.cedula for row in rows]
    persons: dict[str, int] = {}
    members: set[str] = set()
    for cedula, pk, is_contact in User.objects.filter(cedula__in=cedulas).values_list(
        "cedula", "pk", "is_contact"
    ):
        persons[cedula] = pk
        if not is_contact:
            members.add(cedula)  # registered since the rows were checked: not a contact
    # Sorted: concurrent imports insert overlapping cédulas in one order, so they wait for
    # each other instead of deadlocking (PostgreSQL locks each conflicting key it meets).
    missing = sorted(c for c in dict.fromkeys(cedulas) if c not in persons)
    for _ in range(3):  # a referral code collision drops a row silently: insert it again
        if not missing:
            break
        User.objects.bulk_create([_new_person(c) for c in missing], ignore_conflicts=True)
        persons.update(User.objects.filter(cedula__in=missing).values_list("cedula", "pk"))
        missing = [c for c in missing if c not in persons]
    if missing:
        raise RuntimeError(f"could not create {len(missing)} contact row(s)")
    # Every person of the batch that was never looked up: the ones just created, and
    # any created by a concurrent import of the same cédulas.
    new_ids = sorted(pk for cedula, pk in persons.items() if cedula not in members)
    CedulaInfo.objects.bulk_create(
        [CedulaInfo(user_id=pk, status=CedulaStatus.PENDING, message="") for pk in new_ids],
        ignore_conflicts=True,
    )
    # Exactly one import sends each new person's lookup: the one that stamps requested_at
    # first under the row lock (a concurrent import waits, then sees it stamped).
    to_look_up = list(
        CedulaInfo.objects.select_for_update()
        .filter(user_id__in=new_ids, requested_at__isnull=True, fetched_at__isnull=True)
        .exclude(status__in=CedulaStatus.final())
        .order_by("user_id")
        .values_list("user_id", flat=True)
    )
    if to_look_up:
        CedulaInfo.objects.filter(user_id__in=to_look_up).update(**pending_fields(queue=QUEUE_REFRESH))
    existing = set(
        Contact.objects.filter(leader=leader, person_id__in=persons.values()).values_list(
            "person_id", flat=True
        )
    )
    fresh = [row for row in rows if persons[row.cedula] not in existing and row.cedula not in members]
    Contact.objects.bulk_create(
        [
            Contact(
                leader=leader,
                person_id=persons[row.cedula],
                nombre=row.nombre[:150],
                nombre_busqueda=fold_accents(row.nombre)[:150],
                telefono=row.telefono[:20],
                source_import=source_import,
            )
            for row in fresh
        ],
        ignore_conflicts=True,
    )
    return BatchResult(
        persons=persons, created={row.cedula for row in fresh}, members=members, to_look_up=to_look_up
    )


def _census_is_fresh(info: CedulaInfo | None) -> bool:
    if info is None or info.fetched_at is None:
        return False
    if info.status not in CedulaStatus.results() | {CedulaStatus.UNREADABLE}:
        return False
    return info.fetched_at >= timezone.now() - timedelta(days=settings.REFRESH_MAX_AGE_DAYS)


def contact_person_become_member(
    *,
    cedula: str,
    nombre_completo: str,
    telefono: str,
    password: str,
    referred_by: User | None,
    ip: str | None,
) -> User | None:
    """Turn the contact row of ``cedula`` (if any) into a member; None when there is none.

    Runs inside ``user_register``'s transaction. The row keeps its pk, so its census
    row and change history stay. Without a ``?ref=``, the member hangs from the leader
    who brought them first. A fresh answer is kept (no second lookup); a lookup in the
    import's backlog jumps to the signup queue; anything else is looked up now.
    """
    person = User.objects.select_for_update().filter(cedula=cedula, is_contact=True).first()
    if person is None:
        return None
    if referred_by is None:
        first = (
            Contact.objects.filter(person=person, leader__is_active=True, leader__deleted_at__isnull=True)
            .order_by("created_at", "pk")
            .select_related("leader")
            .first()
        )
        referred_by = first.leader if first else None
    now = timezone.now()
    person.nombre_completo = nombre_completo
    person.telefono = telefono
    person.set_password(password)
    person.is_contact = False
    person.is_active = True
    person.accepted_data_policy = True
    person.data_policy_accepted_at = now
    person.data_policy_version = settings.DATA_POLICY_VERSION
    person.referred_by = referred_by
    person.date_joined = now
    person.save()
    ConsentRecord.objects.create(
        user=person, version=person.data_policy_version, accepted_at=now, ip=ip or None
    )
    info = CedulaInfo.objects.filter(user_id=person.pk).first()
    if info is not None and info.status == CedulaStatus.PENDING and info.queue == QUEUE_REFRESH:
        # Waiting behind an import: the member's own signup does not wait.
        CedulaInfo.objects.filter(pk=info.pk, status=CedulaStatus.PENDING).update(
            queue=QUEUE_LOOKUPS, requested_at=now, message=STATUS_MESSAGES[CedulaStatus.PENDING]
        )
        transaction.on_commit(partial(cedula_lookup_send, user_id=person.pk, queue=QUEUE_LOOKUPS))
    elif info is None or not (info.is_in_flight or _census_is_fresh(info)):
        from accounts.services.cedulas import cedula_lookup_request

        cedula_lookup_request(user_id=person.pk)
    log.info(
        "contact became a member user_id=%s cedula=%s referrer=%s census_kept=%s",
        person.pk,
        mask_cedula(cedula),
        referred_by.pk if referred_by else "-",
        _census_is_fresh(info),
    )
    return person
