"""/healthz (database, a real AMQP login + passive declare, age of the oldest signup
lookup) and /livez, against the real database and RabbitMQ."""

from __future__ import annotations

import json
import time

import pika
import pytest
from django.db import connection
from dramatiq import Message

from actors.broker import amqp_connection, declare_lookup_queue
from actors.queues import QUEUE_LOOKUPS, QUEUE_REFRESH
from tests.fixtures.broker import delete_queues, purge_queues

pytestmark = [pytest.mark.broker, pytest.mark.django_db]


@pytest.fixture
def lookups_queue():
    """This run's lookups queue, empty, with no consumer."""
    declare_lookup_queue(QUEUE_LOOKUPS)
    declare_lookup_queue(QUEUE_REFRESH)
    purge_queues()
    yield QUEUE_LOOKUPS
    purge_queues()


def publish_waiting(queue: str, *, seconds_ago: float, user_id: int = 1) -> None:
    message = Message(
        queue_name=queue, actor_name="lookup_cedula", args=(user_id,), kwargs={}, options={}
    ).copy(message_timestamp=int((time.time() - seconds_ago) * 1000))
    conn = amqp_connection()
    try:
        conn.channel().basic_publish("", queue, message.encode(), pika.BasicProperties(delivery_mode=2))
    finally:
        conn.close()


def test_healthz_is_200_when_database_broker_and_backlog_are_fine(client, lookups_queue):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["failed"] == []
    assert body["checks"]["database"] == {"status": "ok"}
    assert body["checks"]["broker"]["status"] == "ok"
    assert body["checks"]["lookups_backlog"]["oldest_ready_seconds"] == 0.0
    assert response["Cache-Control"].startswith("max-age=0")


def test_healthz_needs_no_login_and_answers_any_host(client, lookups_queue):
    """Load balancers and Prometheus address containers by IP."""
    response = client.get("/healthz", HTTP_HOST="172.18.0.5:8000")
    assert response.status_code == 200
    # Pages still refuse a host that is not allowed.
    assert client.get("/ingresar/", HTTP_HOST="172.18.0.5:8000").status_code == 400


def test_an_old_signup_lookup_fails_the_backlog_check_and_stays_queued(client, lookups_queue, settings):
    publish_waiting(lookups_queue, seconds_ago=settings.HEALTH_MAX_LOOKUP_AGE_SECONDS + 60)
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["lookups_backlog"]
    backlog = body["checks"]["lookups_backlog"]
    assert backlog["ready"] == 1
    assert backlog["oldest_ready_seconds"] >= settings.HEALTH_MAX_LOOKUP_AGE_SECONDS + 59
    # Looking handed the message back: it is still there for a worker.
    from tests.fixtures.broker import queue_counts

    assert queue_counts(lookups_queue)[0] == 1


def test_a_recent_signup_lookup_passes(client, lookups_queue):
    publish_waiting(lookups_queue, seconds_ago=5)
    body = client.get("/healthz").json()
    assert body["status"] == "ok"
    assert 4 <= body["checks"]["lookups_backlog"]["oldest_ready_seconds"] < 60


def test_wrong_broker_credentials_fail_the_broker_check_by_name(client, lookups_queue, settings):
    settings.RABBITMQ_URL = "amqp://guest:wrong-password@127.0.0.1:5672/"
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["failed"] == ["broker", "lookups_backlog"]
    assert body["checks"]["broker"] == {"status": "error", "error": "ProbableAuthenticationError"}
    assert "wrong-password" not in response.content.decode()


def test_a_missing_lookups_queue_fails_the_broker_check(client, monkeypatch):
    """Passive declares: looking never creates the queue (a wrong prefix shows as missing)."""
    from actors import monitoring, queues

    missing = "healthz-missing.lookups"
    delete_queues([missing])
    monkeypatch.setattr(queues, "QUEUE_LOOKUPS", missing)
    monkeypatch.setattr(monitoring, "QUEUES", (missing,))
    body = client.get("/healthz").json()
    assert body["checks"]["broker"] == {"status": "error", "error": "lookups queue does not exist"}
    conn = amqp_connection()
    try:
        with pytest.raises(pika.exceptions.ChannelClosedByBroker):
            conn.channel().queue_declare(missing, passive=True)
    finally:
        if conn.is_open:
            conn.close()


# Outside a test transaction: the connection is closed and reopened on another database.
@pytest.mark.django_db(transaction=True)
def test_a_database_that_cannot_be_opened_fails_the_database_check(client, lookups_queue, tmp_path):
    if connection.vendor != "sqlite":
        saved = dict(connection.settings_dict)
        connection.close()
        connection.settings_dict["NAME"] = "paginamadre_healthz_no_such_database"
    else:
        saved = dict(connection.settings_dict)
        connection.close()
        connection.settings_dict["NAME"] = str(tmp_path / "missing-dir" / "db.sqlite3")
    try:
        response = client.get("/healthz")
    finally:
        connection.close()
        connection.settings_dict.update(saved)
    assert response.status_code == 503
    body = response.json()
    assert "database" in body["failed"]
    assert body["checks"]["database"]["status"] == "error"
    assert body["checks"]["broker"]["status"] == "ok"


def test_healthz_body_holds_no_personal_data(client, lookups_queue):
    from tests.fixtures.factories import UserFactory

    user = UserFactory(cedula="52345678", telefono="3001234567")
    publish_waiting(lookups_queue, seconds_ago=1, user_id=user.pk)
    text = client.get("/healthz").content.decode()
    assert "52345678" not in text and "3001234567" not in text and user.nombre_completo not in text
    assert set(json.loads(text)) == {"status", "failed", "checks", "duration_ms"}


@pytest.mark.django_db(transaction=True)
def test_livez_never_touches_a_dependency(client, settings):
    settings.RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:1/"
    connection.close()
    saved = connection.settings_dict["NAME"]
    connection.settings_dict["NAME"] = "/nonexistent/dir/db.sqlite3"
    try:
        response = client.get("/livez")
    finally:
        connection.settings_dict["NAME"] = saved
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_the_old_health_url_still_answers(client):
    assert client.get("/health/").json() == {"status": "ok", "database": "ok"}
