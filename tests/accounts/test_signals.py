"""Signup → lookup message: sent after commit, and never a failed signup when RabbitMQ is down."""

import logging

import pytest
from django.urls import reverse
from dramatiq.brokers.rabbitmq import RabbitmqBroker

from accounts.models import CedulaInfo, CedulaStatus, User
from actors import sending

SIGNUP = {
    "nombre_completo": "María José Peña",
    "cedula": "52.123.456",
    "telefono": "300 123 4567",
    "password1": "Caracol-Azul-2026",
    "password2": "Caracol-Azul-2026",
    "accepted_data_policy": "on",
}


@pytest.fixture
def sent(monkeypatch):
    """Record what the signup publishes instead of talking to RabbitMQ."""
    calls = []

    def record(*, user_id, queue, delay_ms=None):
        calls.append({"args": (user_id,), "delay": delay_ms})

    monkeypatch.setattr(sending, "send_lookup", record, raising=True)
    return calls


@pytest.mark.django_db(transaction=True)
def test_signup_sends_one_lookup_with_the_user_id_only(client, sent):
    response = client.post(reverse("accounts:register"), SIGNUP)
    assert response.status_code == 302
    user = User.objects.get(cedula="52123456")
    assert sent == [{"args": (user.pk,), "delay": None}]
    assert CedulaInfo.objects.get(user=user).status == CedulaStatus.PENDING


@pytest.mark.django_db
def test_nothing_is_sent_before_the_transaction_commits(client, sent, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        client.post(reverse("accounts:register"), SIGNUP)
    assert sent == []
    assert len(callbacks) == 1


@pytest.mark.django_db
def test_loaddata_raw_save_sends_nothing(sent, django_capture_on_commit_callbacks):
    from django.db.models.signals import post_save

    user = User(cedula="52999111", nombre_completo="Fixture")
    with django_capture_on_commit_callbacks(execute=True):
        user.save_base(raw=True)
        post_save.send(sender=User, instance=user, created=True, raw=True)
    assert sent == []


@pytest.mark.django_db(transaction=True)
def test_signup_succeeds_with_rabbitmq_unreachable(client, monkeypatch, caplog):
    dead_broker = RabbitmqBroker(url="amqp://guest:guest@127.0.0.1:1/", confirm_delivery=True, middleware=[])
    monkeypatch.setattr(sending.dramatiq, "get_broker", lambda: dead_broker)
    with caplog.at_level(logging.WARNING, logger="accounts.services.cedulas"):
        response = client.post(reverse("accounts:register"), SIGNUP)
    assert response.status_code == 302
    assert response.url == reverse("accounts:home")
    user = User.objects.get(cedula="52123456")
    info = CedulaInfo.objects.get(user=user)
    assert info.status == CedulaStatus.PENDING  # the sweeper sends it later
    assert "lookup enqueue failed" in caplog.text
    assert "52123456" not in caplog.text
    # The member lands on home and sees the queued card, not an error page.
    home = client.get(response.url)
    assert home.status_code == 200
    assert "En cola" in home.content.decode()


@pytest.mark.django_db(transaction=True)
def test_after_a_broker_failure_signups_skip_the_broker_for_a_while(client, monkeypatch):
    """One slow failure, then instant: requests never queue up behind a dead broker."""
    dead_broker = RabbitmqBroker(url="amqp://guest:guest@127.0.0.1:1/", confirm_delivery=True, middleware=[])
    monkeypatch.setattr(sending.dramatiq, "get_broker", lambda: dead_broker)
    attempts = []
    real_send = sending.send_lookup
    monkeypatch.setattr(sending, "send_lookup", lambda **kw: (attempts.append(kw), real_send(**kw))[1])
    for n in range(3):
        data = {**SIGNUP, "cedula": f"5212345{n}"}
        assert client.post(reverse("accounts:register"), data).status_code == 302
        client.logout()
    assert len(attempts) == 1  # only the first signup tried the broker
    assert CedulaInfo.objects.filter(status=CedulaStatus.PENDING).count() == 3
