"""Writes for the census lookup of a member (CedulaInfo).

The lifecycle of a row:

    (signup / refresh)          (worker claims)          (lookup ends)
    any final state ──▶ pending ──────────────▶ processing ──────────────▶ final state
                          ▲                         │ transient failure, retries left
                          └─────────────────────────┘

Every transition is a conditional UPDATE so concurrent requests, duplicate
deliveries and several workers never run two lookups for one member at once.
"""

from __future__ import annotations

import enum
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.counters import counter_hit, counter_refund, counter_value
from accounts.models import CedulaChange, CedulaInfo, CedulaStatus, User
from accounts.selectors.network import network_contains
from actors import sending
from actors.errors import LookupDeferred, LookupPermanentError, LookupTransientError
from actors.queues import QUEUE_LOOKUPS, QUEUE_REFRESH
from scrapers.masking import mask_cedula
from scrapers.registraduria import LookupResult, LookupStatus
from scrapers.text import cap_raw, fold

log = logging.getLogger(__name__)

PLACE_FIELDS = ("departamento", "municipio", "puesto", "direccion", "mesa")
NOVEDAD_FIELDS = ("novedad", "resolucion", "fecha_novedad")
# What identifies a puesto: while it stays the same, its zona does too.
PUESTO_KEY = ("departamento", "municipio", "puesto")

# What the member reads on the census card, one sentence per state.
STATUS_MESSAGES: dict[str, str] = {
    CedulaStatus.PENDING: "Tu consulta está en cola. Te mostraremos el resultado en unos segundos.",
    CedulaStatus.PROCESSING: "Estamos consultando tu puesto de votación en la Registraduría.",
    CedulaStatus.FOUND: "Este es tu puesto de votación según la Registraduría.",
    CedulaStatus.NOT_FOUND: (
        "Tu cédula no aparece inscrita en el censo electoral. Si acabas de inscribirte, "
        "el cambio se verá cuando la Registraduría publique el censo definitivo."
    ),
    CedulaStatus.CANCELLED_DECEASED: "La Registraduría reporta esta cédula como cancelada por muerte.",
    CedulaStatus.CANCELLED_OTHER: (
        "La Registraduría reporta una novedad en esta cédula que impide votar con ella (ver la novedad)."
    ),
    CedulaStatus.PENDING_REGISTRADURIA: (
        "Tu cédula tiene un trámite pendiente en la Registraduría. Vuelve a consultar más adelante."
    ),
    # Failures are retried by the nightly refresh; the card adds when (cedula_next_retry).
    CedulaStatus.ERROR: "No pudimos consultar la Registraduría en este momento.",
    CedulaStatus.TIMEOUT: "La Registraduría tardó demasiado en responder.",
    CedulaStatus.BLOCKED: "La Registraduría rechazó la consulta por ahora.",
    CedulaStatus.UNREADABLE: (
        "La Registraduría respondió algo que no pudimos interpretar. Ya le avisamos al equipo "
        "para revisarlo; mientras tanto puedes consultar directamente en la Registraduría."
    ),
}


def retrying_message(at) -> str:
    """The message of a row waiting for its retry, with the local time of the latest attempt."""
    return f"La Registraduría no respondió bien; reintentaremos hacia las {timezone.localtime(at):%H:%M}."


_MONTHS = (
    "enero", "febrero", "marzo", "abril", "mayo", "junio",
    "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre",
)  # fmt: skip


def paused_message(*, at, reason: str, now=None) -> str:
    """The card's sentence while the fleet holds a lookup back (docs/pipeline.md#politeness).

    ``at`` is when we expect to have the answer (the breaker's reopening plus the queue in front,
    or the rate limit's next permit); ``reason`` is ``circuit_open`` or ``rate_limited``.
    """
    # An absolute time, never "in N minutes": the sentence is stored, and read minutes later.
    local, today = timezone.localtime(at), timezone.localtime(now or timezone.now()).date()
    when = f"hacia las {local:%H:%M}"
    if local.date() != today:
        when += f" del {local.day} de {_MONTHS[local.month - 1]}"
    if reason == "circuit_open":
        return (
            "La Registraduría está respondiendo con problemas, así que hicimos una pausa para no "
            f"saturarla. Tu consulta sigue en cola y la haremos {when}. No tienes que hacer nada."
        )
    return (
        "Hay muchas consultas en fila para la Registraduría y vamos a su ritmo. Tu consulta sigue "
        f"en cola y la haremos {when}. No tienes que hacer nada."
    )


# ------------------------------------------------------------------------------
# Sending messages
# ------------------------------------------------------------------------------
# After a failed publish, web requests skip the broker for a while instead of each
# waiting out connection timeouts: the rows stay pending and the sweeper sends them.
_BROKER_BACKOFF_SECONDS = 30.0
_broker_down_until = 0.0


def cedula_lookup_send(*, user_id: int, queue: str = QUEUE_LOOKUPS, delay_ms: int | None = None) -> bool:
    """Send one lookup message; never raises.

    Returns False when the broker could not take it: the row stays ``pending``
    and the scheduler's sweeper sends it again later, so nothing is lost.
    """
    global _broker_down_until
    if time.monotonic() < _broker_down_until:
        log.warning("lookup enqueue skipped user_id=%s queue=%s: broker marked down", user_id, queue)
        cedula_mark_unsent(user_ids=[user_id])
        return False
    try:
        sending.send_lookup(user_id=user_id, queue=queue, delay_ms=delay_ms)
    except Exception as exc:  # noqa: BLE001 — any broker failure must not break the caller
        _broker_down_until = time.monotonic() + _BROKER_BACKOFF_SECONDS
        log.warning(
            "lookup enqueue failed user_id=%s queue=%s: %s: %s", user_id, queue, type(exc).__name__, exc
        )
        cedula_mark_unsent(user_ids=[user_id])
        return False
    return True


def cedula_mark_unsent(*, user_ids: Iterable[int]) -> int:
    """Note that these pending rows' messages never reached the broker; never raises.

    The scheduler's resend job (``actors.refresh.refresh_run_resend_unsent``) sends
    them again within ``UNSENT_RESEND_SECONDS`` once the broker is back: unlike rows
    whose message is in a queue, they have nothing to wait for.
    """
    user_ids = list(user_ids)
    try:
        return CedulaInfo.objects.filter(
            user_id__in=user_ids, status=CedulaStatus.PENDING, unsent_since__isnull=True
        ).update(unsent_since=timezone.now())
    except Exception:  # the database may be down too: the sweeper still has the row
        log.warning("could not mark %s row(s) unsent", len(user_ids), exc_info=True)
        return 0


# ------------------------------------------------------------------------------
# Requests: signup, refresh by hand, scheduler
# ------------------------------------------------------------------------------
def pending_fields(*, queue: str, now=None) -> dict:
    """The columns every path that queues a lookup writes (signup, refresh, nightly,
    sweeper, dead-letter replay): pending, no claim, which queue, when."""
    return {
        "status": CedulaStatus.PENDING,
        "message": STATUS_MESSAGES[CedulaStatus.PENDING],
        "claim_token": "",
        "claim_message_id": "",
        "unsent_since": None,
        "lease_expires_at": None,
        "queue": queue,
        "requested_at": now or timezone.now(),
    }


def cedula_lookup_request(*, user_id: int, queue: str = QUEUE_LOOKUPS) -> CedulaInfo:
    """Mark the member's row pending and send the lookup once the transaction commits."""
    info, _created = CedulaInfo.objects.update_or_create(
        user_id=user_id, defaults=pending_fields(queue=queue)
    )
    transaction.on_commit(partial(cedula_lookup_send, user_id=user_id, queue=queue))
    return info


class RefreshRefusal(enum.StrEnum):
    IN_FLIGHT = "in_flight"
    COOLDOWN = "cooldown"
    RATE_LIMITED = "rate_limited"


@dataclass(frozen=True)
class RefreshOutcome:
    accepted: bool
    refusal: RefreshRefusal | None = None
    message: str = ""
    # During the cooldown: when a refresh by hand is possible again (the card counts down).
    available_at: datetime | None = None


def _cooldown() -> timedelta:
    return timedelta(seconds=settings.LOOKUP_REFRESH_COOLDOWN_SECONDS)


def cedula_can_refresh(*, requester: User, target: User) -> bool:
    """A member refreshes their own row; a leader also those of their whole network."""
    if requester.pk == target.pk:
        return True
    if not requester.is_leader:
        return False
    return target.referred_by_id == requester.pk or network_contains(viewer=requester, member_id=target.pk)


def _budget_key(requester: User) -> str:
    return f"cedula-refresh-budget:{requester.pk}"


def _budget_reserve(*, requester: User, cost: int) -> bool:
    """Take ``cost`` scrapes from this requester's budget, all or none (atomic)."""
    return (
        counter_hit(
            _budget_key(requester),
            window=settings.LOOKUP_REFRESH_RATE_WINDOW_SECONDS,
            amount=cost,
            limit=settings.LOOKUP_REFRESH_RATE_LIMIT,
        )
        is not None
    )


def cedula_refresh_budget_left(*, requester: User) -> int:
    """How many refreshes by hand ``requester`` may still start in the current window."""
    return max(0, settings.LOOKUP_REFRESH_RATE_LIMIT - counter_value(_budget_key(requester)))


def cedula_refresh_request(*, requester: User, target: User, queue: str = QUEUE_LOOKUPS) -> RefreshOutcome:
    """Refresh by hand: refused while a lookup is in flight or during the cooldown.

    Raises PermissionDenied when ``requester`` may not refresh ``target``.
    """
    if not cedula_can_refresh(requester=requester, target=target):
        raise PermissionDenied("No puedes actualizar la consulta de este miembro.")
    outcomes = cedula_refresh_many(requester=requester, targets=[target], queue=queue)
    return outcomes[target.pk]


def cedula_refresh_many(
    *, requester: User, targets: Iterable[User], queue: str = QUEUE_LOOKUPS, budgeted: bool = True
) -> dict[int, RefreshOutcome]:
    """Refresh several rows with the per-row rules; returns an outcome per user id.

    Targets must already be authorised by the caller (``cedula_can_refresh``).
    ``budgeted=False`` (operators in the admin) skips the per-requester budget
    but never the in-flight and cooldown rules.
    """
    targets = list(targets)
    # Reserved up front so parallel requests cannot all spend the same budget;
    # what was refused is given back below.
    if budgeted and targets and not _budget_reserve(requester=requester, cost=len(targets)):
        refused = RefreshOutcome(
            accepted=False,
            refusal=RefreshRefusal.RATE_LIMITED,
            message="Has hecho demasiadas consultas seguidas. Intenta de nuevo en unos minutos.",
        )
        return {target.pk: refused for target in targets}

    outcomes = {target.pk: _refresh_one(target=target, queue=queue) for target in targets}
    if budgeted:
        # Only scrapes really started are charged; refusals cost nothing.
        counter_refund(_budget_key(requester), amount=sum(1 for o in outcomes.values() if not o.accepted))
    return outcomes


def _refresh_one(*, target: User, queue: str) -> RefreshOutcome:
    now = timezone.now()
    # A member without a row yet (created outside the signup flow) gets one in a
    # non-flight state so the conditional update below can take it.
    CedulaInfo.objects.get_or_create(user_id=target.pk, defaults={"status": CedulaStatus.ERROR})
    with transaction.atomic():
        started = (
            CedulaInfo.objects.filter(user_id=target.pk)
            .exclude(status__in=CedulaStatus.in_flight())
            .filter(Q(requested_at__isnull=True) | Q(requested_at__lte=now - _cooldown()))
            .update(**pending_fields(queue=queue, now=now))
        )
        if not started and queue == QUEUE_LOOKUPS:
            # Waiting in the nightly backlog: a request by hand jumps the queue. The
            # bulk message is skipped later, since the row will no longer be pending.
            started = CedulaInfo.objects.filter(
                user_id=target.pk, status=CedulaStatus.PENDING, queue=QUEUE_REFRESH
            ).update(queue=QUEUE_LOOKUPS, requested_at=now, message=STATUS_MESSAGES[CedulaStatus.PENDING])
        if started:
            transaction.on_commit(partial(cedula_lookup_send, user_id=target.pk, queue=queue))
            return RefreshOutcome(accepted=True, message="Consulta enviada.")
    info = CedulaInfo.objects.get(user_id=target.pk)
    if info.is_in_flight:
        return RefreshOutcome(
            accepted=False,
            refusal=RefreshRefusal.IN_FLIGHT,
            message="Ya hay una consulta en curso. Espera a que termine.",
        )
    available_at = info.requested_at + _cooldown()
    wait = max(1, int((available_at - now).total_seconds()) + 1)
    return RefreshOutcome(
        accepted=False,
        refusal=RefreshRefusal.COOLDOWN,
        message=f"Acabas de consultar. Podrás actualizar de nuevo en {wait} segundos.",
        available_at=available_at,
    )


# ------------------------------------------------------------------------------
# Worker side: claim, run, record
# ------------------------------------------------------------------------------
class ClaimResult(enum.StrEnum):
    CLAIMED = "claimed"
    NOT_IN_FLIGHT = "not_in_flight"  # stale or duplicate message: the row already has its answer
    LEASE_HELD = "lease_held"  # another worker holds the row right now


@dataclass(frozen=True)
class Claim:
    result: ClaimResult
    token: str = ""
    cedula: str = ""
    lease_expires_at: object = None


def cedula_claim(*, user_id: int, message_id: str = "", retries: int = 0) -> Claim:
    """Take the row for one lookup with a lease.

    ``message_id`` (the Dramatiq message's id, the same on every retry) and
    ``retries`` (its retry number) are stored with the claim: when a later retry of
    that message comes back after its result could not be written (the database
    was restarting), it takes its own row back at once instead of waiting out the
    lease it still holds. A broker redelivery carries the same retry number and
    waits like anyone else: its first delivery may still be running elsewhere.

    Raises LookupPermanentError when the user does not exist.
    """
    try:
        cedula, deleted_at = User.objects.values_list("cedula", "deleted_at").get(pk=user_id)
    except User.DoesNotExist:
        raise LookupPermanentError(f"user {user_id} does not exist") from None
    if deleted_at is not None:
        # A message still in flight when the member deleted their account: the census row
        # is gone and must not come back.
        return Claim(ClaimResult.NOT_IN_FLIGHT)
    now = timezone.now()
    token = uuid.uuid4().hex
    # A row that somehow lost its CedulaInfo (created before the signal, or by hand)
    # is recreated pending so the message still does its job.
    CedulaInfo.objects.get_or_create(user_id=user_id, defaults={"status": CedulaStatus.PENDING})
    claimed = (
        CedulaInfo.objects.filter(user_id=user_id)
        .filter(
            Q(status=CedulaStatus.PENDING)
            | Q(status=CedulaStatus.PROCESSING, lease_expires_at__lt=now)
            | Q(status=CedulaStatus.PROCESSING, lease_expires_at__isnull=True)
            | (
                Q(status=CedulaStatus.PROCESSING, claim_message_id=message_id, claim_retries__lt=retries)
                & ~Q(claim_message_id="")
            )
        )
        .update(
            status=CedulaStatus.PROCESSING,
            claim_token=token,
            claim_message_id=message_id,
            claim_retries=retries,
            unsent_since=None,
            claimed_at=now,
            lease_expires_at=now + timedelta(seconds=settings.LOOKUP_LEASE_SECONDS),
            message=STATUS_MESSAGES[CedulaStatus.PROCESSING],
        )
    )
    if claimed:
        return Claim(ClaimResult.CLAIMED, token=token, cedula=cedula)
    status, lease = CedulaInfo.objects.values_list("status", "lease_expires_at").get(user_id=user_id)
    if status == CedulaStatus.PROCESSING:
        return Claim(ClaimResult.LEASE_HELD, cedula=cedula, lease_expires_at=lease)
    return Claim(ClaimResult.NOT_IN_FLIGHT, cedula=cedula)


def _final_status_for(result: LookupResult) -> str:
    status = result.status
    if status == LookupStatus.FOUND:
        return CedulaStatus.FOUND
    if status == LookupStatus.NOT_FOUND:
        return CedulaStatus.NOT_FOUND
    if status == LookupStatus.CANCELLED:
        return CedulaStatus.CANCELLED_DECEASED if result.deceased else CedulaStatus.CANCELLED_OTHER
    if status == LookupStatus.PENDING:
        return CedulaStatus.PENDING_REGISTRADURIA
    if status == LookupStatus.BLOCKED:
        return CedulaStatus.BLOCKED
    if result.timed_out:
        return CedulaStatus.TIMEOUT
    if status == LookupStatus.UNKNOWN:
        return CedulaStatus.UNREADABLE
    return CedulaStatus.ERROR


def _operator_detail(result: LookupResult) -> str:
    parts = [f"status={result.status}", f"source={result.source or '-'}"]
    if result.timed_out:
        parts.append("timed_out")
    if result.error:
        parts.append(f"error={result.error}")
    if result.message:
        parts.append(f"site_message={result.message[:500]}")
    return " ".join(parts)


class RecordOutcome(enum.StrEnum):
    DONE = "done"  # final state written
    RETRY = "retry"  # transient failure recorded; the message should be retried
    EXHAUSTED = "exhausted"  # transient failure on the last attempt; final error status written
    LOST_LEASE = "lost_lease"  # someone else owns the row now; nothing written
    PAUSED = "paused"  # nothing was sent (the fleet's politeness said not now): back to pending, no attempt


def paused_delay(result: LookupResult) -> timedelta:
    """How long to hold back a lookup the client did not send: its ``retry_after``, capped at
    the longest retry backoff (a message waits unacked, under RabbitMQ's consumer_timeout; a
    longer pause is served by deferring again)."""
    cap = settings.LOOKUP_MAX_BACKOFF_MS / 1000
    return timedelta(seconds=min(max(1.0, result.retry_after), cap))


@transaction.atomic
def cedula_record_result(
    *, user_id: int, token: str, result: LookupResult, final_attempt: bool
) -> RecordOutcome:
    """Write a lookup's outcome if this worker still holds the row's lease."""
    try:
        info = CedulaInfo.objects.select_for_update().get(user_id=user_id)
    except CedulaInfo.DoesNotExist:
        return RecordOutcome.LOST_LEASE
    if info.claim_token != token or info.status != CedulaStatus.PROCESSING:
        return RecordOutcome.LOST_LEASE

    now = timezone.now()
    if result.deferred:
        # Not an attempt: nothing reached the site. The row waits, pending, with a calm sentence
        # and the time we expect to have it; attempts, the last reply and the place stay as they were.
        info.status = CedulaStatus.PENDING
        info.claim_token = ""
        info.claim_message_id = ""
        info.lease_expires_at = None
        # Dated at the deferred message's due time, so the sweeper leaves the row alone meanwhile.
        info.requested_at = now + paused_delay(result)
        info.message = paused_message(
            at=now + timedelta(seconds=max(1.0, result.retry_after)), reason=result.deferred, now=now
        )
        info.save()
        log.info(
            "lookup paused user_id=%s reason=%s retry_after=%.0fs",
            user_id,
            result.deferred,
            result.retry_after,
        )
        return RecordOutcome.PAUSED
    info.attempts += 1
    info.raw_response = cap_raw(result.raw)
    failed = result.is_transient or result.status == LookupStatus.UNKNOWN
    info.error_detail = _operator_detail(result) if failed else ""
    info.claim_token = ""
    info.claim_message_id = ""
    info.lease_expires_at = None

    if result.is_transient and not final_attempt:
        info.status = CedulaStatus.PENDING
        # The retry is already on its way, due within the maximum backoff: dated
        # there, the sweeper (which resends rows pending longer than a lease) leaves
        # it alone for the whole backoff instead of starting a second message chain.
        info.requested_at = now + timedelta(milliseconds=settings.LOOKUP_MAX_BACKOFF_MS)
        info.message = retrying_message(info.requested_at)
        info.save()
        return RecordOutcome.RETRY

    new_status = _final_status_for(result)
    info.status = new_status
    info.message = STATUS_MESSAGES[new_status]
    info.fetched_at = now
    if new_status == CedulaStatus.UNREADABLE:
        # "The team was told": operators get the reply in the log and find the row
        # by its status in the admin.
        log.warning(
            "lookup unreadable user_id=%s cedula=%s %s",
            user_id,
            mask_cedula(info.user.cedula),
            info.error_detail,
        )
    if new_status in CedulaStatus.results():
        # Failures keep the last known voting place (and the source it came from);
        # only answers replace them.
        if result.source:
            info.source = result.source
        before = _tracked_snapshot(info, status=info.result_status)
        info.zona = _zona_after(info, result)
        novedad_kept = _novedad_kept(info, result, status=new_status)
        for field in PLACE_FIELDS:
            setattr(info, field, getattr(result, field, "") or "")
        for field in NOVEDAD_FIELDS:
            setattr(info, field, novedad_kept.get(field) or getattr(result, field, "") or "")
        after = _tracked_snapshot(info, status=new_status)
        if info.result_status and member_visible_change(before, after):
            info.changed_at = now
            CedulaChange.objects.create(
                user_id=user_id, changed_at=now, source=result.source or "", old=before, new=after
            )
        info.result_status = new_status
    info.save()
    log.info(
        "lookup recorded user_id=%s cedula=%s status=%s source=%s",
        user_id,
        mask_cedula(info.user.cedula),
        new_status,
        result.source or "-",
    )
    return RecordOutcome.EXHAUSTED if result.is_transient else RecordOutcome.DONE


def _zona_after(info: CedulaInfo, result: LookupResult) -> str:
    """The zona to keep: the result's own, else the one we knew while the puesto is unchanged.

    Only some sources give a zona; an answer from one that does not (wsp) about the same puesto
    says nothing new about it, so it must not erase the zona (nor record a change to "").
    """
    if result.zona or result.status != LookupStatus.FOUND:
        return result.zona or ""
    same_puesto = all(fold(getattr(info, f)) == fold(getattr(result, f, "") or "") for f in PUESTO_KEY)
    return info.zona if same_puesto else ""


def _novedad_kept(info: CedulaInfo, result: LookupResult, *, status: str) -> dict[str, str]:
    """The novedad we knew, when this answer has the same status but carries none.

    Some sources give the novedad text with a "pending" answer and some do not: an
    answer without it says nothing new about it.
    """
    if info.result_status != status or any(getattr(result, f, "") for f in NOVEDAD_FIELDS):
        return {}
    return {field: getattr(info, field) for field in NOVEDAD_FIELDS}


# Fields only some sources give: one side empty is the shape of the answer, not a change.
_OPTIONAL_FIELDS = ("zona", *NOVEDAD_FIELDS)


def member_visible_change(before: dict[str, str], after: dict[str, str]) -> bool:
    """True when what the member reads on the card changed between two snapshots.

    Values are compared folded (case, accents, spacing); a field that only some
    sources give counts only when both sides have it, unless the status changed.
    """
    if before.get("status") != after.get("status"):
        return True
    for field in after.keys() | before.keys():
        old, new = fold(before.get(field) or ""), fold(after.get(field) or "")
        if old == new:
            continue
        if field in _OPTIONAL_FIELDS and not (old and new):
            continue
        return True
    return False


def _tracked_snapshot(info: CedulaInfo, *, status: str) -> dict[str, str]:
    snapshot = {field: getattr(info, field) for field in (*PLACE_FIELDS, "zona", *NOVEDAD_FIELDS)}
    snapshot["status"] = status
    return snapshot


def cedula_lookup_run(
    *,
    user_id: int,
    final_attempt: bool,
    perform: Callable[[str], LookupResult],
    message_id: str = "",
    retries: int = 0,
) -> tuple[Claim, RecordOutcome | None]:
    """Claim the row, run ``perform(cedula)`` and record what it returned.

    ``perform`` is the browser lookup; it is injected so this service knows
    nothing about worker processes or event loops. A ``BaseException`` from it
    (time limit, shutdown) releases the row as a transient timeout first.
    """
    claim = cedula_claim(user_id=user_id, message_id=message_id, retries=retries)
    if claim.result != ClaimResult.CLAIMED:
        return claim, None
    try:
        result = perform(claim.cedula)
    except LookupDeferred as deferred:
        cedula_release_claim(
            user_id=user_id,
            token=claim.token,
            until=timezone.now() + timedelta(seconds=deferred.delay_seconds),
        )
        raise
    except BaseException as exc:
        interrupted = LookupResult(
            status=LookupStatus.SITE_ERROR, timed_out=True, error=f"interrupted: {type(exc).__name__}"
        )
        cedula_record_result(
            user_id=user_id, token=claim.token, result=interrupted, final_attempt=final_attempt
        )
        raise
    return claim, cedula_record_result(
        user_id=user_id, token=claim.token, result=result, final_attempt=final_attempt
    )


def cedula_release_claim(*, user_id: int, token: str, until: datetime | None = None) -> bool:
    """Hand a claimed row back as ``pending``, as if the attempt never started.

    For a lookup that could not run (no captcha may be bought now): no attempt is counted, no
    error is written, the member keeps reading "En cola". Only the claim's holder may do it.
    ``until`` (when the message comes back) dates the request so the sweeper leaves it alone.
    """
    rows = CedulaInfo.objects.filter(user_id=user_id, claim_token=token, status=CedulaStatus.PROCESSING)
    extra = {"requested_at": until} if until is not None else {}
    return bool(
        rows.update(
            **extra,
            status=CedulaStatus.PENDING,
            claim_token="",
            claim_message_id="",
            lease_expires_at=None,
            message=STATUS_MESSAGES[CedulaStatus.PENDING],
        )
    )


def cedula_lookup_defer(*, user_id: int, queue: str, until) -> None:
    """Send the lookup again to run once ``until`` (a lease expiry) has passed.

    A new message rather than a retry, so waiting for a lease never uses up the
    retries that belong to the site's failures.
    """
    delay_ms = 1000
    if until is not None:
        delay_ms = max(delay_ms, int((until - timezone.now()).total_seconds() * 1000) + 1000)
    if not cedula_lookup_send(user_id=user_id, queue=queue, delay_ms=delay_ms):
        raise LookupTransientError(f"could not defer the lookup of user {user_id}")


def cedula_mark_failed(*, user_id: int, detail: str, message_id: str = "") -> None:
    """A message died for a reason that is not the site's (a bug): end the row's wait.

    Leaves alone a row that another worker holds under a live lease (one held by
    ``message_id`` itself is this message's own).
    """
    now = timezone.now()
    own = Q(status=CedulaStatus.PROCESSING, claim_message_id=message_id) & ~Q(claim_message_id="")
    CedulaInfo.objects.filter(user_id=user_id).filter(
        Q(status=CedulaStatus.PENDING) | Q(status=CedulaStatus.PROCESSING, lease_expires_at__lt=now) | own
    ).update(
        claim_message_id="",
        status=CedulaStatus.ERROR,
        message=STATUS_MESSAGES[CedulaStatus.ERROR],
        error_detail=detail[:2000],
        claim_token="",
        lease_expires_at=None,
        fetched_at=now,
    )
