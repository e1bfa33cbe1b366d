"""The lookup actor called as a plain function (no broker, no browser): argument
checks, and what happens to the row on each kind of failure."""

from unittest import mock

import pytest

from accounts.models import CedulaInfo, CedulaStatus
from accounts.services import cedulas
from actors import errors, lookups
from scrapers.registraduria import LookupResult, LookupStatus
from tests.fixtures.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def on_attempt(monkeypatch):
    """Pretend the current message (one id on every retry, as in Dramatiq) has had ``n`` retries."""

    def set_retries(n):
        message = mock.Mock(options={"retries": n}, message_id="message-under-test")
        monkeypatch.setattr(lookups.CurrentMessage, "get_current_message", staticmethod(lambda: message))

    set_retries(0)
    return set_retries


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [((), {}), (("7",), {}), ((True,), {}), ((-1,), {}), ((1, 2), {}), ((), {"other": 1}), ((None,), {})],
)
def test_malformed_messages_are_permanent_errors(args, kwargs):
    with pytest.raises(errors.LookupPermanentError):
        lookups.lookup_cedula.fn(*args, **kwargs)


def test_found_result_is_recorded(monkeypatch, on_attempt):
    user = UserFactory()
    monkeypatch.setattr(
        lookups, "lookup_in_worker", lambda cedula: LookupResult(status=LookupStatus.FOUND, puesto="X")
    )
    lookups.lookup_cedula.fn(user.pk)
    assert CedulaInfo.objects.get(user=user).status == CedulaStatus.FOUND


def test_keyword_user_id_is_accepted(monkeypatch, on_attempt):
    user = UserFactory()
    monkeypatch.setattr(
        lookups, "lookup_in_worker", lambda cedula: LookupResult(status=LookupStatus.NOT_FOUND)
    )
    lookups.refresh_cedula.fn(user_id=user.pk)
    assert CedulaInfo.objects.get(user=user).status == CedulaStatus.NOT_FOUND


def test_transient_result_raises_for_a_retry_then_exhausts(monkeypatch, on_attempt, settings):
    user = UserFactory()
    monkeypatch.setattr(lookups, "lookup_in_worker", lambda cedula: LookupResult(status=LookupStatus.BLOCKED))
    with pytest.raises(errors.LookupTransientError):
        lookups.lookup_cedula.fn(user.pk)
    assert CedulaInfo.objects.get(user=user).status == CedulaStatus.PENDING
    on_attempt(settings.LOOKUP_MAX_RETRIES)
    CedulaInfo.objects.filter(user=user).update(requested_at=None)
    with pytest.raises(errors.LookupRetriesExhausted):
        lookups.lookup_cedula.fn(user.pk)
    assert CedulaInfo.objects.get(user=user).status == CedulaStatus.BLOCKED


def test_a_bug_on_the_last_attempt_ends_the_row_instead_of_leaving_it_pending(
    monkeypatch, on_attempt, settings
):
    user = UserFactory()

    def broken(*args, **kwargs):
        raise TypeError("unexpected bug")

    monkeypatch.setattr(cedulas, "cedula_claim", broken)
    with pytest.raises(TypeError):
        lookups.lookup_cedula.fn(user.pk)
    assert CedulaInfo.objects.get(user=user).status == CedulaStatus.PENDING  # retries left
    on_attempt(settings.LOOKUP_MAX_RETRIES)
    with pytest.raises(TypeError):
        lookups.lookup_cedula.fn(user.pk)
    info = CedulaInfo.objects.get(user=user)
    assert info.status == CedulaStatus.ERROR
    assert "unexpected bug" in info.error_detail
    assert info.message


def test_a_bug_inside_the_lookup_is_retried_not_dead_lettered(monkeypatch, on_attempt):
    user = UserFactory()

    def broken(cedula):
        raise TypeError("bug in the client")

    monkeypatch.setattr(lookups, "lookup_in_worker", broken)
    with pytest.raises(TypeError):
        lookups.lookup_cedula.fn(user.pk)
    # TypeError is not in `throws`: Dramatiq retries it like any failure.
    assert not issubclass(TypeError, lookups._POLICY["throws"])
    assert CedulaInfo.objects.get(user=user).status == CedulaStatus.PENDING


def test_a_failed_write_is_retried_with_the_kept_result_without_a_second_scrape(monkeypatch, on_attempt):
    """The database fails after the scrape: the retry of the same message takes its own
    claim back at once (no lease wait) and writes the result it already paid for."""
    user = UserFactory()
    scrapes = []

    def scrape(cedula):
        scrapes.append(cedula)
        return LookupResult(status=LookupStatus.FOUND, puesto="COLEGIO")

    real_record = cedulas.cedula_record_result
    calls = {"n": 0}

    def record_failing_once(**kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise cedulas.transaction.DatabaseError("server closed the connection unexpectedly")
        return real_record(**kwargs)

    monkeypatch.setattr(lookups, "lookup_in_worker", scrape)
    monkeypatch.setattr(cedulas, "cedula_record_result", record_failing_once)
    with pytest.raises(cedulas.transaction.DatabaseError):
        lookups.lookup_cedula.fn(user.pk)
    info = CedulaInfo.objects.get(user=user)
    assert info.status == CedulaStatus.PROCESSING  # still under this message's lease
    assert info.claim_message_id == "message-under-test"
    on_attempt(1)
    lookups.lookup_cedula.fn(user.pk)
    info = CedulaInfo.objects.get(user=user)
    assert (info.status, info.puesto) == (CedulaStatus.FOUND, "COLEGIO")
    assert len(scrapes) == 1


def test_only_a_later_retry_of_the_same_message_takes_a_live_claim_back():
    user = UserFactory()

    def claim(message_id, retries=0):
        return cedulas.cedula_claim(user_id=user.pk, message_id=message_id, retries=retries).result

    assert claim("first") == cedulas.ClaimResult.CLAIMED
    assert claim("second") == cedulas.ClaimResult.LEASE_HELD  # another message
    assert claim("") == cedulas.ClaimResult.LEASE_HELD
    # A broker redelivery (same retry number): its first delivery may still be scraping.
    assert claim("first") == cedulas.ClaimResult.LEASE_HELD
    assert claim("first", retries=1) == cedulas.ClaimResult.CLAIMED  # Dramatiq's retry: the attempt ended
    assert claim("first", retries=1) == cedulas.ClaimResult.LEASE_HELD


def test_a_lookup_held_back_by_open_circuits_is_deferred_not_failed(monkeypatch, on_attempt, settings):
    """Every source open-circuited: no retry used, no attempt counted, a new message for later."""
    user = UserFactory()
    on_attempt(settings.LOOKUP_MAX_RETRIES)  # even on the last attempt: nothing was tried
    paused = LookupResult(
        status=LookupStatus.SITE_ERROR, deferred="circuit_open", retry_after=90, error="not sent"
    )
    monkeypatch.setattr(lookups, "lookup_in_worker", lambda cedula: paused)
    sent = []
    monkeypatch.setattr(cedulas, "cedula_lookup_send", lambda **kwargs: sent.append(kwargs) or True)
    lookups.lookup_cedula.fn(user.pk)  # returns: the message is acknowledged
    info = CedulaInfo.objects.get(user=user)
    assert info.status == CedulaStatus.PENDING and info.attempts == 0
    assert "hacia las" in info.message and "No tienes que hacer nada" in info.message
    assert len(sent) == 1 and sent[0]["user_id"] == user.pk
    expected_ms = min(90_000, settings.LOOKUP_MAX_BACKOFF_MS)
    assert expected_ms <= sent[0]["delay_ms"] <= expected_ms + 2_000
