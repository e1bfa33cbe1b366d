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
    """Pretend the current message has had ``n`` retries."""

    def set_retries(n):
        message = mock.Mock(options={"retries": n})
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
