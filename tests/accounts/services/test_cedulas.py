"""Census lookup services against the database: claims, results, refresh rules, history."""

from datetime import datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from accounts.models import CedulaChange, CedulaInfo, CedulaStatus, User
from accounts.services import cedulas
from actors import errors
from scrapers.registraduria import LookupResult, LookupStatus

pytestmark = pytest.mark.django_db

FOUND = LookupResult(
    status=LookupStatus.FOUND,
    departamento="NARIÑO",
    municipio="PASTO",
    puesto="IE LICEO CENTRAL",
    direccion="CL 18 # 25 - 30",
    mesa="7",
    source="wsp",
)


def make_user(cedula: str, **extra) -> User:
    return User.objects.create_user(cedula, "clave-segura-123", nombre_completo="Ana Pérez", **extra)


def claim(user: User) -> cedulas.Claim:
    result = cedulas.cedula_claim(user_id=user.pk)
    assert result.result == cedulas.ClaimResult.CLAIMED
    return result


def test_new_user_gets_a_pending_row():
    user = make_user("52000001")
    info = CedulaInfo.objects.get(user=user)
    assert info.status == CedulaStatus.PENDING
    assert info.requested_at is not None


def test_claim_takes_a_pending_row_once():
    user = make_user("52000002")
    first = cedulas.cedula_claim(user_id=user.pk)
    second = cedulas.cedula_claim(user_id=user.pk)
    assert first.result == cedulas.ClaimResult.CLAIMED
    assert first.cedula == "52000002"
    assert second.result == cedulas.ClaimResult.LEASE_HELD
    info = CedulaInfo.objects.get(user=user)
    assert info.status == CedulaStatus.PROCESSING
    assert info.claim_token == first.token


def test_claim_of_an_expired_lease_succeeds():
    user = make_user("52000003")
    claim(user)
    CedulaInfo.objects.filter(user=user).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert cedulas.cedula_claim(user_id=user.pk).result == cedulas.ClaimResult.CLAIMED


def test_claim_of_a_final_row_is_skipped_as_duplicate():
    user = make_user("52000004")
    token = claim(user).token
    cedulas.cedula_record_result(user_id=user.pk, token=token, result=FOUND, final_attempt=False)
    assert cedulas.cedula_claim(user_id=user.pk).result == cedulas.ClaimResult.NOT_IN_FLIGHT


def test_claim_for_a_deleted_user_is_permanent_error():
    with pytest.raises(errors.LookupPermanentError):
        cedulas.cedula_claim(user_id=987654321)


def test_found_result_fills_the_voting_place():
    user = make_user("52000005")
    token = claim(user).token
    outcome = cedulas.cedula_record_result(user_id=user.pk, token=token, result=FOUND, final_attempt=False)
    info = CedulaInfo.objects.get(user=user)
    assert outcome == cedulas.RecordOutcome.DONE
    assert info.status == CedulaStatus.FOUND
    assert (info.departamento, info.municipio, info.puesto, info.direccion, info.mesa) == (
        "NARIÑO",
        "PASTO",
        "IE LICEO CENTRAL",
        "CL 18 # 25 - 30",
        "7",
    )
    assert info.source == "wsp"
    assert info.fetched_at is not None
    assert info.claim_token == ""
    assert info.message == cedulas.STATUS_MESSAGES[CedulaStatus.FOUND]


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (LookupResult(status=LookupStatus.NOT_FOUND), CedulaStatus.NOT_FOUND),
        (
            LookupResult(status=LookupStatus.CANCELLED, novedad="CANCELADA POR MUERTE", deceased=True),
            CedulaStatus.CANCELLED_DECEASED,
        ),
        (
            LookupResult(status=LookupStatus.CANCELLED, novedad="Cancelada por Doble Cedulación"),
            CedulaStatus.CANCELLED_OTHER,
        ),
        (LookupResult(status=LookupStatus.PENDING), CedulaStatus.PENDING_REGISTRADURIA),
        # An answer no rule classifies is its own state, not a failure retried every night.
        (LookupResult(status=LookupStatus.UNKNOWN, raw="<html>cambió</html>"), CedulaStatus.UNREADABLE),
    ],
)
def test_every_final_answer_maps_to_its_status(result, expected):
    user = make_user("52000006")
    token = claim(user).token
    outcome = cedulas.cedula_record_result(user_id=user.pk, token=token, result=result, final_attempt=False)
    info = CedulaInfo.objects.get(user=user)
    assert outcome == cedulas.RecordOutcome.DONE
    assert info.status == expected
    assert info.message == cedulas.STATUS_MESSAGES[expected]


@pytest.mark.parametrize(
    "status",
    [
        LookupStatus.BLOCKED,
        LookupStatus.SITE_ERROR,
        LookupStatus.CAPTCHA_REJECTED,
        LookupStatus.SESSION_EXPIRED,
    ],
)
def test_transient_failure_with_retries_left_goes_back_to_pending(status):
    user = make_user("52000007")
    token = claim(user).token
    outcome = cedulas.cedula_record_result(
        user_id=user.pk, token=token, result=LookupResult(status=status, error="x"), final_attempt=False
    )
    info = CedulaInfo.objects.get(user=user)
    assert outcome == cedulas.RecordOutcome.RETRY
    assert info.status == CedulaStatus.PENDING
    assert info.claim_token == ""
    assert "error=x" in info.error_detail
    # The next attempt can claim it right away.
    assert cedulas.cedula_claim(user_id=user.pk).result == cedulas.ClaimResult.CLAIMED


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (LookupResult(status=LookupStatus.BLOCKED), CedulaStatus.BLOCKED),
        (LookupResult(status=LookupStatus.SITE_ERROR, timed_out=True), CedulaStatus.TIMEOUT),
        (LookupResult(status=LookupStatus.SITE_ERROR), CedulaStatus.ERROR),
        (LookupResult(status=LookupStatus.CAPTCHA_REJECTED), CedulaStatus.ERROR),
    ],
)
def test_transient_failure_on_last_attempt_is_final_with_spanish_message(result, expected):
    user = make_user("52000008")
    token = claim(user).token
    outcome = cedulas.cedula_record_result(user_id=user.pk, token=token, result=result, final_attempt=True)
    info = CedulaInfo.objects.get(user=user)
    assert outcome == cedulas.RecordOutcome.EXHAUSTED
    assert info.status == expected
    assert info.message == cedulas.STATUS_MESSAGES[expected]
    assert info.error_detail


def test_failure_keeps_the_last_known_voting_place():
    user = make_user("52000009")
    cedulas.cedula_record_result(user_id=user.pk, token=claim(user).token, result=FOUND, final_attempt=False)
    CedulaInfo.objects.filter(user=user).update(status=CedulaStatus.PENDING)
    cedulas.cedula_record_result(
        user_id=user.pk,
        token=claim(user).token,
        result=LookupResult(status=LookupStatus.BLOCKED),
        final_attempt=True,
    )
    info = CedulaInfo.objects.get(user=user)
    assert info.status == CedulaStatus.BLOCKED
    assert info.puesto == "IE LICEO CENTRAL"


def test_result_from_a_lost_lease_is_discarded():
    user = make_user("52000010")
    stale = claim(user).token
    CedulaInfo.objects.filter(user=user).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    fresh = claim(user).token
    assert (
        cedulas.cedula_record_result(user_id=user.pk, token=stale, result=FOUND, final_attempt=False)
        == cedulas.RecordOutcome.LOST_LEASE
    )
    assert CedulaInfo.objects.get(user=user).claim_token == fresh


def test_first_answer_records_no_change_but_a_moved_place_does():
    user = make_user("52000011")
    cedulas.cedula_record_result(user_id=user.pk, token=claim(user).token, result=FOUND, final_attempt=False)
    assert not CedulaChange.objects.filter(user=user).exists()

    # Same answer again: still no change.
    CedulaInfo.objects.filter(user=user).update(status=CedulaStatus.PENDING)
    cedulas.cedula_record_result(user_id=user.pk, token=claim(user).token, result=FOUND, final_attempt=False)
    assert not CedulaChange.objects.filter(user=user).exists()

    moved = LookupResult(
        **{**FOUND.__dict__, "puesto": "COLEGIO NUEVO", "mesa": "2", "source": "consultacenso"}
    )
    CedulaInfo.objects.filter(user=user).update(status=CedulaStatus.PENDING)
    cedulas.cedula_record_result(user_id=user.pk, token=claim(user).token, result=moved, final_attempt=False)
    change = CedulaChange.objects.get(user=user)
    assert change.old["puesto"] == "IE LICEO CENTRAL"
    assert change.new["puesto"] == "COLEGIO NUEVO"
    assert change.new["mesa"] == "2"
    assert change.source == "consultacenso"
    assert CedulaInfo.objects.get(user=user).changed_at == change.changed_at


def test_status_change_to_cancelled_is_recorded():
    user = make_user("52000012")
    cedulas.cedula_record_result(user_id=user.pk, token=claim(user).token, result=FOUND, final_attempt=False)
    CedulaInfo.objects.filter(user=user).update(status=CedulaStatus.PENDING)
    cancelled = LookupResult(status=LookupStatus.CANCELLED, novedad="CANCELADA POR MUERTE", deceased=True)
    cedulas.cedula_record_result(
        user_id=user.pk, token=claim(user).token, result=cancelled, final_attempt=False
    )
    change = CedulaChange.objects.get(user=user)
    assert change.old["status"] == CedulaStatus.FOUND
    assert change.new["status"] == CedulaStatus.CANCELLED_DECEASED
    info = CedulaInfo.objects.get(user=user)
    assert info.puesto == ""
    assert info.novedad == "CANCELADA POR MUERTE"


def test_interrupted_lookup_releases_the_row():
    user = make_user("52000013")

    class Interrupted(BaseException):
        pass

    def perform(cedula):
        raise Interrupted

    with pytest.raises(Interrupted):
        cedulas.cedula_lookup_run(user_id=user.pk, final_attempt=False, perform=perform)
    info = CedulaInfo.objects.get(user=user)
    assert info.status == CedulaStatus.PENDING
    assert "interrupted" in info.error_detail


# ------------------------------------------------------------------------------
# Refresh by hand
# ------------------------------------------------------------------------------
def finish(user: User) -> None:
    CedulaInfo.objects.filter(user=user).update(
        status=CedulaStatus.FOUND, requested_at=timezone.now() - timedelta(hours=1)
    )


def test_refresh_is_refused_while_a_lookup_is_in_flight():
    user = make_user("52000020")
    outcome = cedulas.cedula_refresh_request(requester=user, target=user)
    assert not outcome.accepted
    assert outcome.refusal == cedulas.RefreshRefusal.IN_FLIGHT
    assert "en curso" in outcome.message


def test_refresh_is_accepted_then_refused_during_cooldown(settings):
    settings.LOOKUP_REFRESH_COOLDOWN_SECONDS = 30
    user = make_user("52000021")
    finish(user)
    first = cedulas.cedula_refresh_request(requester=user, target=user)
    assert first.accepted
    assert CedulaInfo.objects.get(user=user).status == CedulaStatus.PENDING
    finish(user)
    CedulaInfo.objects.filter(user=user).update(requested_at=timezone.now() - timedelta(seconds=10))
    second = cedulas.cedula_refresh_request(requester=user, target=user)
    assert not second.accepted
    assert second.refusal == cedulas.RefreshRefusal.COOLDOWN
    assert "segundos" in second.message


def test_leader_may_refresh_own_referral_but_not_others():
    leader = make_user("52000030", role=User.Role.LEADER)
    mine = make_user("52000031", referred_by=leader)
    other = make_user("52000032")
    finish(mine)
    assert cedulas.cedula_refresh_request(requester=leader, target=mine).accepted
    with pytest.raises(PermissionDenied):
        cedulas.cedula_refresh_request(requester=leader, target=other)


def test_plain_member_may_not_refresh_their_referrals():
    member = make_user("52000040")
    referral = make_user("52000041", referred_by=member)
    with pytest.raises(PermissionDenied):
        cedulas.cedula_refresh_request(requester=member, target=referral)


def test_refresh_budget_per_requester(settings):
    settings.LOOKUP_REFRESH_RATE_LIMIT = 2
    settings.LOOKUP_REFRESH_COOLDOWN_SECONDS = 0
    user = make_user("52000050")
    results = []
    for _ in range(3):
        finish(user)
        results.append(cedulas.cedula_refresh_request(requester=user, target=user))
    assert [r.accepted for r in results] == [True, True, False]
    assert results[2].refusal == cedulas.RefreshRefusal.RATE_LIMITED


def test_member_request_jumps_a_row_waiting_in_the_nightly_backlog():
    user = make_user("52000060")
    CedulaInfo.objects.filter(user=user).update(
        status=CedulaStatus.PENDING, queue=cedulas.QUEUE_REFRESH, requested_at=timezone.now()
    )
    outcome = cedulas.cedula_refresh_request(requester=user, target=user)
    assert outcome.accepted
    assert CedulaInfo.objects.get(user=user).queue == cedulas.QUEUE_LOOKUPS
    # Once bumped it is the member's own request: a second click is refused.
    again = cedulas.cedula_refresh_request(requester=user, target=user)
    assert again.refusal == cedulas.RefreshRefusal.IN_FLIGHT


def test_signup_and_refresh_record_their_queue():
    user = make_user("52000061")
    assert CedulaInfo.objects.get(user=user).queue == cedulas.QUEUE_LOOKUPS
    finish(user)
    cedulas.cedula_refresh_many(requester=user, targets=[user], queue=cedulas.QUEUE_REFRESH, budgeted=False)
    assert CedulaInfo.objects.get(user=user).queue == cedulas.QUEUE_REFRESH


def test_retry_is_dated_past_the_maximum_backoff_so_the_sweeper_leaves_it(settings):
    user = make_user("52000062")
    token = claim(user).token
    before = timezone.now()
    cedulas.cedula_record_result(
        user_id=user.pk, token=token, result=LookupResult(status=LookupStatus.BLOCKED), final_attempt=False
    )
    requested = CedulaInfo.objects.get(user=user).requested_at
    assert requested >= before + timedelta(milliseconds=settings.LOOKUP_MAX_BACKOFF_MS)


def test_refused_refreshes_do_not_use_the_budget(settings):
    settings.LOOKUP_REFRESH_RATE_LIMIT = 1
    user = make_user("52000063")  # in flight from signup: refused
    for _ in range(3):
        assert cedulas.cedula_refresh_request(requester=user, target=user).refusal == (
            cedulas.RefreshRefusal.IN_FLIGHT
        )
    finish(user)
    assert cedulas.cedula_refresh_request(requester=user, target=user).accepted


def test_claim_recreates_a_missing_row_and_takes_it():
    user = make_user("52000070")
    CedulaInfo.objects.filter(user=user).delete()
    assert cedulas.cedula_claim(user_id=user.pk).result == cedulas.ClaimResult.CLAIMED
    assert CedulaInfo.objects.get(user=user).status == CedulaStatus.PROCESSING


def test_refresh_of_a_member_without_a_row_starts_a_lookup():
    user = make_user("52000071")
    CedulaInfo.objects.filter(user=user).delete()
    assert cedulas.cedula_refresh_request(requester=user, target=user).accepted
    assert CedulaInfo.objects.get(user=user).status == CedulaStatus.PENDING


def test_deferring_with_the_broker_down_asks_for_a_retry(monkeypatch):
    monkeypatch.setattr(cedulas, "cedula_lookup_send", lambda **kwargs: False)
    with pytest.raises(errors.LookupTransientError):
        cedulas.cedula_lookup_defer(user_id=1, queue=cedulas.QUEUE_LOOKUPS, until=timezone.now())


def test_deferral_waits_until_the_lease_ends(monkeypatch):
    sent = []
    monkeypatch.setattr(cedulas, "cedula_lookup_send", lambda **kwargs: sent.append(kwargs) or True)
    cedulas.cedula_lookup_defer(
        user_id=1, queue=cedulas.QUEUE_LOOKUPS, until=timezone.now() + timedelta(seconds=30)
    )
    assert 30_000 <= sent[0]["delay_ms"] <= 31_500


def test_bug_after_claim_on_last_attempt_leaves_a_live_lease_for_the_sweeper():
    user = make_user("52000072")
    claim(user)  # another worker holds a live lease
    cedulas.cedula_mark_failed(user_id=user.pk, detail="boom")
    assert CedulaInfo.objects.get(user=user).status == CedulaStatus.PROCESSING


@pytest.mark.parametrize("reason", ["circuit_open", "rate_limited"])
def test_a_paused_lookup_goes_back_to_pending_without_an_attempt(reason, settings):
    settings.LOOKUP_MAX_BACKOFF_MS = 300_000
    user = make_user("52000080")
    cedulas.cedula_record_result(user_id=user.pk, token=claim(user).token, result=FOUND, final_attempt=False)
    CedulaInfo.objects.filter(user=user).update(status=CedulaStatus.PENDING)
    before = CedulaInfo.objects.get(user=user)
    paused = LookupResult(status=LookupStatus.SITE_ERROR, deferred=reason, retry_after=240, error="not sent")
    outcome = cedulas.cedula_record_result(
        user_id=user.pk, token=claim(user).token, result=paused, final_attempt=True
    )
    info = CedulaInfo.objects.get(user=user)
    assert outcome == cedulas.RecordOutcome.PAUSED
    assert info.status == CedulaStatus.PENDING and info.claim_token == ""
    assert info.attempts == before.attempts  # nothing reached the site
    assert info.puesto == FOUND.puesto and info.raw_response == before.raw_response
    at = timezone.localtime(timezone.now() + timedelta(seconds=240))
    assert f"hacia las {at:%H:%M}" in info.message or "hacia las " in info.message  # minute edge
    assert abs((info.requested_at - timezone.now()).total_seconds() - 240) < 5
    # The next message claims it at once.
    assert cedulas.cedula_claim(user_id=user.pk).result == cedulas.ClaimResult.CLAIMED


def test_paused_message_says_when_calmly_in_spanish():
    now = timezone.make_aware(datetime(2026, 12, 1, 14, 31), timezone.get_current_timezone())
    text = cedulas.paused_message(at=now + timedelta(minutes=4), reason="circuit_open", now=now)
    assert text == (
        "La Registraduría está respondiendo con problemas, así que hicimos una pausa para no "
        "saturarla. Tu consulta sigue en cola y la haremos hacia las 14:35. No tienes que hacer nada."
    )
    later = cedulas.paused_message(at=now + timedelta(hours=12), reason="rate_limited", now=now)
    assert later.startswith("Hay muchas consultas en fila") and "hacia las 02:31 del 2 de diciembre" in later
    assert "usted" not in (text + later).lower()


def test_a_long_pause_is_capped_at_the_longest_backoff(settings):
    settings.LOOKUP_MAX_BACKOFF_MS = 60_000
    paused = LookupResult(status=LookupStatus.SITE_ERROR, deferred="circuit_open", retry_after=900)
    assert cedulas.paused_delay(paused) == timedelta(seconds=60)
