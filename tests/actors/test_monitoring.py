"""Queue depths for operators and Prometheus: `manage.py queues` and /metrics/queues,
read from the real RabbitMQ."""

from __future__ import annotations

import json
import time
from io import StringIO

import pika
import pytest
from django.core.management import CommandError, call_command
from dramatiq import Message
from dramatiq.brokers.rabbitmq import dq_name, xq_name

from actors.broker import amqp_connection, declare_lookup_queue
from actors.queues import QUEUE_LOOKUPS, QUEUE_REFRESH
from tests.fixtures.broker import purge_queues

pytestmark = [pytest.mark.broker, pytest.mark.django_db]


@pytest.fixture
def queues():
    for queue in (QUEUE_LOOKUPS, QUEUE_REFRESH):
        declare_lookup_queue(queue)
    purge_queues()
    yield
    purge_queues()


def publish(name: str, count: int, *, seconds_ago: float = 0.0) -> None:
    conn = amqp_connection()
    try:
        channel = conn.channel()
        for user_id in range(1, count + 1):
            message = Message(
                queue_name=name, actor_name="lookup_cedula", args=(user_id,), kwargs={}, options={}
            ).copy(message_timestamp=int((time.time() - seconds_ago) * 1000))
            channel.basic_publish("", name, message.encode(), pika.BasicProperties(delivery_mode=2))
    finally:
        conn.close()


def test_queues_command_shows_ready_delayed_and_dead_per_queue(queues):
    publish(QUEUE_LOOKUPS, 3, seconds_ago=90)
    publish(dq_name(QUEUE_LOOKUPS), 2)
    publish(xq_name(QUEUE_REFRESH), 4)
    out = StringIO()
    call_command("queues", "--json", stdout=out)
    rows = {row["queue"]: row for row in json.loads(out.getvalue())["queues"]}
    assert rows["lookups"] | {"oldest_ready_seconds": None} == {
        "queue": "lookups",
        "ready": 3,
        "delayed": 2,
        "dead": 0,
        "consumers": 0,
        "oldest_ready_seconds": None,
    }
    assert 89 <= rows["lookups"]["oldest_ready_seconds"] < 150
    assert (rows["refresh"]["ready"], rows["refresh"]["delayed"], rows["refresh"]["dead"]) == (0, 0, 4)
    # Reading took nothing away.
    out = StringIO()
    call_command("queues", stdout=out)
    table = out.getvalue().splitlines()
    assert table[0].split() == ["QUEUE", "READY", "DELAYED", "DEAD", "CONSUMERS", "OLDEST"]
    assert table[1].split()[:5] == ["lookups", "3", "2", "0", "0"]
    assert table[2].split()[:5] == ["refresh", "0", "0", "4", "0"]


def test_queues_command_says_so_when_the_broker_refuses(settings):
    settings.RABBITMQ_URL = "amqp://guest:nope@127.0.0.1:5672/"
    with pytest.raises(CommandError, match="RabbitMQ is not reachable"):
        call_command("queues")


def test_queue_metrics_export_the_same_numbers(client, queues):
    publish(QUEUE_LOOKUPS, 2, seconds_ago=30)
    publish(xq_name(QUEUE_LOOKUPS), 1)
    response = client.get("/metrics/queues")
    assert response.status_code == 200
    text = response.content.decode()
    assert 'paginamadre_queue_messages{queue="lookups",state="ready"} 2.0' in text
    assert 'paginamadre_queue_messages{queue="lookups",state="dead"} 1.0' in text
    assert 'paginamadre_queue_messages{queue="refresh",state="delayed"} 0.0' in text
    assert 'paginamadre_queue_consumers{queue="lookups"} 0.0' in text
    assert "paginamadre_broker_up 1.0" in text
    age = float(text.split('paginamadre_queue_oldest_ready_seconds{queue="lookups"} ')[1].split()[0])
    assert 29 <= age < 90


def test_queue_metrics_report_the_broker_down_instead_of_failing(client, settings):
    settings.RABBITMQ_URL = "amqp://guest:guest@127.0.0.1:1/"
    response = client.get("/metrics/queues")
    assert response.status_code == 200
    assert "paginamadre_broker_up 0.0" in response.content.decode()


def test_web_metrics_count_requests(client):
    client.get("/ingresar/")
    text = client.get("/metrics").content.decode()
    assert "django_http_requests_total_by_view_transport_method_total" in text
    assert 'view="accounts:login"' in text
