"""Writes of Importar (issue 14): stage an upload, confirm it, run it in batches.

Nothing about people is written before the leader confirms: the uploaded file is read
once and its rows wait in Django's cache (shared by every web process; keyed by the
leader's id and a random token kept in their session) while they choose columns and
read the preview; the file itself is not kept. The confirmation
records the consent (who, when, from where, the file's name, hash and row count and
the statement as shown), takes the lookups from the leader's daily budget and queues
one message for the ``import_contacts`` actor on the refresh queue. That actor
(``contact_import_run``) checks every row again, creates the contacts in batches and
sends each new cédula to the refresh queue, so signups never wait behind an import.
"""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass
from functools import partial

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.counters import counter_hit, counter_refund
from accounts.importing import (
    REASON_IN_NETWORK,
    RowCheck,
    Table,
    apply_known,
    check_rows,
    read_table,
    sha256_of,
)
from accounts.models import AuditEntry, ContactImport, ImportRow, User
from accounts.selectors.contacts import imports_in_flight, known_cedulas
from accounts.services.audit import audit_record, mask_ip
from accounts.services.cedulas import cedula_mark_unsent
from accounts.services.contacts import ContactRow, contacts_create_batch
from actors import sending
from actors.queues import IMPORT_ACTOR_NAME, QUEUE_REFRESH

log = logging.getLogger(__name__)

# The statement the leader ticks; stored verbatim with each import.
CONSENT_STATEMENT = (
    "Declaro que tengo la autorización previa, expresa e informada de cada persona de este archivo "
    "para tratar sus datos personales (nombre, cédula y teléfono) y consultar su puesto de votación, "
    "conforme a la Ley 1581 de 2012 y el Decreto 1377 de 2013, y que puedo demostrarla si se me pide."
)
REASON_REGISTERED = "Se registró en el portal mientras importábamos tu archivo."


class ImportRefused(Exception):
    """A limit or rule stops the upload or the confirmation; ``str(exc)`` is Spanish."""


def _miles(n: int) -> str:
    return f"{n:,}".replace(",", ".")


# ------------------------------------------------------------------------------
# Drafts: the uploaded file's rows between the upload and the confirmation
# ------------------------------------------------------------------------------
# In Django's cache (the database cache by default, shared by every web process on every
# machine), for a day: the review and the confirmation may reach another web process than
# the upload did. The workbook is parsed once, at the upload; the preview, the
# confirmation and the actor read these rows instead of parsing 20,000 rows again.
_DRAFT_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Draft:
    token: str
    leader_id: int
    file_name: str
    sha256: str
    size: int

    def as_session(self) -> dict:
        return {"token": self.token, "file_name": self.file_name, "sha256": self.sha256, "size": self.size}

    @classmethod
    def from_session(cls, data, *, leader_id: int) -> Draft | None:
        if not isinstance(data, dict) or not str(data.get("token", "")).isalnum():
            return None
        return cls(
            token=data["token"],
            leader_id=leader_id,
            file_name=str(data.get("file_name", ""))[:200],
            sha256=str(data.get("sha256", "")),
            size=int(data.get("size", 0)),
        )

    @property
    def cache_key(self) -> str:
        return f"import-draft:{self.leader_id}:{self.token}"


def _payload(table: Table, sha256: str) -> dict:
    return {
        "sha256": sha256,
        "header": table.header,
        "rows": [[number, cells] for number, cells in table.rows],
        "has_header": table.has_header,
    }


def _table_from(payload, *, sha256: str) -> Table | None:
    """The rows kept at the upload, or None when they are gone or not this file's."""
    try:
        if payload.get("sha256") != sha256:
            return None
        rows = [(int(number), [str(c) for c in cells]) for number, cells in payload["rows"]]
        return Table(
            header=[str(h) for h in payload["header"]], rows=rows, has_header=bool(payload["has_header"])
        )
    except (AttributeError, KeyError, TypeError, ValueError):
        return None


def draft_discard(draft: Draft) -> None:
    cache.delete(draft.cache_key)


def read_limited(upload) -> bytes:
    """The uploaded file's bytes, refusing one over ``IMPORT_MAX_FILE_BYTES`` without reading it all."""
    limit = settings.IMPORT_MAX_FILE_BYTES
    if upload.size is not None and upload.size > limit:
        raise ImportRefused(
            f"El archivo pesa más de {limit // (1024 * 1024)} MB. Divídelo o quita columnas que no uses."
        )
    data = upload.read(limit + 1)
    if len(data) > limit:
        raise ImportRefused(
            f"El archivo pesa más de {limit // (1024 * 1024)} MB. Divídelo o quita columnas que no uses."
        )
    return data


def import_stage(
    *, leader: User, file_name: str, data: bytes, previous: Draft | None = None
) -> tuple[Draft, Table]:
    """Read and keep an uploaded file for the preview; raises ImportRefused / ImportFileError.

    Uploads per leader are rate limited (each one parses up to 20,000 rows).
    """
    if (
        counter_hit(f"import-uploads:{leader.pk}", window=3600, limit=settings.IMPORT_UPLOADS_PER_HOUR)
        is None
    ):
        raise ImportRefused(
            f"Ya subiste {settings.IMPORT_UPLOADS_PER_HOUR} archivos en la última hora. Espera un rato."
        )
    table = read_table(
        data,
        file_name=file_name,
        max_rows=settings.IMPORT_MAX_ROWS,
        max_unzipped=settings.IMPORT_MAX_UNZIPPED_BYTES,
    )
    if previous is not None:
        draft_discard(previous)
    draft = Draft(
        token=secrets.token_hex(16),
        leader_id=leader.pk,
        file_name=os.path.basename(file_name or "archivo")[:200],
        sha256=sha256_of(data),
        size=len(data),
    )
    cache.set(draft.cache_key, _payload(table, draft.sha256), timeout=_DRAFT_SECONDS)
    log.info(
        "import staged leader=%s rows=%s kind=%s bytes=%s", leader.pk, len(table.rows), table.kind, len(data)
    )
    return draft, table


def draft_table(draft: Draft) -> Table:
    table = _table_from(cache.get(draft.cache_key), sha256=draft.sha256)
    if table is None:
        raise ImportRefused("El archivo ya no está disponible. Súbelo de nuevo.")
    return table


def check_table(*, leader: User, table: Table, columns: dict) -> list[RowCheck]:
    """Every row checked with the registration rules and against the database."""
    checks = check_rows(table.rows, columns)
    in_network, other = known_cedulas(leader=leader, cedulas=[c.cedula for c in checks if c.ok])
    apply_known(checks, in_network=in_network, other_network=other, own=leader.cedula)
    return checks


def new_lookups_needed(checks: list[RowCheck]) -> int:
    """How many accepted rows are cédulas nobody holds yet (each costs one lookup)."""
    cedulas = [c.cedula for c in checks if c.ok]
    held = 0
    for start in range(0, len(cedulas), 500):
        held += User.objects.filter(cedula__in=cedulas[start : start + 500]).count()
    return len(cedulas) - held


def _budget_key(leader: User) -> str:
    return f"import-lookup-budget:{leader.pk}"


# ------------------------------------------------------------------------------
# Confirmation
# ------------------------------------------------------------------------------
def import_confirm(
    *, leader: User, draft: Draft, columns: dict, header: list[str], ip: str | None, consented: bool
) -> ContactImport:
    """Record the consent and queue the import; raises ImportRefused with the Spanish reason."""
    if not consented:
        raise ImportRefused(
            "Debes confirmar que tienes la autorización de estas personas (Ley 1581 de 2012)."
        )
    table = draft_table(draft)
    checks = check_table(leader=leader, table=table, columns=columns)
    accepted = sum(1 for c in checks if c.ok)
    if not accepted:
        raise ImportRefused("Ninguna fila se puede importar. Revisa los motivos de cada fila.")
    cost = new_lookups_needed(checks)
    with transaction.atomic():
        # One confirmation per leader at a time: the in-flight count cannot be raced.
        User.objects.select_for_update().filter(pk=leader.pk).first()
        if imports_in_flight(leader=leader) >= settings.IMPORT_MAX_IN_FLIGHT:
            raise ImportRefused(
                "Ya tienes una importación en curso. Espera a que termine para confirmar otra."
                if settings.IMPORT_MAX_IN_FLIGHT == 1
                else f"Ya tienes {settings.IMPORT_MAX_IN_FLIGHT} importaciones en curso. "
                "Espera a que termine una."
            )
        if cost and (
            counter_hit(
                _budget_key(leader), window=86400, amount=cost, limit=settings.IMPORT_DAILY_LOOKUP_BUDGET
            )
            is None
        ):
            raise ImportRefused(
                f"Este archivo necesita {_miles(cost)} consultas nuevas y tu límite es de "
                f"{_miles(settings.IMPORT_DAILY_LOOKUP_BUDGET)} consultas al día. Divide el archivo o "
                "inténtalo mañana."
            )
        contact_import = ContactImport.objects.create(
            leader=leader,
            file_name=draft.file_name,
            file_sha256=draft.sha256,
            file_rows=len(table.rows),
            consent_statement=CONSENT_STATEMENT,
            consented_at=timezone.now(),
            consent_ip=ip or None,
            columns=columns,
            header=header[:50],
            rows_total=len(table.rows),
            lookups_reserved=cost,
            # The rows travel with the import to the worker, on any machine.
            staged=_payload(table, draft.sha256),
        )
        audit_record(
            actor=leader,
            action=AuditEntry.Action.CONTACT_IMPORT,
            target=f"contactimport:{contact_import.pk}",
            row_count=len(table.rows),
            detail=f"accepted={accepted} new_lookups={cost} sha256={draft.sha256[:16]}",
        )
        transaction.on_commit(partial(_send_import, contact_import.pk))
    draft_discard(draft)
    log.info(
        "import confirmed id=%s leader=%s rows=%s accepted=%s new_lookups=%s ip=%s",
        contact_import.pk,
        leader.pk,
        len(table.rows),
        accepted,
        cost,
        mask_ip(ip),
    )
    return contact_import


def _send_import(import_id: int) -> None:
    try:
        sending.send_import(import_id=import_id, queue=QUEUE_REFRESH, actor_name=IMPORT_ACTOR_NAME)
    except Exception:
        log.warning("import message not sent id=%s: broker unavailable", import_id, exc_info=True)
        contact_import = ContactImport.objects.filter(pk=import_id).first()
        if contact_import is not None:
            _finish(contact_import, failed="broker unavailable")


# ------------------------------------------------------------------------------
# The run (the actor)
# ------------------------------------------------------------------------------
def _batches(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def contact_import_run(*, import_id: int) -> None:
    """Create the import's contacts in batches; resumable (rows already written are skipped)."""
    contact_import = (
        ContactImport.objects.select_related("leader").defer("staged").filter(pk=import_id).first()
    )
    if contact_import is None or contact_import.status in (
        ContactImport.Status.DONE,
        ContactImport.Status.FAILED,
    ):
        return
    leader = contact_import.leader
    staged = ContactImport.objects.filter(pk=import_id).values_list("staged", flat=True).first()
    table = _table_from(staged, sha256=contact_import.file_sha256)
    if table is None:
        _finish(contact_import, failed="staged rows missing")
        return
    ContactImport.objects.filter(pk=import_id).update(
        status=ContactImport.Status.RUNNING,
        started_at=contact_import.started_at or timezone.now(),
        rows_total=len(table.rows),
    )
    written = set(ImportRow.objects.filter(contact_import_id=import_id).values_list("number", flat=True))
    checks = check_rows(table.rows, contact_import.columns)
    checks = [c for c in checks if c.number not in written]
    in_network, other = known_cedulas(leader=leader, cedulas=[c.cedula for c in checks if c.ok])
    apply_known(checks, in_network=in_network, other_network=other, own=leader.cedula)
    for batch in _batches(checks, settings.IMPORT_BATCH_SIZE):
        to_send = _run_batch(contact_import, batch)
        if to_send:
            try:
                sending.send_lookups(user_ids=to_send, queue=QUEUE_REFRESH, batch_size=len(to_send))
            except Exception:  # noqa: BLE001 — the scheduler resends unsent rows within a minute
                log.warning("import %s: %s lookups not sent; marked unsent", import_id, len(to_send))
                cedula_mark_unsent(user_ids=to_send)
            # Counted as spent either way: an unsent row is sent by the scheduler's resend.
            ContactImport.objects.filter(pk=import_id).update(lookups_sent=F("lookups_sent") + len(to_send))
    _finish(contact_import)


@transaction.atomic
def _run_batch(contact_import: ContactImport, batch: list[RowCheck]) -> list[int]:
    ok = [c for c in batch if c.ok]
    result = None
    if ok:
        result = contacts_create_batch(
            leader=contact_import.leader,
            rows=[ContactRow(c.cedula, c.nombre, c.telefono) for c in ok],
            source_import=contact_import,
        )
    rows = []
    created = 0
    for check in batch:
        if check.ok and result is not None and check.cedula in result.created:
            outcome, reason, person = ImportRow.Outcome.CREATED, "", result.persons[check.cedula]
            created += 1
        else:
            # A row fine when checked whose cédula registered, or got into the network, meanwhile.
            registered = result is not None and check.cedula in result.members
            reason = check.reason or (REASON_REGISTERED if registered else REASON_IN_NETWORK)
            outcome, person = ImportRow.Outcome.REJECTED, None
        rows.append(
            ImportRow(
                contact_import=contact_import,
                number=check.number,
                cells=check.cells,
                cedula=check.cedula,
                outcome=outcome,
                reason=reason[:200],
                person_id=person,
            )
        )
    ImportRow.objects.bulk_create(rows, ignore_conflicts=True)
    ContactImport.objects.filter(pk=contact_import.pk).update(
        rows_done=F("rows_done") + len(batch),
        created=F("created") + created,
        rejected=F("rejected") + len(batch) - created,
    )
    return result.to_look_up if result else []


def contact_import_fail(*, import_id: int, detail: str) -> None:
    """End an import that cannot go on (its message ran out of retries): the leader reads "Falló"."""
    contact_import = (
        ContactImport.objects.filter(pk=import_id).exclude(status=ContactImport.Status.DONE).first()
    )
    if contact_import is not None:
        _finish(contact_import, failed=detail)


def _finish(contact_import: ContactImport, *, failed: str = "") -> None:
    ContactImport.objects.filter(pk=contact_import.pk).update(
        status=ContactImport.Status.FAILED if failed else ContactImport.Status.DONE,
        finished_at=timezone.now(),
        error=failed[:255],
        staged=None,  # the report rows (ImportRow) hold what is kept
    )
    fresh = ContactImport.objects.defer("staged").select_related("leader").get(pk=contact_import.pk)
    unused = fresh.lookups_reserved - fresh.lookups_sent
    if unused > 0:
        counter_refund(_budget_key(fresh.leader), amount=unused)
    log.info(
        "import finished id=%s status=%s created=%s rejected=%s lookups=%s",
        fresh.pk,
        fresh.status,
        fresh.created,
        fresh.rejected,
        fresh.lookups_sent,
    )
